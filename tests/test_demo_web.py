"""The ``--web`` page in a real headless browser: Debian's chromium driven by Selenium.

CI installs them with ``apt-get install -y chromium chromium-driver`` and ``pip install selenium``;
without a chromium binary the test skips and says so.
"""

from __future__ import annotations

import hashlib
import shutil
import threading
import time

import numpy as np
import pytest
from test_demo import SquareDetector, StubClassifier, face_frame

CHROMIUM_FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync",
                  "--disable-dev-shm-usage", "--window-size=1100,800")


def _chromium() -> tuple[str, str]:
    browser = next((p for p in map(shutil.which, ("chromium", "chromium-browser", "google-chrome")) if p), None)
    if browser is None:
        pytest.skip("no chromium installed: apt-get install -y chromium chromium-driver (and pip install selenium)")
    driver = shutil.which("chromedriver")
    if driver is None:
        pytest.skip("chromium is installed but chromedriver is not: apt-get install -y chromium-driver")
    pytest.importorskip("selenium", reason="the browser test drives chromium with Selenium: pip install selenium")
    return browser, driver


def moving_faces(stop: threading.Event):
    """An endless live source: two 'faces' moving across the frame, 30 frames a second."""
    k = 0
    while not stop.is_set():
        img = face_frame(2, size=90, x0=4 + (k * 7) % 400)
        k += 1
        time.sleep(1 / 30)
        yield img


def test_web_page_shows_a_live_changing_stream_in_chromium(tmp_path):
    browser, driver_path = _chromium()
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    from edgeemo.demo import run_demo

    stop = threading.Event()
    ready = threading.Event()
    box: dict = {}

    def on_ready(url):
        box["url"] = url
        ready.set()

    def run():
        box["summary"] = run_demo(moving_faces(stop), display="web", port=0, classifier=StubClassifier(),
                                  detector=SquareDetector(), stop_event=stop, on_ready=on_ready, log=None)

    demo = threading.Thread(target=run, daemon=True)
    demo.start()
    assert ready.wait(90), "the demo did not start serving"
    url = box["url"]
    assert url.startswith("http://127.0.0.1:")

    opts = webdriver.ChromeOptions()
    opts.binary_location = browser
    opts.page_load_strategy = "eager"  # an MJPEG image never finishes loading
    for flag in CHROMIUM_FLAGS:
        opts.add_argument(flag)
    opts.add_argument(f"--user-data-dir={tmp_path / 'profile'}")
    driver = webdriver.Chrome(options=opts, service=Service(executable_path=driver_path))
    try:
        driver.set_page_load_timeout(90)
        driver.get(url)
        assert driver.title == "edgeemo demo"
        deadline = time.time() + 60
        while time.time() < deadline and not driver.execute_script(
                "const i = document.getElementById('stream'); return i.complete !== undefined && i.naturalWidth;"):
            time.sleep(0.2)
        img = driver.find_element("id", "stream")
        assert driver.execute_script("return arguments[0].naturalWidth", img) == 640
        assert driver.execute_script("return arguments[0].naturalHeight", img) == 480

        def shot() -> str:
            return hashlib.sha256(img.screenshot_as_png).hexdigest()

        def frame_no() -> int:
            text = driver.execute_script(
                "for (const r of document.querySelectorAll('#stats tr'))"
                "  if (r.cells[0].textContent === 'frame') return r.cells[1].textContent; return '-1';")
            return int(text)

        first_shot, shots = shot(), set()
        deadline = time.time() + 60
        while time.time() < deadline and frame_no() < 0:
            time.sleep(0.2)
        first_frame = frame_no()
        for _ in range(6):
            time.sleep(0.4)
            shots.add(shot())
        assert first_frame >= 0, "the stats panel never showed a frame number"
        assert frame_no() > first_frame, "the frame counter on the page did not advance"
        assert len(shots - {first_shot}) >= 2, "the streamed picture did not change"
        rows = driver.execute_script("return [...document.querySelectorAll('#stats tr')].map(r => r.innerText)")
        assert any(r.startswith("fps") for r in rows) and any(r.startswith("#") for r in rows), rows
        assert driver.find_element("id", "state").text == "live"
    finally:
        driver.quit()
        stop.set()
        demo.join(15)
    assert not demo.is_alive(), "the demo did not stop"
    summary = box["summary"]
    assert summary.stop_reason == "stopped" and summary.frames > 10
    assert np.isfinite(summary.fps)
