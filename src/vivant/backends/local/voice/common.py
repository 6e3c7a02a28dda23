"""What every local voice shares: the WAV format, text checks, resampling, speech bounds, the timing filler and
the pitch measure.

Every voice writes a mono 22050 Hz 16-bit WAV that ends with :data:`TAIL_SILENCE` seconds of silence, and
returns one :class:`~vivant.roles.WordTiming` per whitespace-separated word of the text (punctuation stays
attached), in order, with non-decreasing, non-overlapping times inside the audio. Words that the engine
merged, skipped or expanded (numbers, elisions such as ``l’été``) still get a time, interpolated from their
neighbours.
"""

from __future__ import annotations

import wave
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

from vivant.errors import StepError, WorkspaceError
from vivant.roles import WordTiming

SAMPLE_RATE = 22050
"""Sample rate of every WAV written here."""
TAIL_SILENCE = 0.25
"""Seconds of silence added at the end of every WAV."""

Samples = npt.NDArray[np.int16]


def split_words(text: str) -> list[str]:
    """The words of ``text`` as the timings count them: split on whitespace, punctuation kept attached."""
    return text.split()


def word_spans(text: str) -> list[tuple[int, int]]:
    """(start, end) character offsets of each whitespace-separated word of ``text``."""
    spans: list[tuple[int, int]] = []
    start = -1
    for i, ch in enumerate(text):
        if ch.isspace():
            if start >= 0:
                spans.append((start, i))
                start = -1
        elif start < 0:
            start = i
    if start >= 0:
        spans.append((start, len(text)))
    return spans


def weight(word: str) -> int:
    """How long a word is expected to last, in letters and digits (0 for a word of punctuation only)."""
    return sum(1 for ch in word if ch.isalnum())


_OPENING = set("«“„‘([{¿¡\"'‹")


def check_text(text: str) -> list[str]:
    words = split_words(text)
    if not words:
        raise StepError("cannot speak an empty text")
    if not any(weight(w) for w in words):
        raise StepError(f"nothing to speak in {text[:60]!r}: the text has no letters or digits")
    return words


def write_wav(out_wav: Path, samples: Samples) -> float:
    """Write mono s16 ``samples`` at :data:`SAMPLE_RATE` plus the tail silence; return the duration in s."""
    tail = np.zeros(round(TAIL_SILENCE * SAMPLE_RATE), dtype=np.int16)
    data = np.concatenate([samples.astype(np.int16, copy=False), tail])
    try:
        out_wav.parent.mkdir(parents=True, exist_ok=True)
        with wave.open(str(out_wav), "wb") as w:
            w.setnchannels(1)
            w.setsampwidth(2)
            w.setframerate(SAMPLE_RATE)
            w.writeframes(data.astype("<i2").tobytes())
    except OSError as e:
        raise WorkspaceError(f"{out_wav}: cannot write the narration: {e}") from e
    return len(data) / SAMPLE_RATE


def resample(samples: Samples, rate: int) -> Samples:
    """Linear resampling to :data:`SAMPLE_RATE` (only used if an engine reports another rate)."""
    if rate == SAMPLE_RATE or len(samples) == 0:
        return samples
    n_out = round(len(samples) * SAMPLE_RATE / rate)
    x_old = np.arange(len(samples)) / rate
    x_new = np.arange(n_out) / SAMPLE_RATE
    out = np.interp(x_new, x_old, samples.astype(np.float64))
    return np.clip(np.round(out), -32768, 32767).astype(np.int16)


def _frame_rms(samples: Samples, frame: int) -> npt.NDArray[np.float64]:
    n = len(samples) // frame
    if n == 0:
        return np.zeros(0)
    x = samples[: n * frame].astype(np.float64).reshape(n, frame)
    return np.asarray(np.sqrt((x * x).mean(axis=1)))


def speech_bounds(samples: Samples) -> tuple[float, float]:
    """(first, last) second with sound in ``samples``; (0, duration) if it is all quiet."""
    frame = SAMPLE_RATE // 100
    rms = _frame_rms(samples, frame)
    duration = len(samples) / SAMPLE_RATE
    if len(rms) == 0 or rms.max() <= 0:
        return 0.0, duration
    loud = np.flatnonzero(rms > max(30.0, 0.02 * float(rms.max())))
    if len(loud) == 0:
        return 0.0, duration
    return float(loud[0]) * frame / SAMPLE_RATE, min(duration, float(loud[-1] + 1) * frame / SAMPLE_RATE)


def fill_timings(
    words: Sequence[str],
    starts: Sequence[float | None],
    ends: Sequence[float | None],
    *,
    speech_start: float,
    speech_end: float,
    trim_end: Callable[[float, float], float] | None = None,
) -> list[WordTiming]:
    """Turn partial measurements into one monotonic timing per word.

    ``starts``/``ends`` hold what the engine measured for each word (None where it said nothing). Measured
    starts that go backwards are dropped. Words without a start share, in proportion to their letters, the
    time between the previous measured word and the next one (with the previous word when its end is
    unknown). A missing end is the next word's start, shortened by ``trim_end(start, end)`` (e.g. to the last
    loud frame). Words of punctuation only get an empty timing at the previous word's end (at the next word's
    start for opening marks).
    """
    n = len(words)
    weights = [weight(w) for w in words]
    st: list[float | None] = [None] * n
    en: list[float | None] = [None] * n
    last = speech_start
    for i in range(n):
        s = starts[i]
        if weights[i] == 0 or s is None or s < last - 1e-6 or s > speech_end:
            continue
        st[i] = s
        e = ends[i]
        if e is not None and s <= e <= speech_end:
            en[i] = e
            last = e
        else:
            last = s
    known = [i for i in range(n) if st[i] is not None]
    if not known:
        # Nothing measured: spread the words over the speech.
        _spread(st, weights, range(n), speech_start, speech_end)
    else:
        # Before the first measured word.
        if known[0] > 0:
            first = st[known[0]]
            assert first is not None
            _spread(st, weights, range(known[0]), speech_start, max(speech_start, first))
        for k, p in enumerate(known):
            q = known[k + 1] if k + 1 < len(known) else n
            if q == p + 1:
                continue
            right = st[q] if q < n else speech_end
            assert right is not None
            sp = st[p]
            assert sp is not None
            ep = en[p]
            run = range(p + 1, q)
            gap_weight = sum(weights[i] for i in run)
            if ep is not None and right - ep >= 0.04 * max(1, gap_weight):
                _spread(st, weights, run, ep, right)
            else:
                # The unmeasured words were spoken inside the previous word's time: share it.
                en[p] = None
                _spread(st, weights, range(p, q), sp, max(sp, right))
    out_s = [float(s) if s is not None else speech_start for s in st]
    for i in range(1, n):
        out_s[i] = max(out_s[i], out_s[i - 1])
    timings: list[WordTiming] = []
    for i in range(n):
        nxt = out_s[i + 1] if i + 1 < n else speech_end
        nxt = max(nxt, out_s[i])
        e = en[i]
        if e is None:
            e = nxt
            if trim_end is not None and weights[i]:
                e = trim_end(out_s[i], e)
        e = min(max(e, out_s[i]), nxt)
        timings.append(WordTiming(word=words[i], start=round(out_s[i], 3), end=round(e, 3)))
    # Punctuation-only tokens: an empty timing glued to their neighbour.
    for i in range(n):
        if weights[i]:
            continue
        opening = words[i][0] in _OPENING
        if (opening and i + 1 < n) or i == 0:
            t = timings[i + 1].start if i + 1 < n else timings[i].start
        else:
            t = timings[i - 1].end
        t = max(t, timings[i - 1].end if i > 0 else 0.0)
        timings[i] = WordTiming(word=words[i], start=t, end=t)
    return timings


def _spread(st: list[float | None], weights: Sequence[int], idx: range, left: float, right: float) -> None:
    """Give the words ``idx`` starts between ``left`` and ``right`` in proportion to their weights."""
    total = sum(max(weights[i], 0) for i in idx) or 1
    t = left
    for i in idx:
        st[i] = t
        t += (right - left) * weights[i] / total


def trimmer(samples: Samples) -> Callable[[float, float], float]:
    """``trim(start, end)``: the end of the last loud 10 ms frame in [start, end] (at least start + 60 ms)."""
    frame = SAMPLE_RATE // 100
    rms = _frame_rms(samples, frame)
    threshold = max(30.0, 0.03 * float(rms.max())) if len(rms) else 0.0

    def trim(start: float, end: float) -> float:
        a, b = int(start * 100), int(end * 100)
        if b <= a or len(rms) == 0:
            return end
        loud = np.flatnonzero(rms[a:b] > threshold)
        if len(loud) == 0:
            return end
        return min(end, max(start + 0.06, (a + int(loud[-1]) + 1) / 100 + 0.02))

    return trim


@dataclass
class Measure:
    """What one call produced; kept for the caller's logs and for benchmarks."""

    seconds_audio: float = 0.0
    seconds_wall: float = 0.0


def read_wav(path: Path) -> Samples:
    """The samples of a 16-bit PCM WAV (first channel), resampled to :data:`SAMPLE_RATE`."""
    try:
        with wave.open(str(path), "rb") as w:
            channels, width, rate = w.getnchannels(), w.getsampwidth(), w.getframerate()
            data = w.readframes(w.getnframes())
    except (OSError, EOFError, wave.Error) as e:
        raise StepError(f"{path}: not a readable WAV file: {e}") from None
    if width != 2:
        raise StepError(f"{path}: {8 * width}-bit WAV; only 16-bit PCM is read")
    samples = np.frombuffer(data, dtype="<i2").astype(np.int16)
    if channels > 1:
        samples = samples[::channels].copy()
    return resample(samples, rate)


def wav_bytes_to_samples(data: bytes, where: str) -> Samples:
    """The samples of a WAV held in memory (a server's answer), at :data:`SAMPLE_RATE`."""
    import io

    try:
        with wave.open(io.BytesIO(data), "rb") as w:
            channels, width, rate = w.getnchannels(), w.getsampwidth(), w.getframerate()
            frames = w.readframes(w.getnframes())
    except (EOFError, wave.Error) as e:
        raise StepError(f"{where}: the answer is not a WAV file ({e}): {data[:16]!r}") from None
    if width == 2:
        samples = np.frombuffer(frames, dtype="<i2").astype(np.int16)
    elif width == 4:  # 32-bit PCM
        samples = (np.frombuffer(frames, dtype="<i4") >> 16).astype(np.int16)
    else:
        raise StepError(f"{where}: {8 * width}-bit WAV; expected 16-bit PCM")
    if channels > 1:
        samples = samples[::channels].copy()
    return resample(samples, rate)


def estimate_timings(words: Sequence[str], samples: Samples) -> list[WordTiming]:
    """Word times estimated from the letters of each word over the speech (no engine or recogniser timing)."""
    start, end = speech_bounds(samples)
    none: list[float | None] = [None] * len(words)
    return fill_timings(words, none, none, speech_start=start, speech_end=end, trim_end=trimmer(samples))


def median_f0(samples: Samples, rate: int = SAMPLE_RATE, *, fmin: float = 60.0, fmax: float = 400.0) -> float:
    """Median fundamental frequency (Hz) of the voiced 40 ms frames of ``samples`` (0.0 if none is voiced).

    A YIN-style measure in numpy: the cumulative mean normalised difference of each frame, its first dip
    under 0.15 (else its minimum if under 0.3) between ``fmin`` and ``fmax``, refined by a parabola; quiet frames
    (under 10% of the loudest frame's RMS) are skipped.
    """
    x = samples.astype(np.float64)
    frame, hop = int(0.04 * rate), int(0.02 * rate)
    tmin, tmax = int(rate / fmax), int(rate / fmin)
    if len(x) < frame + tmax:
        return 0.0
    starts = np.arange(0, len(x) - frame - tmax, hop)
    rms = np.array([np.sqrt(np.mean(x[s : s + frame] ** 2)) for s in starts])
    loud = starts[rms > 0.1 * rms.max()] if rms.max() > 0 else starts[:0]
    f0s: list[float] = []
    taus = np.arange(1, tmax + 1)
    for s in loud:
        seg = x[s : s + frame + tmax]
        corr = np.correlate(seg, seg[:frame], mode="valid")  # corr[t] = sum(seg[t:t+frame] * seg[:frame])
        sq = np.concatenate([[0.0], np.cumsum(seg * seg)])
        energy = sq[frame:] - sq[:-frame]  # energy[t] = sum(seg[t:t+frame] ** 2)
        d = energy[0] + energy[taus] - 2 * corr[taus]
        cum = np.cumsum(d)
        cmnd = d * taus / np.where(cum > 0, cum, 1.0)
        window = cmnd[tmin - 1 :]
        under = np.flatnonzero(window < 0.15)
        if len(under):
            k = int(under[0])
            while k + 1 < len(window) and window[k + 1] < window[k]:
                k += 1
        else:
            k = int(np.argmin(window))
            if window[k] >= 0.3:
                continue
        tau = float(k + tmin)
        if 0 < k < len(window) - 1:
            a, b, c = window[k - 1], window[k], window[k + 1]
            den = a - 2 * b + c
            if den > 0:
                tau += 0.5 * (a - c) / den
        f0s.append(rate / tau)
    return float(np.median(f0s)) if f0s else 0.0
