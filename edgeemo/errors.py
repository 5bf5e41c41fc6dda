"""Errors a user can act on.

Every error raised on purpose by edgeemo derives from :class:`EdgeemoError`; the CLI prints
its message as one line and exits non-zero instead of showing a traceback.
"""

from __future__ import annotations


class EdgeemoError(Exception):
    """A problem the user can fix: the message says what was wrong and what to do."""


class DataError(EdgeemoError):
    """A dataset file or folder could not be read as asked."""


class ModelFileError(EdgeemoError):
    """A model file is missing, truncated, or not what edgeemo expects."""


class NotSupportedHere(EdgeemoError):
    """This machine cannot make or run it (e.g. bf16 on a CPU without native bfloat16); a skip, not a failure."""


class MissingExtraError(EdgeemoError):
    """An optional dependency is not installed."""

    def __init__(self, module: str, extra: str, purpose: str) -> None:
        how = "pip install edgeemo" if extra in ("", "core") else f"pip install 'edgeemo[{extra}]'"
        super().__init__(f"{purpose} needs the Python package '{module}', which is not installed: run  {how}")
        self.module = module
        self.extra = extra


_interrupts = 0  # Ctrl-Cs seen by the command's handler (see edgeemo.__main__)


def note_interrupt(signum, frame) -> None:
    """SIGINT handler of the ``edgeemo`` command: counts the interrupt, then raises as Python's default does."""
    global _interrupts
    _interrupts += 1
    raise KeyboardInterrupt


def redeliver_swallowed_interrupts() -> None:
    """Make a Ctrl-C that lands inside a finaliser or weakref callback (the import system runs them all the
    time) stop the command as any other does. Python cannot raise from there: it prints the KeyboardInterrupt
    as "Exception ignored in ..." with a traceback, and goes on as if no key was pressed. This hook keeps
    that quiet and delivers the interrupt again a moment later, once the callback has returned."""
    import _thread
    import sys
    import threading

    default = sys.unraisablehook

    def hook(unraisable) -> None:
        if not issubclass(unraisable.exc_type, KeyboardInterrupt):
            default(unraisable)
            return
        timer = threading.Timer(0.05, _thread.interrupt_main)
        timer.daemon = True
        try:
            timer.start()
        except RuntimeError:  # the interpreter is shutting down: nothing left to interrupt
            pass

    sys.unraisablehook = hook


def caused_by_interrupt(exc: BaseException) -> bool:
    """Whether ``exc`` is a Ctrl-C in disguise: a KeyboardInterrupt somewhere in its chain (C extensions turn an
    interrupted initialisation into ImportError, class creation wraps one in RuntimeError)."""
    seen: set[int] = set()
    while exc is not None and id(exc) not in seen:
        if isinstance(exc, KeyboardInterrupt):
            return True
        seen.add(id(exc))
        exc = exc.__cause__ or exc.__context__
    return False


def import_module(module: str):
    """``importlib.import_module``, except that a Ctrl-C during the import stays a Ctrl-C: C extensions
    (onnxruntime, OpenCV) report an interrupted initialisation as ImportError, which must not read as
    "not installed"."""
    import importlib

    seen = _interrupts
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        if _interrupts != seen or caused_by_interrupt(exc):
            raise KeyboardInterrupt from None
        raise


def require(module: str, extra: str, purpose: str):
    """Import an optional dependency or raise :class:`MissingExtraError`."""
    try:
        return import_module(module)
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise MissingExtraError(module.split(".")[0], extra, purpose) from exc
