"""A SIGKILLed night leaves no ffmpeg running: the wrapper's children die with their parent (Linux)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[2] / "src"

PARENT = """
import threading
from vivant.backends import ffmpeg
# a 10-minute encode paced in real time (-re), silent (so no broken pipe would stop it): it ends when killed
ARGS = ["-loglevel", "error", "-nostats", "-re", "-f", "lavfi", "-i", "anullsrc=r=8000:cl=mono", "-t", "600",
        "-f", "null", "-"]
threading.Thread(target=ffmpeg.run, args=(ARGS,), daemon=True).start()
threading.Event().wait()
"""


def _children(pid: int) -> list[int]:
    out = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if int(fields[1]) == pid and fields[0] != "Z":
            out.append(int(stat.parent.name))
    return out


def _encoders(pid: int) -> list[int]:
    """The parent's children that are the long encode already (not a fork still about to exec, nor the short
    `ffmpeg -version` that finding the binary may run first)."""
    out = []
    for child in _children(pid):
        try:
            argv = Path(f"/proc/{child}/cmdline").read_bytes().split(b"\0")
            if b"ffmpeg" in argv[0] and b"anullsrc=r=8000:cl=mono" in argv:
                out.append(child)
        except OSError:
            continue
    return out


def _running(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state not in ("Z", "X")


def _until(condition, what: str, limit: float = 60.0) -> None:  # type: ignore[no-untyped-def]
    """Wait for a condition (a generous limit: a loaded machine is slow, never a reason to fail)."""
    deadline = time.monotonic() + limit
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"still waiting after {limit} s: {what}")
        time.sleep(0.1)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="PR_SET_PDEATHSIG is Linux's")
def test_sigkill_of_the_parent_takes_its_ffmpeg_child_down() -> None:
    env = {**os.environ, "PYTHONPATH": f"{SRC}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"}
    parent = subprocess.Popen([sys.executable, "-c", PARENT], env=env)
    child = 0
    try:
        _until(lambda: _encoders(parent.pid), "the parent starts ffmpeg")
        (child,) = _encoders(parent.pid)
        parent.send_signal(signal.SIGKILL)
        parent.wait()
        _until(lambda: not _running(child), "ffmpeg dies with its parent")
    finally:
        if parent.poll() is None:
            parent.kill()
            parent.wait()
        if child and _running(child):
            os.kill(child, signal.SIGKILL)  # the test failed: leave nothing behind
