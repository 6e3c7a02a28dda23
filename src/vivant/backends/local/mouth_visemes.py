"""Mouth shapes over time from step 2's word timings (letters spread over each word's span).

A word's letters (accents folded, a few digraphs merged: ``ou``, ``oo``, ``au``, ``eau``, ``ai``, ``ei``,
``ch``, ``sh``, ``ph``, ``th``, ``qu``) become visemes, each a mouth opening in [0, 1] and a spread in
[-1 (round), 1 (wide)]: *open* (a), *oh* (o: open and round), *wide* (e, i, y), *round* (u, w, ou),
*closed* (m, b, p: lips pressed), *teeth* (f, v) and *other* consonants (slightly parted). The letters
share the word's time, vowels longer than consonants; silences between words are *rest* (closed, neutral).
Keys at the letters' centres are interpolated per video frame, lightly smoothed (coarticulation), and every
m/b/p closes the lips on the frame nearest it.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from vivant.roles import WordTiming

# viseme -> (opening, spread)
SHAPES: dict[str, tuple[float, float]] = {
    "rest": (0.0, 0.0),
    "open": (1.0, 0.15),
    "wide": (0.5, 0.85),
    "oh": (0.75, -0.5),  # o: open and rounded
    "round": (0.45, -0.9),  # u, w, ou: rounded, less open
    "closed": (0.0, -0.05),
    "teeth": (0.12, 0.2),
    "other": (0.28, 0.1),
    "hush": (0.22, -0.6),  # ch, sh, j: pouted
}
_DIGRAPHS = {"eau": "round", "ou": "round", "oo": "round", "au": "round", "ai": "wide", "ei": "wide",
             "ch": "hush", "sh": "hush", "ph": "teeth", "th": "other", "qu": "other"}  # fmt: skip
_LETTERS = {
    **dict.fromkeys("a", "open"),
    **dict.fromkeys("eiy", "wide"),
    **dict.fromkeys("o", "oh"),
    **dict.fromkeys("uw", "round"),
    **dict.fromkeys("mbp", "closed"),
    **dict.fromkeys("fv", "teeth"),
    **dict.fromkeys("j", "hush"),
}
_VOWELS = {"open", "oh", "wide", "round"}
_WEIGHT = {"open": 1.7, "oh": 1.7, "wide": 1.5, "round": 1.6, "closed": 1.0, "teeth": 0.9, "other": 0.8, "hush": 1.0}
GAP_REST = 0.12  # seconds of silence between two words that bring the mouth back to rest


def _fold(word: str) -> str:
    decomposed = unicodedata.normalize("NFKD", word.lower())
    return "".join(c for c in decomposed if c.isalpha() and not unicodedata.combining(c))


def word_visemes(word: str) -> list[tuple[str, float]]:
    """The visemes of one written word with their relative durations (an empty list for no letters).

    Digits are spoken as syllables ("1665": "sixteen sixty-five"), so each one opens and closes the mouth once."""
    s = _fold("".join("ta" if c.isdigit() else c for c in word))
    out: list[tuple[str, float]] = []
    i = 0
    while i < len(s):
        for size in (3, 2):
            if s[i : i + size] in _DIGRAPHS:
                kind, i = _DIGRAPHS[s[i : i + size]], i + size
                break
        else:
            c = s[i]
            i += 1
            if out and i >= 2 and s[i - 2] == c:
                continue  # a doubled letter is one sound
            kind = _LETTERS.get(c, "other")
            if c == "e" and i == len(s) and len(s) > 2 and out and out[-1][0] not in _VOWELS:
                out.append((kind, 0.35))  # a final silent e: barely there
                continue
        out.append((kind, _WEIGHT[kind]))
    return out


@dataclass(frozen=True)
class MouthTrack:
    """Per video frame: the wanted opening in [0, 1], the spread in [-1, 1] and the viseme."""

    opening: np.ndarray
    spread: np.ndarray
    viseme: list[str]


def mouth_track(words: Sequence[WordTiming], n: int, fps: int, loudness: np.ndarray | None = None) -> MouthTrack:
    """Visemes per frame for ``n`` frames at ``fps``. ``loudness`` (per frame, in [0, 1]) shades the opening
    a little (0.75 to 1), so louder syllables open wider; it never opens a closed or silent mouth."""
    times = np.arange(n) / fps
    key_t: list[float] = [0.0]
    key_o: list[float] = [0.0]
    key_s: list[float] = [0.0]
    closures: list[float] = []
    label = np.array(["join"] * n, dtype=object)  # short pauses between words: the mouth passes through
    prev_end = -1.0  # the lead-in silence counts as a pause
    for w in sorted(words, key=lambda w: w.start):
        start, end = float(w.start), float(max(w.end, w.start))
        units = word_visemes(w.word)
        if not units or end - start < 1e-3:
            continue
        if start - prev_end > GAP_REST:  # a pause: rest just after the last word and just before this one
            label[(times >= prev_end + 0.05) & (times <= start - 0.04)] = "rest"
            for t in (prev_end + 0.05, start - 0.04):
                key_t.append(t)
                key_o.append(0.0)
                key_s.append(0.0)
        total = sum(d for _, d in units)
        t0 = start
        for kind, d in units:
            t1 = t0 + (end - start) * d / total
            centre = 0.5 * (t0 + t1)
            o, s = SHAPES[kind]
            key_t.append(centre)
            key_o.append(o)
            key_s.append(s)
            if kind == "closed":
                closures.append(centre)
            label[(times >= t0) & (times < t1)] = kind
            t0 = t1
        prev_end = end
    label[times >= prev_end + 0.05] = "rest"
    key_t.append(prev_end + 0.05)
    key_o.append(0.0)
    key_s.append(0.0)
    order = np.argsort(np.asarray(key_t), kind="stable")
    kt = np.asarray(key_t)[order]
    opening = np.interp(times, kt, np.asarray(key_o)[order])
    spread = np.interp(times, kt, np.asarray(key_s)[order])
    if n >= 3:  # coarticulation: a short blur
        kernel = np.array([0.25, 0.5, 0.25])
        opening = np.convolve(np.pad(opening, 1, mode="edge"), kernel, mode="valid")
        spread = np.convolve(np.pad(spread, 1, mode="edge"), kernel, mode="valid")
    if loudness is not None and len(loudness) == n:
        opening = opening * (0.75 + 0.25 * np.clip(loudness, 0.0, 1.0))
    opening[label == "rest"] = 0.0  # silences are silent
    for c in closures:  # the lips meet on every m, b, p
        i = round(c * fps)
        if 0 <= i < n:
            opening[i] = 0.0
            label[i] = "closed"
            for j in (i - 1, i + 1):
                if 0 <= j < n:
                    opening[j] *= 0.45
    return MouthTrack(
        opening=np.clip(opening, 0.0, 1.0).astype(np.float32),
        spread=np.clip(spread, -1.0, 1.0).astype(np.float32),
        viseme=[str(x) for x in label],
    )
