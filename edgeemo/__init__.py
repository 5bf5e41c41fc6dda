"""edgeemo: facial emotion recognition from research result to edge device."""

from .version import __version__

__all__ = ["CLASSES", "__version__"]


def __getattr__(name: str):
    # Lazy, so `import edgeemo` (and the command's start-up) imports nothing heavy.
    if name == "CLASSES":
        from .labels import CLASSES

        return CLASSES
    raise AttributeError(f"module 'edgeemo' has no attribute {name!r}")
