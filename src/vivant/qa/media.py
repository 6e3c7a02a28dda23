"""Reading a finished video for QA, through the project's FFmpeg wrapper: its streams, its frames (small, grey),
its audio (float samples) and its loudness (EBU R128 with true peak)."""

from __future__ import annotations

import re
import subprocess
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from vivant.backends import ffmpeg
from vivant.errors import FFmpegError, InputError

FRAME_W, FRAME_H = 270, 480
"""Frames are analysed at this size (a 9:16 video keeps its shape)."""
AUDIO_RATE = 16000


@dataclass(frozen=True)
class Streams:
    path: Path
    size_bytes: int
    duration: float
    width: int
    height: int
    fps: float
    video_codec: str
    audio_codec: str | None
    language: str
    """The container's language tag mapped to "fr"/"en" ("" when absent)."""


_LANG = {"fra": "fr", "fre": "fr", "fr": "fr", "eng": "en", "en": "en"}


def streams(path: Path) -> Streams:
    """The video's streams; :class:`InputError` (one line) for a missing, empty or unreadable file or no video."""
    if not path.is_file():
        raise InputError(f"{path}: no such file")
    size = path.stat().st_size
    if size == 0:
        raise InputError(f"{path}: empty file (0 bytes)")
    proc = subprocess.run(
        [ffmpeg.ffmpeg_exe(), "-hide_banner", "-nostdin", "-i", str(path)],
        capture_output=True, text=True, errors="replace", check=False,
    )  # fmt: skip
    err = proc.stderr
    if "Invalid data found" in err or "Duration" not in err:
        raise InputError(f"{path}: not a video ffmpeg can read")
    v = re.search(r"Stream #\S+.*?: Video: (\w+).*?, (\d{2,5})x(\d{2,5})", err)
    if not v:
        raise InputError(f"{path}: no video stream")
    fps_m = re.search(r"Video:.*?, (\d+(?:\.\d+)?) fps", err) or re.search(r"Video:.*?, (\d+(?:\.\d+)?) tbr", err)
    a = re.search(r"Stream #\S+.*?: Audio: (\w+)", err)
    d = re.search(r"Duration: (\d+):(\d+):(\d+(?:\.\d+)?)", err)
    duration = int(d.group(1)) * 3600 + int(d.group(2)) * 60 + float(d.group(3)) if d else 0.0
    tag = re.search(r"Stream #[^(\n]*\((\w+)\)[^\n]*: Audio:", err) or re.search(
        r"^\s+language\s*:\s*(\w+)", err, re.MULTILINE
    )
    return Streams(
        path=path, size_bytes=size, duration=duration, width=int(v.group(2)), height=int(v.group(3)),
        fps=float(fps_m.group(1)) if fps_m else 0.0, video_codec=v.group(1),
        audio_codec=a.group(1) if a else None, language=_LANG.get(tag.group(1).lower(), "") if tag else "",
    )  # fmt: skip


FACE_W, FACE_H, FACE_FPS = 540, 960, 2


def frames(path: Path, work: Path) -> tuple[np.ndarray, np.ndarray]:
    """Every frame, grey, at :data:`FRAME_W` x :data:`FRAME_H` (shape: n, h, w; uint8), and :data:`FACE_FPS`
    frames a second at :data:`FACE_W` x :data:`FACE_H` for the face detector, from one decode."""
    raw, big = work / "frames.gray", work / "faces.gray"
    ffmpeg.run([
        "-i", path, "-filter_complex",
        f"[0:v:0]split[a][b];[a]scale={FRAME_W}:{FRAME_H},format=gray[small];"
        f"[b]fps={FACE_FPS},scale={FACE_W}:{FACE_H},format=gray[big]",
        "-map", "[small]", "-f", "rawvideo", raw, "-map", "[big]", "-f", "rawvideo", big,
    ])  # fmt: skip
    out = []
    for file, w, h in ((raw, FRAME_W, FRAME_H), (big, FACE_W, FACE_H)):
        data = np.fromfile(file, dtype=np.uint8)
        file.unlink(missing_ok=True)
        n = data.size // (w * h)
        out.append(data[: n * w * h].reshape(n, h, w))
    return out[0], out[1]


def audio(path: Path, work: Path) -> tuple[np.ndarray, np.ndarray]:
    """The audio as float32: (stereo at 48 kHz as decoded, shape n x channels; mono at :data:`AUDIO_RATE`)."""
    full, mono = work / "audio.f32", work / "mono.f32"
    ffmpeg.run([
        "-i", path, "-map", "0:a:0", "-f", "f32le", "-ac", "2", "-ar", "48000", full,
        "-map", "0:a:0", "-f", "f32le", "-ac", "1", "-ar", str(AUDIO_RATE), mono,
    ])  # fmt: skip
    stereo = np.fromfile(full, dtype=np.float32)
    stereo = stereo[: stereo.size // 2 * 2].reshape(-1, 2)
    m = np.fromfile(mono, dtype=np.float32)
    full.unlink(missing_ok=True)
    mono.unlink(missing_ok=True)
    return stereo, m


@dataclass(frozen=True)
class R128:
    integrated: float
    true_peak: float


def r128(path: Path) -> R128:
    """Integrated loudness (LUFS) and true peak (dBTP) of the first audio stream."""
    err = ffmpeg.run(["-i", path, "-map", "0:a:0", "-af", "ebur128=peak=true:framelog=quiet", "-f", "null", "-"])
    i = re.findall(r"I:\s+(-?\d+(?:\.\d+)?|-inf) LUFS", err)
    p = re.findall(r"Peak:\s+(-?\d+(?:\.\d+)?|-inf) dBFS", err)
    if not i:
        raise FFmpegError(f"{path}: no loudness measured", stderr_tail=err)
    integrated = float(i[-1]) if i[-1] != "-inf" else -120.0
    peak = float(p[-1]) if p and p[-1] != "-inf" else -120.0
    return R128(integrated, peak)


def envelope_db(mono: np.ndarray, hop: float, rate: int = AUDIO_RATE) -> np.ndarray:
    """RMS level in dBFS of consecutive windows of ``hop`` seconds."""
    n = round(hop * rate)
    count = mono.size // n
    if count == 0:
        return np.zeros(0)
    blocks = mono[: count * n].reshape(count, n).astype(np.float64)
    rms = np.sqrt(np.mean(blocks**2, axis=1))
    return np.asarray(20 * np.log10(np.maximum(rms, 1e-6)))
