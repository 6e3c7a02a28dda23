"""Measures on decoded frames and samples (pure numpy + OpenCV): where the narration is, black and frozen
stretches, the face, silences, clipping, and the offset between mouth motion and voice."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

import numpy as np

ENVELOPE_HOP = 0.02
"""Seconds per loudness window when looking for the narration and its silences."""


@dataclass(frozen=True)
class Span:
    start: float
    end: float

    @property
    def length(self) -> float:
        return max(0.0, self.end - self.start)


def runs(mask: np.ndarray) -> list[tuple[int, int]]:
    """(start, end) index pairs (end exclusive) of the True runs of a boolean array."""
    if mask.size == 0:
        return []
    padded = np.concatenate([[False], mask.astype(bool), [False]])
    edges = np.flatnonzero(np.diff(padded.astype(np.int8)))
    return [(int(a), int(b)) for a, b in zip(edges[::2], edges[1::2], strict=True)]


def narration_span(env_db: np.ndarray, hop: float = ENVELOPE_HOP, drop_db: float = 15.0) -> tuple[Span, float]:
    """The span from the first to the last loud window (within ``drop_db`` of the 95th percentile level) and
    that level. The music bed, mixed well under the voice, stays out of it."""
    if env_db.size == 0:
        return Span(0.0, 0.0), -120.0
    level = float(np.percentile(env_db, 95))
    loud = np.flatnonzero(env_db > level - drop_db)
    if loud.size == 0 or level < -60:
        return Span(0.0, 0.0), level
    return Span(loud[0] * hop, (loud[-1] + 1) * hop), level


def longest_silence(env_db: np.ndarray, span: Span, level: float, drop_db: float,
                    hop: float = ENVELOPE_HOP) -> tuple[float, float]:  # fmt: skip
    """(seconds, start) of the longest stretch inside ``span`` more than ``drop_db`` under ``level``."""
    a, b = int(span.start / hop), int(span.end / hop)
    quiet = env_db[a:b] < level - drop_db
    best, at = 0.0, span.start
    for s, e in runs(quiet):
        if (e - s) * hop > best:
            best, at = (e - s) * hop, (a + s) * hop
    return best, at


def voiced_share(env_db: np.ndarray, span: Span, level: float, drop_db: float, hop: float = ENVELOPE_HOP) -> float:
    """The share of ``span`` where the voice is heard (within ``drop_db`` of ``level``)."""
    a, b = int(span.start / hop), max(int(span.end / hop), int(span.start / hop) + 1)
    window = env_db[a:b]
    return float((window >= level - drop_db).mean()) if window.size else 0.0


def black_frames(frames: np.ndarray, *, pixel_max: int = 32, share: float = 0.98) -> np.ndarray:
    """Per frame: at least ``share`` of the pixels are darker than ``pixel_max`` (like ffmpeg blackdetect)."""
    if frames.shape[0] == 0:
        return np.zeros(0, bool)
    return np.asarray((frames[:, ::4, ::4] < pixel_max).mean(axis=(1, 2)) >= share)


def black_runs(frames: np.ndarray, fps: float) -> list[Span]:
    """Stretches of black frames."""
    return [Span(s / fps, e / fps) for s, e in runs(black_frames(frames))]


def motion(frames: np.ndarray, block: int = 8) -> np.ndarray:
    """For each frame, the largest change of a block's mean grey level since the frame before (the first frame:
    infinite). Block means ignore the encoder's noise (zero-mean inside a block, large again at every key frame
    of a frozen stretch) yet see a mouth opening or a slow zoom."""
    n = frames.shape[0]
    if n < 2:
        return np.full(n, np.inf)
    h, w = frames.shape[1] // block * block, frames.shape[2] // block * block
    means = frames[:, :h, :w].astype(np.float32).reshape(n, h // block, block, w // block, block).mean(axis=(2, 4))
    return np.concatenate([[np.inf], np.abs(np.diff(means, axis=0)).reshape(n - 1, -1).max(axis=1)])


def frozen_runs(frames: np.ndarray, fps: float, span: Span, *, max_diff: float = 0.7) -> list[Span]:
    """Stretches inside ``span`` where the picture does not change (no block changes by ``max_diff`` grey levels
    or more from a frame to the next; the demo's talking portraits never stay under it for 0.25 s)."""
    m = motion(frames)
    still = (m < max_diff) & ~black_frames(frames)  # a black stretch is the black check's finding
    out = []
    for s, e in runs(still):
        # a still run of k changed-nothing frames means k+1 identical frames: it lasts from s-1 to e
        start, end = max(s - 1, 0) / fps, e / fps
        start, end = max(start, span.start), min(end, span.end)
        if end > start:
            out.append(Span(start, end))
    return out


@cache
def _cascades() -> tuple[object, ...]:
    import cv2

    base = cv2.data.haarcascades  # type: ignore[attr-defined]
    names = ("frontalface_default", "frontalface_alt2", "profileface")
    return tuple(cv2.CascadeClassifier(f"{base}haarcascade_{n}.xml") for n in names)


def find_face(frame: np.ndarray) -> tuple[int, int, int, int] | None:
    """The largest face (x, y, w, h) found by OpenCV's Haar cascades in a grey frame, or None."""
    import cv2

    eq = cv2.equalizeHist(frame)
    min_side = max(24, frame.shape[1] // 12)
    best: tuple[int, int, int, int] | None = None
    for cascade in _cascades():
        found = cascade.detectMultiScale(eq, scaleFactor=1.1, minNeighbors=4, minSize=(min_side, min_side))  # type: ignore[attr-defined]
        for x, y, w, h in found:
            if best is None or w * h > best[2] * best[3]:
                best = (int(x), int(y), int(w), int(h))
        if best is not None:
            return best
    return None


def _template_found(frame: np.ndarray, ref: np.ndarray, box: tuple[int, int, int, int], min_score: float) -> bool:
    """Whether the face patch ``ref`` (found at ``box`` in another frame) is still near there in ``frame``."""
    import cv2

    x, y, w, h = box
    m = max(w, h) // 2
    x0, y0 = max(0, x - m), max(0, y - m)
    region = frame[y0 : min(frame.shape[0], y + h + m), x0 : min(frame.shape[1], x + w + m)]
    if region.shape[0] < ref.shape[0] or region.shape[1] < ref.shape[1] or float(region.std()) < 2.0:
        return False
    score = cv2.matchTemplate(region, ref, cv2.TM_CCOEFF_NORMED)
    return bool(float(score.max()) >= min_score)


def face_windows(big: np.ndarray, fps: float, span: Span, window: float = 2.0,
                 min_score: float = 0.5) -> tuple[float, float | None]:  # fmt: skip
    """Share of the ``window``-second stretches of ``span`` in which some sampled frame (``big``, ``fps`` frames
    a second) shows a face, and the time of the first stretch without one.

    A face counts when the face last found is still there (template match), else when a Haar cascade finds one:
    painted faces turned aside are missed by the cascades in some frames, and the cascades are slow.
    """
    if span.length <= 0 or big.shape[0] == 0:
        return 0.0, None
    edges = np.arange(span.start, span.end, window)
    ref: tuple[np.ndarray, tuple[int, int, int, int]] | None = None
    hits, first_missing = 0, None
    for t0 in edges:
        t1 = min(t0 + window, span.end)
        present = False
        for i in range(int(np.ceil(t0 * fps)), min(int(np.ceil(t1 * fps)), big.shape[0])):
            # the template first (cheap); the cascades only where it is lost
            if ref is not None and _template_found(big[i], ref[0], ref[1], min_score):
                present = True
                break
            box = find_face(big[i])
            if box is not None:
                x, y, w, h = box
                ref = (big[i][y : y + h, x : x + w].copy(), box)
                present = True
                break
        if present:
            hits += 1
        elif first_missing is None:
            first_missing = float(t0 + (t1 - t0) / 2)
    return hits / len(edges), first_missing


def opening_level(mono: np.ndarray, rate: int, fps: float, n: int) -> np.ndarray:
    """The voice's loudness per video frame, shaped like a mouth opening (dB above a gate, fast attack, slower
    release), so that it can be compared with what the lip-sync drew."""
    bounds = np.minimum(np.round(np.arange(n + 1) * rate / fps).astype(np.int64), mono.size)
    cs = np.concatenate([[0.0], np.cumsum(mono.astype(np.float64) ** 2)])
    counts = np.maximum(bounds[1:] - bounds[:-1], 1)
    rms = np.sqrt(np.maximum(cs[bounds[1:]] - cs[bounds[:-1]], 0) / counts)
    ref = float(np.percentile(rms, 95)) if rms.size else 0.0
    if ref <= 0:
        return np.zeros(n)
    db = 20 * np.log10(np.maximum(rms, 1e-9) / ref)
    level = np.clip((db + 26.0) / 26.0, 0.0, 1.0)
    env = np.empty(n)
    y = 0.0
    for i, x in enumerate(level):
        y += (0.65 if x > y else 0.35) * (x - y)
        env[i] = y
    return env


def _highpass(x: np.ndarray, fps: float, seconds: float = 0.6) -> np.ndarray:
    """``x`` minus its moving average (along the first axis): slow zooms and sways are taken out."""
    k = max(3, int(fps * seconds) | 1)
    c = np.cumsum(np.pad(x, [(k // 2 + 1, k // 2)] + [(0, 0)] * (x.ndim - 1), mode="edge"), axis=0)
    return np.asarray(x - (c[k:] - c[:-k]) / k)


@dataclass(frozen=True)
class Sync:
    offset_ms: float
    """Positive: the voice comes after the mouth."""
    correlation: float
    where: tuple[int, int]
    """(x, y) in the analysed frames of the region that moves with the voice."""


BLOCK = 6
"""The mouth is looked for in blocks of this many pixels of the analysed frames."""


def sync_offset(frames: np.ndarray, fps: float, mono: np.ndarray, rate: int, span: Span,
                max_lag: float = 0.5) -> Sync:  # fmt: skip
    """Offset between mouth motion and the voice.

    The voice's loudness is shaped like a mouth opening (:func:`opening_level`); every block of the picture is
    correlated (normalised, after a high-pass that removes slow zooms) with it at every lag within
    ±``max_lag``; the block that follows the voice best is the mouth (an open mouth is dark), and the lag of its
    best correlation, refined between frames with a parabola, is the offset. No face detector is needed.
    """
    n = frames.shape[0]
    a, b = max(int(span.start * fps), 0), min(int(span.end * fps), n)
    k = max(1, int(max_lag * fps))
    lo, hi = max(a, k), min(b, n - k)
    if hi - lo < 2 * fps:
        return Sync(0.0, 0.0, (0, 0))
    h, w = frames.shape[1] // BLOCK * BLOCK, frames.shape[2] // BLOCK * BLOCK
    blocks = frames[:, :h, :w].reshape(n, h // BLOCK, BLOCK, w // BLOCK, BLOCK).mean(axis=(2, 4))
    video = -_highpass(blocks.reshape(n, -1).astype(np.float64), fps)[lo:hi]
    video -= video.mean(axis=0)
    video /= np.maximum(np.linalg.norm(video, axis=0), 1e-9)
    voice = _highpass(opening_level(mono, rate, fps, n), fps)
    lags = np.arange(-k, k + 1)
    shifted = np.stack([voice[lo + lag : hi + lag] for lag in lags], axis=1)
    shifted -= shifted.mean(axis=0)
    shifted /= np.maximum(np.linalg.norm(shifted, axis=0), 1e-9)
    corr = video.T @ shifted  # blocks x lags
    best_block, j = np.unravel_index(int(np.argmax(corr)), corr.shape)
    row = corr[best_block]
    shift = float(lags[j])
    if 0 < j < lags.size - 1:
        c0, c1, c2 = row[j - 1], row[j], row[j + 1]
        den = c0 - 2 * c1 + c2
        if den < 0:
            shift += float(0.5 * (c0 - c2) / den)
    by, bx = divmod(int(best_block), w // BLOCK)
    return Sync(offset_ms=shift / fps * 1000.0, correlation=float(row[j]),
                where=(bx * BLOCK + BLOCK // 2, by * BLOCK + BLOCK // 2))  # fmt: skip


def clipped_share(stereo: np.ndarray, level: float = 0.999) -> float:
    """Share of samples at or beyond full scale."""
    if stereo.size == 0:
        return 0.0
    return float(np.mean(np.abs(stereo) >= level))
