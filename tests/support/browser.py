"""Debian's headless Chromium, driven over the DevTools protocol on a pipe: no driver, no download.

With `--remote-debugging-pipe` Chromium reads protocol commands from descriptor 3 and writes answers and
events to descriptor 4, one JSON message each, ended by a NUL byte. That is enough to open a page, run
a script in it that reads what the browser laid out and computed (getComputedStyle, getBoundingClientRect,
elementFromPoint), list every request the page made, and take a screenshot, without touching the page's
file. The flags are the ones that work on a machine with no display and a closed network.
"""

from __future__ import annotations

import base64
import contextlib
import fcntl
import json
import os
import select
import shutil
import subprocess
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any

import pytest

CHROMIUM = shutil.which("chromium") or ("/usr/bin/chromium" if os.path.exists("/usr/bin/chromium") else None)
# An empty fontconfig: Chromium then has no font at all and draws no text (tests/cli/test_history.py).
NO_FONTS = """<?xml version="1.0"?>
<!DOCTYPE fontconfig SYSTEM "fonts.dtd">
<fontconfig><cachedir>{cache}</cachedir></fontconfig>
"""
FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--force-device-scale-factor=1", "--force-color-profile=srgb", "--hide-scrollbars")


def chromium() -> str:
    """The chromium binary; skipped when there is none, failed when HOUSEJOBS_REQUIRE_BROWSER (CI) is set."""
    if CHROMIUM is None:
        if os.environ.get("HOUSEJOBS_REQUIRE_BROWSER"):
            pytest.fail("HOUSEJOBS_REQUIRE_BROWSER is set but chromium is not installed")
        pytest.skip("chromium is not installed (apt-get install chromium); CI sets HOUSEJOBS_REQUIRE_BROWSER")
    return CHROMIUM


class BrowserError(AssertionError):
    pass


class Browser:
    """One headless Chromium with one page, for one test: `with Browser(profile) as b: b.open(url)`; `env` is
    set over the test's environment for Chromium (FONTCONFIG_FILE, say)."""

    def __init__(self, profile: Path, *, width: int = 1400, height: int = 900, timeout: float = 60.0,
                 env: Mapping[str, str] | None = None) -> None:
        self.timeout, self.width = timeout, width
        self.requests: list[str] = []  # every URL the page asked for, in order
        self._buffer, self._next_id, self._session = b"", 0, ""
        profile.mkdir(parents=True, exist_ok=True)
        self._log = profile / "chromium.log"
        commands_r, self._commands = _pipe_above_4()
        self._answers, answers_w = _pipe_above_4()
        argv = [chromium(), *FLAGS, f"--user-data-dir={profile / 'data'}", f"--window-size={width},{height}",
                "--remote-debugging-pipe", "about:blank"]
        with self._log.open("wb") as log:
            # bash puts the two ends where Chromium looks for them (3: commands in, 4: answers out).
            self._proc = subprocess.Popen(["bash", "-c", f'exec "$@" 3<&{commands_r} 4>&{answers_w}', "chromium",
                                           *argv], pass_fds=(commands_r, answers_w), stdin=subprocess.DEVNULL,
                                          stdout=log, stderr=log, env={**os.environ, **(env or {})})
        os.close(commands_r)
        os.close(answers_w)
        try:
            page = next(t for t in self.call("Target.getTargets", session=False)["targetInfos"] if t["type"] == "page")
            self._session = self.call("Target.attachToTarget", {"targetId": page["targetId"], "flatten": True},
                                      session=False)["sessionId"]
            self.call("Page.enable")
            self.call("Network.enable")
        except BaseException:
            self.close()
            raise

    def __enter__(self) -> Browser:
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    def call(self, method: str, params: dict[str, Any] | None = None, *, session: bool = True) -> dict[str, Any]:
        self._next_id += 1
        message: dict[str, Any] = {"id": self._next_id, "method": method, "params": params or {}}
        if session:
            message["sessionId"] = self._session
        os.write(self._commands, json.dumps(message).encode() + b"\0")
        wanted = self._next_id
        answer = self._until(lambda m: m.get("id") == wanted, method)
        if "error" in answer:
            raise BrowserError(f"{method}: {answer['error']}")
        result: dict[str, Any] = answer["result"]
        return result

    def open(self, url: str) -> None:
        """Load `url` and size the viewport to the whole page, so every element is on screen at once."""
        self.call("Emulation.setDeviceMetricsOverride",
                  {"width": self.width, "height": 900, "deviceScaleFactor": 1, "mobile": False})
        self.call("Page.navigate", {"url": url})
        self._until(lambda m: m.get("method") == "Page.loadEventFired", f"loading {url}")
        height = self.evaluate("document.documentElement.scrollHeight")
        self.call("Emulation.setDeviceMetricsOverride",
                  {"width": self.width, "height": int(height), "deviceScaleFactor": 1, "mobile": False})

    def evaluate(self, expression: str) -> Any:
        """The value of a JavaScript expression in the page (JSON-serialisable); its exception fails the test."""
        done = self.call("Runtime.evaluate", {"expression": expression, "returnByValue": True})
        if "exceptionDetails" in done:
            raise BrowserError(f"the page's script failed: {done['exceptionDetails']}")
        return done["result"].get("value")

    def screenshot(self, clip: Sequence[float] | None = None) -> bytes:
        """A PNG of the viewport (the whole page, after `open`), or of its `clip` (x, y, width, height in CSS
        pixels), one device pixel per CSS pixel."""
        params: dict[str, Any] = {"format": "png"}
        if clip is not None:
            params["clip"] = dict(zip(("x", "y", "width", "height"), clip, strict=True)) | {"scale": 1}
        return base64.b64decode(self.call("Page.captureScreenshot", params)["data"])

    def close(self) -> None:
        if self._proc.poll() is None:
            try:
                self.call("Browser.close", session=False)
                self._proc.wait(timeout=15)
            except (BrowserError, OSError, subprocess.TimeoutExpired):
                self._proc.kill()
                self._proc.wait(timeout=15)
        for fd in (self._commands, self._answers):
            with contextlib.suppress(OSError):
                os.close(fd)

    def _until(self, wanted: Any, what: str) -> dict[str, Any]:
        deadline = time.monotonic() + self.timeout
        while True:
            while b"\0" in self._buffer:
                raw, self._buffer = self._buffer.split(b"\0", 1)
                message: dict[str, Any] = json.loads(raw)
                if message.get("method") == "Network.requestWillBeSent":
                    self.requests.append(message["params"]["request"]["url"])
                if wanted(message):
                    return message
            left = deadline - time.monotonic()
            if left <= 0:
                raise BrowserError(f"no answer from chromium within {self.timeout:.0f} s ({what}):\n{self._tail()}")
            ready, _, _ = select.select([self._answers], [], [], left)
            if ready:
                chunk = os.read(self._answers, 1 << 16)
                if not chunk:
                    raise BrowserError(f"chromium closed its pipe ({what}), exit {self._proc.poll()}:\n{self._tail()}")
                self._buffer += chunk

    def _tail(self) -> str:
        return self._log.read_text(errors="replace")[-2000:] if self._log.exists() else ""


def _pipe_above_4() -> tuple[int, int]:
    # Both ends numbered 10 or above, so putting them at 3 and 4 in the child cannot overwrite one of them.
    ends = os.pipe()
    moved = tuple(fcntl.fcntl(fd, fcntl.F_DUPFD_CLOEXEC, 10) for fd in ends)
    for fd in ends:
        os.close(fd)
    return moved[0], moved[1]
