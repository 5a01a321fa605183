"""Helpers for the lrcourse notebooks.

Importing this package imports neither TensorFlow nor PyTorch; the modules that need
them (``keras_utils``, ``torch_utils``) are imported by the lessons that use them.
"""

from lrcourse.seeding import seed_everything

__version__ = "0.1.0"
__all__ = ["seed_everything", "__version__"]
