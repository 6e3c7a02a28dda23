"""The one FFmpeg wrapper: pure argument builders plus a single runner.

Commands are argument lists, never shell strings. The runner logs the exact command, parses
``-progress pipe:1`` into progress callbacks, kills the child when interrupted, and raises
:class:`~vivant.errors.FFmpegError` carrying the tail of stderr. Every child dies with this process (Linux:
``PR_SET_PDEATHSIG``), so a ``kill -9`` of a night leaves no encoder running beside the resumed one.
Outputs should be written to a temporary name and moved into place by the caller (the engine does this for
step folders).
"""

from __future__ import annotations

import ctypes
import logging
import os
import shlex
import signal
import subprocess
import sys
import threading
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from vivant.errors import FFmpegError, WorkspaceError

log = logging.getLogger(__name__)

ProgressCallback = Callable[[float], None]
"""Called with the seconds of output written so far."""


@cache
def ffmpeg_exe() -> str:
    """The ffmpeg binary: ``$VIVANT_FFMPEG``, else the static build shipped by imageio-ffmpeg."""
    env = os.environ.get("VIVANT_FFMPEG")
    if env:
        return env
    import imageio_ffmpeg

    return str(imageio_ffmpeg.get_ffmpeg_exe())


_PR_SET_PDEATHSIG = 1


@cache
def _prctl() -> Callable[..., int] | None:
    if not sys.platform.startswith("linux"):
        return None
    try:
        fn: Callable[..., int] = ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return None
    return fn


def die_with_parent() -> Callable[[], None] | None:
    """A ``preexec_fn`` that makes the child get SIGKILL when this process dies (even by SIGKILL), or None where
    the platform has no such thing. Linux sends it when the *thread* that started the child ends: call it from
    the thread that waits for the child (as :func:`run` and :class:`FrameWriter` do)."""
    prctl = _prctl()
    if prctl is None:
        return None
    parent = os.getpid()

    def set_death_signal() -> None:
        prctl(_PR_SET_PDEATHSIG, int(signal.SIGKILL), 0, 0, 0)
        if os.getppid() != parent:  # the parent died before the signal was armed
            os.kill(os.getpid(), signal.SIGKILL)

    return set_death_signal


def _disk_full(stderr: str) -> bool:
    return "No space left on device" in stderr


def run(
    args: Sequence[str | os.PathLike[str]],
    *,
    progress: ProgressCallback | None = None,
    timeout: float | None = None,
    stdin: bytes | None = None,
) -> str:
    """Run ffmpeg with ``args`` (without the binary name); return its stderr.

    ``-hide_banner -nostdin -y`` are added, and ``-progress pipe:1`` when ``progress`` is given.
    """
    cmd = [ffmpeg_exe(), "-hide_banner", "-y"]
    if stdin is None:
        cmd.append("-nostdin")
    if progress is not None:
        cmd += ["-progress", "pipe:1", "-nostats"]
    cmd += [os.fspath(a) for a in args]
    log.debug("ffmpeg: %s", shlex.join(cmd))
    tail: deque[str] = deque(maxlen=40)
    proc = subprocess.Popen(
        cmd,
        stdin=subprocess.PIPE if stdin is not None else subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        preexec_fn=die_with_parent(),
    )

    def read_stderr() -> None:
        assert proc.stderr is not None
        for raw in proc.stderr:
            tail.append(raw.decode("utf-8", "replace").rstrip())

    reader = threading.Thread(target=read_stderr, daemon=True)
    reader.start()
    try:
        if stdin is not None:
            assert proc.stdin is not None
            try:
                proc.stdin.write(stdin)
                proc.stdin.close()
            except BrokenPipeError:
                pass
        assert proc.stdout is not None
        for raw in proc.stdout:
            line = raw.decode("utf-8", "replace").strip()
            if progress is not None and line.startswith("out_time_us="):
                value = line.partition("=")[2]
                if value.isdigit():
                    progress(int(value) / 1e6)
        proc.wait(timeout=timeout)
    except BaseException:
        proc.kill()
        proc.wait()
        raise
    finally:
        reader.join(timeout=5)
    stderr = "\n".join(tail)
    if proc.returncode != 0:
        if _disk_full(stderr):
            raise WorkspaceError(f"disk full while ffmpeg was writing {os.fspath(args[-1])}: no space left on device")
        raise FFmpegError(f"ffmpeg exited with code {proc.returncode}", cmd=cmd, stderr_tail=stderr)
    return stderr


class FrameWriter:
    """Pipes raw BGR frames into an ffmpeg encoder (used by the lip-sync animation).

    Use as a context manager; on error the child is killed and the partial output left for the caller's
    temporary folder to discard.
    """

    def __init__(
        self,
        output: Path,
        *,
        width: int,
        height: int,
        fps: int,
        extra: Sequence[str] = (),
        inputs: Sequence[str | os.PathLike[str]] = (),
    ) -> None:
        """``inputs``: more input arguments placed right after the frame pipe (e.g. ``["-i", audio]``, which
        is then input 1); ``extra``: output options, placed after all inputs."""
        self.cmd = [
            ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-y",
            "-f", "rawvideo", "-pix_fmt", "bgr24", "-s", f"{width}x{height}", "-r", str(fps), "-i", "pipe:0",
            *(os.fspath(a) for a in inputs),
            *extra,
            str(output),
        ]  # fmt: skip
        self._proc: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> FrameWriter:
        log.debug("ffmpeg: %s", shlex.join(self.cmd))
        self._proc = subprocess.Popen(
            self.cmd, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
            preexec_fn=die_with_parent(),
        )  # fmt: skip
        return self

    def write(self, frame: bytes | bytearray | memoryview) -> None:
        assert self._proc is not None and self._proc.stdin is not None
        try:
            self._proc.stdin.write(frame)
        except BrokenPipeError:
            self._fail()

    def _fail(self) -> None:
        assert self._proc is not None
        self._proc.kill()
        _, err = self._proc.communicate()
        text = err.decode("utf-8", "replace")
        if _disk_full(text):
            raise WorkspaceError("disk full while ffmpeg was writing frames")
        raise FFmpegError("ffmpeg frame encoder failed", cmd=self.cmd, stderr_tail=text)

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        assert self._proc is not None
        if exc_type is not None:
            self._proc.kill()
            self._proc.wait()
            return
        assert self._proc.stdin is not None
        self._proc.stdin.close()
        err = self._proc.stderr.read() if self._proc.stderr else b""
        if self._proc.wait() != 0:
            text = err.decode("utf-8", "replace")
            if _disk_full(text):
                raise WorkspaceError("disk full while ffmpeg was writing frames")
            raise FFmpegError("ffmpeg frame encoder failed", cmd=self.cmd, stderr_tail=text)


@dataclass(frozen=True)
class MediaInfo:
    duration: float
    width: int | None = None
    height: int | None = None
    video_codec: str | None = None
    audio_codec: str | None = None
    pix_fmt: str | None = None


def probe(path: Path) -> MediaInfo:
    """Read duration, size and codecs by asking ffmpeg (imageio-ffmpeg ships no ffprobe)."""
    import re

    if not path.exists():
        raise FFmpegError(f"{path}: no such file")
    proc = subprocess.run(
        [ffmpeg_exe(), "-hide_banner", "-nostdin", "-i", str(path), "-map", "0", "-c", "copy", "-f", "null", "-"],
        capture_output=True,
        text=True,
        errors="replace",
        check=False,
        preexec_fn=die_with_parent(),
    )
    err = proc.stderr
    if proc.returncode != 0 and "Duration" not in err:
        raise FFmpegError(f"{path}: ffmpeg cannot read it", stderr_tail=err)
    duration = 0.0
    times = re.findall(r"time=(\d+):(\d+):(\d+(?:\.\d+)?)", err)
    if times:
        h, m, s = times[-1]
        duration = int(h) * 3600 + int(m) * 60 + float(s)
    d = re.search(r"Duration: (\d+):(\d+):(\d+(?:\.\d+)?)", err)
    if d:
        # the last packet's time misses that packet's own length (a frame: 3 s of 25 fps video read as 2.92 s,
        # which put the narration two frames early in the final video); the container's duration does not
        duration = max(duration, int(d.group(1)) * 3600 + int(d.group(2)) * 60 + float(d.group(3)))
    width = height = None
    vcodec = acodec = pix = None
    v = re.search(r"Stream #\S+.*?: Video: (\w+)[^,\n]*(?:\([^)\n]*\))?, (\w+)[^\n]*?, (\d{2,5})x(\d{2,5})", err)
    if v:
        vcodec, pix, width, height = v.group(1), v.group(2), int(v.group(3)), int(v.group(4))
    a = re.search(r"Stream #\S+.*?: Audio: (\w+)", err)
    if a:
        acodec = a.group(1)
    return MediaInfo(duration, width, height, vcodec, acodec, pix)


def loudness(path: Path) -> float:
    """Integrated loudness (LUFS) of a file's audio, measured by ffmpeg's ebur128 filter."""
    err = run(["-i", path, "-map", "0:a:0", "-af", "ebur128=framelog=quiet", "-f", "null", "-"])
    import re

    found = re.findall(r"I:\s+(-?\d+(?:\.\d+)?) LUFS", err)
    if not found:
        raise FFmpegError(f"{path}: no loudness measured", stderr_tail=err)
    return float(found[-1])
