"""The ``edgeemo`` command's entry point (also ``python -m edgeemo``).

It imports the command line inside a guard, so Ctrl-C while the runtimes load prints one line
instead of a traceback.
"""

from __future__ import annotations

import signal
import sys


def run() -> None:
    from .errors import note_interrupt

    signal.signal(signal.SIGINT, note_interrupt)  # Python's default behaviour, counted (see errors.import_module)
    try:
        from .cli import main
    except (KeyboardInterrupt, ImportError) as exc:
        if isinstance(exc, ImportError) and not _interrupted(exc):
            raise
        sys.stderr.write("interrupted\n")
        raise SystemExit(130) from None
    main()


def _interrupted(exc: ImportError) -> bool:
    """Whether an ImportError is a Ctrl-C that a C extension's initialisation turned into one."""
    from . import errors

    return errors._interrupts > 0 or isinstance(exc.__cause__ or exc.__context__, KeyboardInterrupt)


if __name__ == "__main__":
    run()
