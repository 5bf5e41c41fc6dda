"""edgeemo: facial emotion recognition from research result to edge device."""

from .labels import CLASSES
from .version import __version__

__all__ = ["CLASSES", "__version__"]
