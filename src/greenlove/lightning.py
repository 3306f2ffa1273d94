"""The PyTorch Lightning adapter's public import path: ``from greenlove.lightning import
GreenloveCallback`` (needs ``pip install greenlove[lightning]``)."""

from .integrations.lightning import GreenloveCallback

__all__ = ["GreenloveCallback"]
