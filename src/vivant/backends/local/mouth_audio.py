"""The lip-sync's sound side: the narration decoded to mono samples, its loudness per video frame, and step 2's
word timings read from beside it."""

from __future__ import annotations

import json
import logging
import tempfile
import wave
from pathlib import Path

import numpy as np
from pydantic import TypeAdapter, ValidationError

from vivant.backends.ffmpeg import run
from vivant.backends.local.video import _frame_count
from vivant.errors import FFmpegError, InputError
from vivant.roles import WordTiming

log = logging.getLogger(__name__)

_words = TypeAdapter(list[WordTiming])


def read_mono(audio: Path) -> tuple[np.ndarray, int]:
    """Decode audio to mono float32 in [-1, 1] and its sample rate.

    Plain PCM WAV is read with :mod:`wave`; anything else is decoded by ffmpeg to 16 kHz s16 mono.
    """
    audio = Path(audio)
    if not audio.is_file():
        raise InputError(f"{audio}: no such audio file")
    try:
        with wave.open(str(audio), "rb") as w:
            channels, width, rate, frames = w.getnchannels(), w.getsampwidth(), w.getframerate(), w.getnframes()
            raw = w.readframes(frames)
        if width == 1:
            x = (np.frombuffer(raw, np.uint8).astype(np.float32) - 128) / 128
        elif width == 2:
            x = np.frombuffer(raw, "<i2").astype(np.float32) / 32768
        elif width == 3:
            b = np.frombuffer(raw, np.uint8).reshape(-1, 3).astype(np.int32)
            v = b[:, 0] | (b[:, 1] << 8) | (b[:, 2] << 16)
            x = (np.where(v >= 1 << 23, v - (1 << 24), v)).astype(np.float32) / (1 << 23)
        elif width == 4:
            x = np.frombuffer(raw, "<i4").astype(np.float32) / 2**31
        else:
            raise wave.Error(f"sample width {width}")
        x = x[: len(x) // channels * channels].reshape(-1, channels).mean(axis=1)
        return x, rate
    except (wave.Error, EOFError):
        log.debug("%s is not a plain PCM WAV; decoding with ffmpeg", audio)
    with tempfile.TemporaryDirectory(prefix="vivant-pcm-") as tmp:
        raw_path = Path(tmp) / "audio.s16"
        try:
            run(["-i", audio, "-vn", "-ac", "1", "-ar", "16000", "-f", "s16le", raw_path])
        except FFmpegError as e:
            raise InputError(f"{audio}: not a readable audio file") from e
        data = np.fromfile(raw_path, "<i2").astype(np.float32) / 32768
    return data, 16000


def loudness_envelope(samples: np.ndarray, rate: int, fps: int) -> np.ndarray:
    """Mouth opening per video frame in [0, 1]: RMS per frame, in dB relative to the clip's loud parts,
    gated below -26 dB (and below -55 dBFS absolute), then smoothed with a fast attack and slower release."""
    n = _frame_count(len(samples) / rate, fps) if len(samples) else 1
    bounds = np.minimum(np.round(np.arange(n + 1) * rate / fps).astype(np.int64), len(samples))
    cs = np.concatenate([[0.0], np.cumsum(samples.astype(np.float64) ** 2)])
    counts = np.maximum(bounds[1:] - bounds[:-1], 1)
    rms = np.sqrt(np.maximum(cs[bounds[1:]] - cs[bounds[:-1]], 0) / counts)
    ref = float(np.percentile(rms, 95)) if rms.size else 0.0
    if ref < 10 ** (-55 / 20):
        return np.zeros(n, np.float32)
    db = 20 * np.log10(np.maximum(rms, 1e-9) / ref)
    level = np.clip((db + 26.0) / 26.0, 0.0, 1.0)
    level[rms < 10 ** (-55 / 20)] = 0.0
    env = np.empty(n, np.float32)
    y = 0.0
    for i, x in enumerate(level):
        y += (0.65 if x > y else 0.35) * (x - y)
        env[i] = y
    return env


def timings_beside(audio: Path) -> list[WordTiming] | None:
    """Step 2's ``timings.json`` next to its ``narration.wav``, when there is one (``None`` otherwise)."""
    path = Path(audio).with_name("timings.json")
    if not path.is_file():
        return None
    try:
        return _words.validate_json(path.read_bytes())
    except (ValidationError, json.JSONDecodeError, OSError) as e:
        log.warning("%s: unreadable word timings, the mouth follows the loudness (%s)", path, e)
        return None
