"""A small Chrome DevTools Protocol client over a pipe, for the tests: open, measure, click, shoot.

Chromium's ``--remote-debugging-pipe`` reads NUL-terminated JSON commands from its fd 3 and writes
replies and events to its fd 4. No dependency beyond the standard library; every read has a
deadline, so a broken browser fails a test with a message instead of hanging it.

    with Browser(shutil.which("chromium")) as browser:
        page = browser.open(path.as_uri(), width=390, height=844, dark=True)
        page.evaluate("document.documentElement.scrollWidth")
        page.screenshot(tmp_path / "phone.png")
        page.click("label[for=sort-cost]"); page.press("Tab")

The JavaScript is the tests' own (Runtime.evaluate); the pages under test need none.
"""

from __future__ import annotations

import base64
import collections
import contextlib
import fcntl
import json
import os
import select
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

TIMEOUT_S = 30.0
_CHILD_IN, _CHILD_OUT = 3, 4                # where chromium expects the pipe: commands in, replies out
_HIGH_FD = 10                               # pipe ends are parked above 3 and 4 before the child's dup2

# key name -> (DOM key, DOM code, Windows virtual key code, text typed)
_KEYS = {
    "Tab": ("Tab", "Tab", 9, ""),
    "Enter": ("Enter", "Enter", 13, "\r"),
    "Space": (" ", "Space", 32, " "),
    "Escape": ("Escape", "Escape", 27, ""),
    "ArrowLeft": ("ArrowLeft", "ArrowLeft", 37, ""),
    "ArrowUp": ("ArrowUp", "ArrowUp", 38, ""),
    "ArrowRight": ("ArrowRight", "ArrowRight", 39, ""),
    "ArrowDown": ("ArrowDown", "ArrowDown", 40, ""),
    "Home": ("Home", "Home", 36, ""),
    "End": ("End", "End", 35, ""),
}
_SHIFT = 8                                  # CDP modifier bit


class BrowserError(RuntimeError):
    """The browser did not answer in time, answered with an error, or went away."""


class Browser:
    """One headless chromium process, driven over its debugging pipe; close it (or use ``with``)."""

    def __init__(self, executable: str, *, timeout_s: float = TIMEOUT_S) -> None:
        self.timeout_s = timeout_s
        self._next_id = 0
        self._buffer = b""
        self._events: collections.deque[dict[str, Any]] = collections.deque()
        self._stderr = tempfile.TemporaryFile()    # noqa: SIM115 (closed by close())
        self._profile = tempfile.TemporaryDirectory(prefix="greenlove-chromium-")
        child_in, self._write_fd = os.pipe()
        self._read_fd, child_out = os.pipe()
        # Parked above 3 and 4 (close-on-exec), so the child's dup2 onto 3 and 4 never overwrites
        # the other end, whatever numbers os.pipe returned.
        high_in = fcntl.fcntl(child_in, fcntl.F_DUPFD_CLOEXEC, _HIGH_FD)
        high_out = fcntl.fcntl(child_out, fcntl.F_DUPFD_CLOEXEC, _HIGH_FD)
        os.close(child_in)
        os.close(child_out)

        def plumb() -> None:                # in the child, before exec: dup2 clears close-on-exec
            os.dup2(high_in, _CHILD_IN)
            os.dup2(high_out, _CHILD_OUT)

        try:
            # close_fds=False: pass_fds would first mark the parent's own fds 3 and 4 inheritable
            # and fail where they are not open; every other fd Python opens is close-on-exec.
            self._process = subprocess.Popen(
                [executable, "--headless=new", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
                 "--no-first-run", "--no-default-browser-check", "--disable-extensions",
                 "--disable-background-networking", "--disable-sync", "--mute-audio",
                 f"--user-data-dir={self._profile.name}", "--remote-debugging-pipe", "about:blank"],
                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=self._stderr,
                close_fds=False, preexec_fn=plumb)
        except BaseException:
            for fd in (self._write_fd, self._read_fd):
                os.close(fd)
            self._cleanup_files()
            raise
        finally:                            # the child's ends: the child holds its own copies
            os.close(high_in)
            os.close(high_out)
        self._closed = False
        try:
            self.send("Target.setDiscoverTargets", {"discover": False})
        except BaseException:
            self.close()
            raise

    def __enter__(self) -> Browser:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def open(self, url: str, *, width: int, height: int, dark: bool = False,
             mobile: bool | None = None) -> Page:
        """A new tab at ``width`` x ``height`` CSS px (scale 1), light or dark, loaded from ``url``.

        ``mobile`` (default: width under 800 px) emulates a phone: the viewport meta tag applies.
        """
        target = self.send("Target.createTarget", {"url": "about:blank"})["targetId"]
        session = self.send("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
        page = Page(self, target, session, width, height)
        page.send("Page.enable")
        page.send("Emulation.setFocusEmulationEnabled", {"enabled": True})   # keys reach a background tab
        page.send("Network.enable")
        page.send("Emulation.setDeviceMetricsOverride",
                  {"width": width, "height": height, "deviceScaleFactor": 1,
                   "mobile": width < 800 if mobile is None else mobile})
        page.send("Emulation.setEmulatedMedia",
                  {"features": [{"name": "prefers-color-scheme", "value": "dark" if dark else "light"}]})
        page.navigate(url)
        return page

    def send(self, method: str, params: dict[str, Any] | None = None,
             session: str | None = None) -> dict[str, Any]:
        """Send one command and return its result; events read meanwhile are kept for wait_event."""
        self._next_id += 1
        message: dict[str, Any] = {"id": self._next_id, "method": method, "params": params or {}}
        if session is not None:
            message["sessionId"] = session
        self._write(json.dumps(message).encode() + b"\0")
        deadline = time.monotonic() + self.timeout_s
        while True:
            reply = self._read(deadline, f"reply to {method}")
            if reply.get("id") == self._next_id:
                if "error" in reply:
                    raise BrowserError(f"{method} failed: {reply['error'].get('message', reply['error'])}")
                return reply.get("result", {})
            if "method" in reply:
                self._events.append(reply)

    def wait_event(self, method: str, session: str | None = None,
                   timeout_s: float | None = None) -> dict[str, Any]:
        """The params of the first event ``method`` (of ``session``) not yet consumed."""
        deadline = time.monotonic() + (self.timeout_s if timeout_s is None else timeout_s)
        while True:
            for event in self._events:
                if event["method"] == method and event.get("sessionId") == session:
                    self._events.remove(event)
                    return event.get("params", {})
            self._events.append(self._read(deadline, f"event {method}"))

    def take_events(self, method: str, session: str | None = None) -> list[dict[str, Any]]:
        """The params of every event ``method`` (of ``session``) read so far, consumed."""
        taken = [e for e in self._events if e["method"] == method and e.get("sessionId") == session]
        for event in taken:
            self._events.remove(event)
        return [e.get("params", {}) for e in taken]

    def close(self) -> None:
        """Ask the browser to quit, then make sure it has; idempotent."""
        if getattr(self, "_closed", True):
            return
        self._closed = True
        with contextlib.suppress(BrowserError):     # already gone: the wait below says so
            self._write(json.dumps({"id": self._next_id + 1, "method": "Browser.close"}).encode() + b"\0")
        try:
            self._process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait(timeout=10)
        finally:
            os.close(self._write_fd)
            os.close(self._read_fd)
            self._cleanup_files()

    def _cleanup_files(self) -> None:
        self._stderr.close()
        self._profile.cleanup()

    def _write(self, data: bytes) -> None:
        try:
            while data:
                data = data[os.write(self._write_fd, data):]
        except OSError as error:
            raise BrowserError(f"chromium is gone ({error}){self._stderr_tail()}") from error

    def _read(self, deadline: float, what: str) -> dict[str, Any]:
        while b"\0" not in self._buffer:
            left = deadline - time.monotonic()
            ready, _, _ = select.select([self._read_fd], [], [], max(left, 0.0))
            if not ready:
                raise BrowserError(f"no {what} from chromium within {self.timeout_s:g} s"
                                   f"{self._stderr_tail()}")
            chunk = os.read(self._read_fd, 1 << 20)
            if not chunk:
                code = self._process.poll()
                raise BrowserError(f"chromium closed its pipe while we waited for {what} "
                                   f"(exit status {code}){self._stderr_tail()}")
            self._buffer += chunk
        message, self._buffer = self._buffer.split(b"\0", 1)
        return json.loads(message)

    def _stderr_tail(self) -> str:
        try:
            self._stderr.seek(0)
            tail = self._stderr.read().decode(errors="replace").strip().splitlines()[-5:]
        except (OSError, ValueError):
            return ""
        return ("; its stderr ends:\n" + "\n".join(tail)) if tail else ""


class Page:
    """One tab: navigate, evaluate the tests' own JavaScript, take screenshots, click and type."""

    def __init__(self, browser: Browser, target: str, session: str, width: int, height: int) -> None:
        self.browser, self.target, self.session = browser, target, session
        self.width, self.height = width, height     # the emulated screen, CSS px: on a phone a
        # page wider than it is zoomed out, so innerWidth/innerHeight grow past these
        self.requests: list[str] = []       # every URL the page asked for while it loaded

    def send(self, method: str, params: dict[str, Any] | None = None) -> dict[str, Any]:
        return self.browser.send(method, params, self.session)

    def navigate(self, url: str) -> None:
        """Load ``url`` and wait for its load event; record what it requested."""
        for stale in ("Page.loadEventFired", "Network.requestWillBeSent"):
            self.browser.take_events(stale, self.session)
        reply = self.send("Page.navigate", {"url": url})
        if reply.get("errorText"):
            raise BrowserError(f"could not open {url}: {reply['errorText']}")
        self.browser.wait_event("Page.loadEventFired", self.session)
        self.requests = [e["request"]["url"]
                         for e in self.browser.take_events("Network.requestWillBeSent", self.session)]

    def evaluate(self, expression: str) -> Any:
        """The value of a JavaScript expression in the page (promises awaited), as JSON."""
        reply = self.send("Runtime.evaluate", {"expression": expression, "returnByValue": True,
                                               "awaitPromise": True})
        if "exceptionDetails" in reply:
            details = reply["exceptionDetails"]
            text = details.get("exception", {}).get("description") or details.get("text")
            raise BrowserError(f"the expression threw: {text}\n{expression}")
        return reply["result"].get("value")

    def screenshot(self, path: str | os.PathLike[str], *, full_page: bool = False) -> Path:
        """A PNG of the viewport, or of the whole page's height, written to ``path``."""
        params: dict[str, Any] = {"format": "png"}
        if full_page:
            width, height = self.evaluate("[innerWidth, document.documentElement.scrollHeight]")
            params.update(captureBeyondViewport=True,
                          clip={"x": 0, "y": 0, "width": width, "height": height, "scale": 1})
        data = self.send("Page.captureScreenshot", params)["data"]
        out = Path(path)
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_bytes(base64.b64decode(data))
        return out

    def click(self, selector: str) -> None:
        """Click the centre of the first element matching ``selector`` with real mouse events."""
        x, y = self._centre(selector)
        for kind in ("mouseMoved", "mousePressed", "mouseReleased"):
            self.send("Input.dispatchMouseEvent",
                      {"type": kind, "x": x, "y": y, "button": "left" if kind != "mouseMoved" else "none",
                       "buttons": 1 if kind == "mousePressed" else 0,
                       "clickCount": 0 if kind == "mouseMoved" else 1})

    def press(self, key: str, *, shift: bool = False) -> None:
        """Press and release one key: Tab, Enter, Space, Escape, Home, End or an arrow."""
        if key not in _KEYS:
            raise ValueError(f"no key {key!r}; known: {', '.join(_KEYS)}")
        name, code, vk, text = _KEYS[key]
        common = {"key": name, "code": code, "windowsVirtualKeyCode": vk,
                  "nativeVirtualKeyCode": vk, "modifiers": _SHIFT if shift else 0}
        down = {"type": "keyDown", "text": text, "unmodifiedText": text} if text else {"type": "rawKeyDown"}
        self.send("Input.dispatchKeyEvent", {**common, **down})
        self.send("Input.dispatchKeyEvent", {**common, "type": "keyUp"})

    def close(self) -> None:
        self.browser.send("Target.closeTarget", {"targetId": self.target})

    def _centre(self, selector: str) -> tuple[float, float]:
        found = self.evaluate(f"""(() => {{
            const el = document.querySelector({json.dumps(selector)});
            if (!el) return null;
            el.scrollIntoView({{block: "center", inline: "center"}});
            const r = el.getBoundingClientRect();
            return [r.left + r.width / 2, r.top + r.height / 2, r.width, r.height];
        }})()""")
        if found is None:
            raise BrowserError(f"nothing matches {selector!r}")
        x, y, width, height = found
        if width <= 0 or height <= 0:
            raise BrowserError(f"{selector!r} has no size on screen ({width} x {height} px)")
        return x, y
