"""The consoles the CLI prints on: rich output with markup parsing off.

Messages hold file names and pip commands such as ``pip install 'edgeemo[openvino]'``; read as
rich markup, ``[openvino]`` would be taken for a style tag and vanish. So every console prints
text verbatim, and the few styled words are :class:`rich.text.Text` spans (see :func:`styled`).
"""

from __future__ import annotations

from rich.console import Console
from rich.text import Text


def make_console(**kwargs) -> Console:
    """A :class:`Console` that never parses markup or highlights numbers in the text it prints."""
    return Console(markup=False, highlight=False, **kwargs)


def styled(label: str, style: str, rest: str = "") -> Text:
    """``label`` in ``style`` followed by ``rest`` verbatim, e.g. a red "error:" and its message."""
    return Text.assemble((label, style), rest)
