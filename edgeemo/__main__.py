"""The ``edgeemo`` command's entry point (also ``python -m edgeemo``).

It imports the command line inside a guard, so Ctrl-C while the runtimes load prints one line
instead of a traceback.
"""

from __future__ import annotations

import sys


def run() -> None:
    try:
        from .cli import main
    except KeyboardInterrupt:
        sys.stderr.write("interrupted\n")
        raise SystemExit(130) from None
    main()


if __name__ == "__main__":
    run()
