"""``greenlove.hf``: the Hugging Face Trainer callback (the optional extra
``pip install greenlove[hf]``); importing it without transformers raises ImportError saying so.

    from greenlove.hf import GreenloveCallback
"""

from .integrations.hf import GreenloveCallback

__all__ = ["GreenloveCallback"]
