"""Thin adapters from the training frameworks to the one tracker: ``greenlove.lightning``,
``greenlove.hf`` (optional extras, imported only when used). Nothing framework-specific lives
below this folder."""
