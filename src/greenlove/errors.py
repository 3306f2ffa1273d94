"""greenlove's own exception types."""

from __future__ import annotations


class GreenloveError(Exception):
    """Base class of every error greenlove raises on purpose."""


class BenchmarkError(GreenloveError, RuntimeError):
    """The benchmark could not measure what it needs (for instance: no batch was drawn)."""


class SchemaError(GreenloveError, ValueError):
    """A saved result file is not one greenlove can read."""
