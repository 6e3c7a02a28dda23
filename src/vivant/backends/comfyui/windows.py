"""Windowed lip-sync: cut a narration into model-sized windows at pauses, and join the clips back.

Audio-driven video models generate a few seconds at a time (Wan 2.2 S2V 77 frames at 16 fps, InfiniteTalk 81
frames at 25 fps, LTX-2 at most 257 frames at 25 fps). :func:`plan` cuts the narration into windows no longer
than the model's, only in the pauses between words (word timings of step 2), never inside a word, and the
windows cover the narration exactly. Each window's clip is generated for its own stretch of the narration
plus half a crossfade on each inner side, so that :func:`join` can crossfade at every cut while every frame
stays on the narration's clock: the joined clip is exactly as long as the narration and the mouth is where
the voice is.

Pure planning plus FFmpeg; no ComfyUI protocol here (see :mod:`vivant.backends.comfyui.roles`).
"""

from __future__ import annotations

import hashlib
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from vivant.backends import ffmpeg
from vivant.backends.comfyui.errors import WorkflowError
from vivant.errors import StepError
from vivant.roles import WordTiming

_SPEC = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(s|f|frames?|seconds?)?\s*$")


@dataclass(frozen=True)
class Window:
    """One window: it speaks ``[start, end)`` of the narration; its clip covers ``[clip_start, clip_end)``
    (the window widened by half a crossfade on each inner side)."""

    index: int
    start: float
    end: float
    clip_start: float
    clip_end: float

    @property
    def seconds(self) -> float:
        return self.end - self.start

    @property
    def clip_seconds(self) -> float:
        return self.clip_end - self.clip_start


def window_seconds(spec: str | float | int, fps: int, *, where: str = "comfyui.lipsync_window") -> float:
    """``"5s"``, ``"5"``, ``5.0`` are seconds; ``"77f"`` / ``"77 frames"`` are frames at ``fps``. 0: no windows."""
    if isinstance(spec, int | float) and not isinstance(spec, bool):
        value, unit = float(spec), "s"
    else:
        m = _SPEC.match(str(spec))
        if not m:
            raise WorkflowError(f'{where}: {spec!r} is not a window length (e.g. "5s" or "77f")')
        value, unit = float(m.group(1)), (m.group(2) or "s")
    seconds = value / fps if unit.startswith("f") else value
    if seconds < 0:
        raise WorkflowError(f"{where}: {spec!r} is negative")
    return seconds


def spec_frames(spec: str | float | int) -> int | None:
    """The frame count of a window given in frames (``"77f"``), else None (given in seconds)."""
    if isinstance(spec, int | float):
        return None
    m = _SPEC.match(str(spec))
    return int(float(m.group(1))) if m and (m.group(2) or "s").startswith("f") else None


def plan(words: Sequence[WordTiming], duration: float, max_seconds: float, *, crossfade: float = 0.0,
         fps: int = 25) -> list[Window]:  # fmt: skip
    """Windows no longer than ``max_seconds`` covering ``[0, duration)``, cut only between words.

    A cut goes into a pause (the gap between one word's end and the next one's start, or the silence before
    the first word / after the last), at a render frame boundary inside the pause when there is one, else at
    the pause's middle. Among the pauses that keep the window within ``max_seconds`` it takes the longest one
    in the window's last tenth (a breath rather than a hurried join), else the latest. ``crossfade`` widens
    the clips (not the windows) by half of it on each inner side. Raises :class:`StepError` when a single word
    (with its neighbours' pauses) is longer than a window.
    """
    if duration <= 0:
        raise StepError("the narration is empty")
    if max_seconds <= 0 or duration <= max_seconds + 1e-9:
        return [Window(0, 0.0, duration, 0.0, duration)]
    spans = sorted(((max(0.0, w.start), min(duration, max(w.start, w.end))) for w in words), key=lambda s: s[0])
    # candidate cuts: one per pause, as (cut time, pause length)
    cuts: list[tuple[float, float]] = []
    edges = [0.0, *(e for _, e in spans)]
    starts = [*(s for s, _ in spans), duration]
    longest_end = 0.0
    for k in range(len(starts)):
        lo = max(edges[k], longest_end)  # overlapping words: the pause starts after the longest one ends
        hi = starts[k]
        if k < len(spans):
            longest_end = max(longest_end, spans[k][1])
        if hi < lo or (k == 0 and hi <= 0) or (k == len(spans) and lo >= duration):
            continue
        cuts.append((_inside(lo, hi, fps), hi - lo))
    windows: list[Window] = []
    start = 0.0
    while duration - start > max_seconds + 1e-9:
        fitting = [(t, gap) for t, gap in cuts if start + 1e-6 < t <= start + max_seconds + 1e-9]
        if not fitting:
            word = next((w.word for w in words if w.end > start + max_seconds - 1e-6), "?")
            raise StepError(f"no pause between words within {max_seconds:.2f} s after {start:.2f} s of the "
                            f"narration (the word {word!r} would be cut): give the lip-sync workflow a longer "
                            "window")  # fmt: skip
        late = [(t, gap) for t, gap in fitting if t >= start + max_seconds * 0.9]
        cut = max(late, key=lambda c: (c[1], c[0]))[0] if late else fitting[-1][0]
        windows.append(Window(len(windows), start, cut, start, cut))
        start = cut
    windows.append(Window(len(windows), start, duration, start, duration))
    half = max(0.0, crossfade) / 2
    if half > 0 and len(windows) > 1:
        half = min(half, min(w.seconds for w in windows) / 2)
        windows = [
            Window(w.index, w.start, w.end, w.start - (half if w.index > 0 else 0.0),
                   w.end + (half if w.index < len(windows) - 1 else 0.0))
            for w in windows
        ]  # fmt: skip
    return windows


def _inside(lo: float, hi: float, fps: int) -> float:
    """A render frame boundary inside ``[lo, hi]`` (the nearest to its middle), else the middle."""
    mid = (lo + hi) / 2
    k = round(mid * fps)
    if lo - 1e-9 <= k / fps <= hi + 1e-9:
        return k / fps
    return mid


def crossfade_of(windows: Sequence[Window]) -> float:
    """The crossfade the clips were widened for (0 for one window)."""
    return 0.0 if len(windows) < 2 else windows[0].clip_end - windows[0].end + windows[1].start - windows[1].clip_start


def cut_audio(audio: Path, start: float, end: float, dest: Path) -> Path:
    """``[start, end)`` of ``audio`` as a 16-bit mono WAV with no metadata (same input, same bytes)."""
    ffmpeg.run(["-ss", f"{start:.6f}", "-t", f"{end - start:.6f}", "-i", audio, "-vn", "-ac", "1", "-ar", "22050",
                "-c:a", "pcm_s16le", "-map_metadata", "-1", "-fflags", "+bitexact", "-flags:a", "+bitexact",
                dest])  # fmt: skip
    return dest


def last_frame(video: Path, dest: Path) -> Path:
    """The last frame of ``video`` as a PNG (the next window starts from it in chained mode)."""
    ffmpeg.run(["-sseof", "-0.5", "-i", video, "-an", "-update", "1", "-fflags", "+bitexact", dest])
    return dest


def digest(*parts: bytes | str) -> str:
    h = hashlib.sha256()
    for p in parts:
        h.update(p if isinstance(p, bytes) else p.encode())
        h.update(b"\0")
    return h.hexdigest()[:24]


X264 = ["-c:v", "libx264", "-preset", "veryfast", "-crf", "20", "-pix_fmt", "yuv420p"]


def fit_clip(src: Path, dest: Path, *, seconds: float, width: int, height: int, fps: int) -> Path:
    """Scale/crop to the render size, resample to ``fps``, hold the last frame so it lasts ``seconds``, no audio."""
    vf = (f"scale={width}:{height}:force_original_aspect_ratio=increase,crop={width}:{height},setsar=1,"
          f"fps={fps},tpad=stop_mode=clone:stop_duration={seconds:.3f},trim=duration={seconds:.6f},"
          "setpts=PTS-STARTPTS")  # fmt: skip
    ffmpeg.run(["-i", src, "-vf", vf, "-an", *X264, dest])
    return dest


def join(clips: Sequence[Path], windows: Sequence[Window], audio: Path, out: Path, *, duration: float, fps: int,
         ) -> Path:  # fmt: skip
    """Crossfade the window clips at every cut (each clip already spans its ``clip_start..clip_end``), then mux
    the whole narration: the result lasts ``duration`` (within one frame) with H.264 + AAC."""
    if len(clips) != len(windows) or not clips:
        raise StepError(f"{out}: {len(clips)} clips for {len(windows)} windows")
    fade = crossfade_of(windows)
    frames = max(1, round(duration * fps))
    args: list[str | Path] = []
    for c in clips:
        args += ["-i", c]
    args += ["-i", audio]
    n = len(clips)
    parts = [f"[{k}:v]settb=AVTB,setpts=PTS-STARTPTS,fps={fps},format=yuv420p[v{k}]" for k in range(n)]
    last = "v0"
    for k in range(1, n):
        label = f"x{k}"
        if fade > 0:
            offset = windows[k].clip_start
            parts.append(f"[{last}][v{k}]xfade=transition=fade:duration={fade:.6f}:offset={offset:.6f}[{label}]")
        else:
            parts.append(f"[{last}][v{k}]concat=n=2:v=1:a=0[{label}]")
        last = label
    parts.append(f"[{last}]tpad=stop_mode=clone:stop_duration=1,trim=end_frame={frames},setpts=PTS-STARTPTS[vout]")
    args += ["-filter_complex", ";".join(parts), "-map", "[vout]", "-map", f"{n}:a:0", "-frames:v", str(frames),
             *X264, "-c:a", "aac", "-b:a", "160k", "-t", f"{frames / fps:.6f}", "-movflags", "+faststart",
             out]  # fmt: skip
    ffmpeg.run(args)
    return out


def frames_of(seconds: float, fps: int) -> int:
    return max(1, math.ceil(seconds * fps - 1e-6))
