"""The OpenCV window, and telling up front whether this OpenCV build and session can open one."""

from __future__ import annotations

import os
import sys
import webbrowser

import cv2
import numpy as np

from ..errors import EdgeemoError

NO_GUI_HINT = (
    "use --web to watch the annotated stream in a browser, --no-display for batch use (with --output/--jsonl), "
    "or install OpenCV with window support: pip uninstall -y opencv-python-headless && pip install 'opencv-python<5'"
)


def gui_problem() -> str | None:
    """Why no window can be opened here, or ``None`` if one probably can."""
    for line in cv2.getBuildInformation().splitlines():
        key, _, value = line.strip().partition(":")
        if key.strip() == "GUI" and value.strip().upper() in ("NONE", "NO", ""):
            return "this OpenCV build has no window support (opencv-python-headless)"
    if sys.platform.startswith("linux") and not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")):
        return "no graphical session (neither DISPLAY nor WAYLAND_DISPLAY is set)"
    return None


def desktop_session() -> bool:
    """Whether a desktop is there to show a browser (never start a terminal browser over SSH)."""
    if sys.platform.startswith("linux"):
        return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))
    return sys.platform in ("darwin", "win32")


def open_browser(url: str) -> bool:
    """Open ``url`` in the desktop's browser where there is a desktop; True if one was started."""
    if not desktop_session():
        return False
    try:
        return bool(webbrowser.open(url, new=2))
    except webbrowser.Error:
        return False


def require_gui() -> None:
    """Raise a clear :class:`EdgeemoError` if a window cannot be opened."""
    problem = gui_problem()
    if problem:
        raise EdgeemoError(f"cannot open a window: {problem}; {NO_GUI_HINT}")


class Window:
    """An OpenCV window; ``show`` returns False once the user pressed q or Esc, or closed it."""

    def __init__(self, title: str = "edgeemo demo") -> None:
        require_gui()
        self.title = title
        try:
            cv2.namedWindow(title, cv2.WINDOW_NORMAL | cv2.WINDOW_KEEPRATIO)
        except cv2.error as exc:
            raise EdgeemoError(f"cannot open a window ({str(exc).strip()[-160:]}); {NO_GUI_HINT}") from exc
        self._shown = False

    def show(self, img: np.ndarray) -> bool:
        try:
            if self._shown and cv2.getWindowProperty(self.title, cv2.WND_PROP_VISIBLE) < 1:
                return False
            cv2.imshow(self.title, img)
            self._shown = True
            key = cv2.waitKey(1) & 0xFF
        except cv2.error as exc:
            raise EdgeemoError(f"the window failed ({str(exc).strip()[-160:]}); {NO_GUI_HINT}") from exc
        return key not in (ord("q"), ord("Q"), 27)

    def close(self) -> None:
        try:
            cv2.destroyWindow(self.title)
            cv2.waitKey(1)
        except cv2.error:
            pass
