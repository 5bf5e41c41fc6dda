"""The ``edgeemo`` command's entry point (also ``python -m edgeemo``).

It imports the command line inside a guard, so Ctrl-C while the runtimes load prints one line
instead of a traceback.
"""

from __future__ import annotations

import signal
import sys


def run() -> None:
    from .errors import note_interrupt, redeliver_swallowed_interrupts

    signal.signal(signal.SIGINT, note_interrupt)  # Python's default behaviour, counted (see errors.import_module)
    redeliver_swallowed_interrupts()
    try:
        from .cli import main
    except (KeyboardInterrupt, Exception) as exc:
        if not _interrupted(exc):
            raise
        sys.stderr.write("interrupted\n")
        raise SystemExit(130) from None
    main()


def _interrupted(exc: BaseException) -> bool:
    """Whether an error while loading is a Ctrl-C, perhaps in the disguise of another exception."""
    from . import errors

    return errors._interrupts > 0 or errors.caused_by_interrupt(exc)


if __name__ == "__main__":
    run()
