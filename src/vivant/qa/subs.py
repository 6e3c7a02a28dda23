"""The subtitles as shown (an ASS file: step 7's, or ``--subtitles``) against the words Whisper hears.

Step 7 writes one Dialogue event per spoken word, that word highlighted (``{\\1c&H..&}word{\\r}``); a word is
*shown* from the start of its highlighted event. Another ASS file (no highlight) shows each event's words from
the event's start.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from vivant.errors import InputError
from vivant.qa.speech import matched_times
from vivant.roles import WordTiming


@dataclass(frozen=True)
class Event:
    start: float
    end: float
    text: str
    highlighted: str


_TIME = re.compile(r"(\d+):(\d{2}):(\d{2})[.](\d{2})")
_HL = re.compile(r"\{\\1c[^}]*\}(.*?)\{\\r\}")


def _seconds(stamp: str) -> float:
    m = _TIME.fullmatch(stamp.strip())
    if not m:
        raise ValueError(stamp)
    h, mi, s, cs = (int(g) for g in m.groups())
    return h * 3600 + mi * 60 + s + cs / 100


def read_ass(path: Path) -> list[Event]:
    """The Dialogue events of an ASS file; :class:`InputError` when it cannot be read."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as e:
        raise InputError(f"{path}: cannot read the subtitles: {e}") from None
    events = []
    for line in text.splitlines():
        if not line.startswith("Dialogue:"):
            continue
        fields = line.partition(":")[2].split(",", 9)
        if len(fields) < 10:
            continue
        try:
            start, end = _seconds(fields[1]), _seconds(fields[2])
        except ValueError:
            continue
        raw = fields[9]
        hl = _HL.search(raw)
        plain = re.sub(r"\{[^}]*\}", "", raw).replace("\\N", " ")
        events.append(Event(start, end, plain.strip(), hl.group(1).strip() if hl else ""))
    if not events:
        raise InputError(f"{path}: no Dialogue event in the subtitles")
    return events


def shown_words(events: list[Event]) -> list[WordTiming]:
    """Each word with the time it is shown (highlighted, or its event's start)."""
    out: list[WordTiming] = []
    previous = ""
    for e in events:
        if e.highlighted:
            out.append(WordTiming(word=e.highlighted, start=e.start, end=e.end))
        elif e.text != previous:
            out += [WordTiming(word=w, start=e.start, end=e.end) for w in e.text.split()]
        previous = e.text
    return out


@dataclass(frozen=True)
class SubtitleTiming:
    coverage: float
    """Share of heard words whose middle falls inside a subtitle event."""
    lead: float
    """Seconds a word is shown before it is heard (90th percentile over matched words; negative: after)."""
    lag: float
    """Seconds a word is shown after it is heard (90th percentile)."""
    worst_at: float
    matched: int


def compare(events: list[Event], heard: list[WordTiming], slack: float = 0.15) -> SubtitleTiming:
    spans = np.array([(e.start - slack, e.end + slack) for e in events])
    covered = 0
    for w in heard:
        mid = (w.start + w.end) / 2
        if np.any((spans[:, 0] <= mid) & (mid <= spans[:, 1])):
            covered += 1
    coverage = covered / len(heard) if heard else 1.0
    shown = shown_words(events)
    pairs = matched_times([w.word for w in shown], heard)
    if not pairs:
        return SubtitleTiming(coverage, 0.0, 0.0, events[0].start, 0)
    leads = np.array([h.start - shown[i].start for i, h in pairs])
    worst = int(np.argmax(np.abs(leads)))
    return SubtitleTiming(
        coverage=coverage,
        lead=float(np.percentile(leads, 90)),
        lag=float(np.percentile(-leads, 90)),
        worst_at=shown[pairs[worst][0]].start,
        matched=len(pairs),
    )
