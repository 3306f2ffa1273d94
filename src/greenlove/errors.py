"""greenlove's own exception types."""

from __future__ import annotations


class GreenloveError(Exception):
    """Base class of every error greenlove raises on purpose."""


class BenchmarkError(GreenloveError, RuntimeError):
    """The benchmark could not measure what it needs (for instance: no batch was drawn)."""


class SchemaError(GreenloveError, ValueError):
    """A saved result file is not one greenlove can read."""


class GreenloveWarning(UserWarning):
    """Something greenlove could not do or had to assume, said without stopping the user's code
    (a tracked run's own failures, a limit forecast to be crossed)."""
