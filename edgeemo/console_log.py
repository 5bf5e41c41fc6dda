"""Printing library messages through rich without reading them as markup.

Library functions report progress through a plain ``log(str)`` callable. Their text holds file
names and pip commands such as ``pip install 'edgeemo[openvino]'``; printed as rich markup, the
``[openvino]`` would be taken for a style tag and vanish.
"""

from __future__ import annotations

from collections.abc import Callable

from rich.console import Console
from rich.markup import escape


def plain_log(console: Console) -> Callable[[str], None]:
    """A ``log`` callable that prints each message verbatim on ``console``."""
    return lambda msg: console.print(msg, markup=False, highlight=False, soft_wrap=True)


__all__ = ["escape", "plain_log"]
