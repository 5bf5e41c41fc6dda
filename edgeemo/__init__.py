"""edgeemo: facial emotion recognition from research result to edge device.

>>> import edgeemo
>>> result = edgeemo.analyze("photo.jpg")       # every face: box, landmarks, label, confidence, probs
"""

from .version import __version__

__all__ = ["CLASSES", "__version__", "analyze", "Analyzer"]


def __getattr__(name: str):
    # Imported on first use, so `import edgeemo` (and the command's start-up) stays light.
    if name == "CLASSES":
        from .labels import CLASSES

        return CLASSES
    if name in ("analyze", "Analyzer"):
        from .analysis import analyzer

        return getattr(analyzer, name)
    raise AttributeError(f"module 'edgeemo' has no attribute {name!r}")
