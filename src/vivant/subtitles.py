"""Word-by-word karaoke subtitles as an ASS script (pure text; the final render burns it in with libass).

The words are grouped into short lines of 2 to 4 words (:func:`group_lines`), and each line is shown with one
Dialogue event per spoken word in which that word is highlighted, so the highlight follows the voice. The
style keeps the text in the lower middle of the frame, clear of the buttons that TikTok, Shorts and Reels draw
on the right side and of the caption they draw at the bottom.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from vivant.roles import WordTiming

WHITE = "&H00FFFFFF"
BLACK = "&H00000000"
YELLOW = "&H0000FFFF"
"""ASS colours are &HAABBGGRR (alpha 00 = opaque)."""
SHADOW = "&H78000000"

MARGIN_V_FRACTION = 0.32
"""Bottom margin: the subtitles' lowest line sits about a third of the height above the bottom edge."""
MARGIN_H_FRACTION = 0.13
"""Side margins, wide enough to stay clear of the platforms' right-hand buttons."""
FONT_SIZE_FRACTION = 0.04
CHAR_WIDTH_EM = 0.62
"""Average advance of a bold DejaVu Sans character, in ems (to estimate a line's width)."""

_STRONG_PUNCT = (".", "!", "?", "…", ":", ";")
_WEAK_PUNCT = (",", "—", "–", ")", "»", '"', "”")
_CLOSERS = "»\"”’')]"


@dataclass(frozen=True)
class Layout:
    """Pixel sizes of the subtitle style for one frame size."""

    font_size: int
    margin_v: int
    margin_h: int
    outline: int
    shadow: int
    max_chars: int


def layout(width: int, height: int) -> Layout:
    font_size = max(8, round(FONT_SIZE_FRACTION * height))
    margin_h = round(MARGIN_H_FRACTION * width)
    usable = width - 2 * margin_h
    return Layout(
        font_size=font_size,
        margin_v=round(MARGIN_V_FRACTION * height),
        margin_h=margin_h,
        outline=max(1, round(font_size * 0.08)),
        shadow=max(1, round(font_size * 0.04)),
        max_chars=max(8, int(usable / (CHAR_WIDTH_EM * font_size))),
    )


def escape_ass_text(text: str) -> str:
    """Make ``text`` literal in an ASS Dialogue line: no override blocks, no ``\\N``-style escapes."""
    text = " ".join(text.split())
    # A backslash followed by a word joiner can no longer start \N, \n or \h; libass reads \{ and \} as braces.
    return text.replace("\\", "\\\u2060").replace("{", "\\{").replace("}", "\\}")


def _ends_with(word: str, marks: tuple[str, ...]) -> bool:
    core = word.rstrip(_CLOSERS) or word
    return core.endswith(marks) or word.endswith(marks)


def group_lines(
    words: Sequence[WordTiming],
    *,
    words_per_line: tuple[int, int] = (2, 4),
    max_chars: int = 16,
    pause: float = 0.6,
) -> list[tuple[int, int]]:
    """Split ``words`` into lines; return (start, end) index pairs, end exclusive.

    Lines hold ``words_per_line`` words (never a single word unless the text is one word), are kept under
    ``max_chars`` characters when possible, and break after punctuation and at pauses longer than ``pause``
    seconds rather than inside a phrase. Chosen by dynamic programming over penalties.
    """
    lo, hi = words_per_line
    if lo < 1 or hi < lo:
        raise ValueError(f"words_per_line must be (min, max) with 1 <= min <= max, not {words_per_line}")
    n = len(words)
    if n == 0:
        return []
    texts = [w.word for w in words]

    def cost(i: int, j: int) -> float:
        k = j - i
        c = 10.0
        if k < lo and n >= lo:
            c += 1000.0
        chars = sum(len(t) for t in texts[i:j]) + k - 1
        c += 8.0 * max(0, chars - max_chars)
        for m in range(i, j - 1):
            if _ends_with(texts[m], _STRONG_PUNCT):
                c += 60.0
            elif _ends_with(texts[m], _WEAK_PUNCT):
                c += 25.0
            if words[m + 1].start - words[m].end > pause:
                c += 40.0
        return c

    inf = float("inf")
    best = [inf] * (n + 1)
    back = [0] * (n + 1)
    best[0] = 0.0
    for j in range(1, n + 1):
        for k in range(1, min(hi, j) + 1):
            i = j - k
            if best[i] == inf:
                continue
            total = best[i] + cost(i, j)
            if total < best[j]:
                best[j], back[j] = total, i
    lines: list[tuple[int, int]] = []
    j = n
    while j > 0:
        lines.append((back[j], j))
        j = back[j]
    lines.reverse()
    return lines


def _timestamp(cs: int) -> str:
    h, rest = divmod(max(0, cs), 360000)
    m, rest = divmod(rest, 6000)
    s, c = divmod(rest, 100)
    return f"{h}:{m:02d}:{s:02d}.{c:02d}"


def build_ass(
    words: list[WordTiming],
    *,
    width: int,
    height: int,
    offset: float,
    font: str,
    words_per_line: tuple[int, int] = (2, 4),
    highlight: str = YELLOW,
    hold: float = 0.6,
) -> str:
    """The ASS script for ``words`` (times in seconds of the narration), shifted by ``offset`` seconds.

    One Dialogue event per word: its line, with that word in ``highlight`` (an ASS colour ``&H00BBGGRR``).
    The highlight of a word lasts until the next word starts; a line stays up ``hold`` seconds after its last
    word ends (or until the next line starts, if sooner; short gaps are bridged so the text does not flicker).
    """
    lay = layout(width, height)
    font = " ".join(font.replace(",", " ").split()) or "DejaVu Sans"
    hl = "&H" + highlight.removeprefix("&H")[-6:].upper() + "&"
    header = [
        "[Script Info]",
        "; Tableau Vivant word-by-word subtitles",
        "ScriptType: v4.00+",
        f"PlayResX: {width}",
        f"PlayResY: {height}",
        "WrapStyle: 0",
        "ScaledBorderAndShadow: yes",
        "YCbCr Matrix: TV.709",
        "",
        "[V4+ Styles]",
        "Format: Name, Fontname, Fontsize, PrimaryColour, SecondaryColour, OutlineColour, BackColour, "
        "Bold, Italic, Underline, StrikeOut, ScaleX, ScaleY, Spacing, Angle, BorderStyle, Outline, Shadow, "
        "Alignment, MarginL, MarginR, MarginV, Encoding",
        f"Style: Word,{font},{lay.font_size},{WHITE},{YELLOW},{BLACK},{SHADOW},-1,0,0,0,100,100,0,0,1,"
        f"{lay.outline},{lay.shadow},2,{lay.margin_h},{lay.margin_h},{lay.margin_v},1",
        "",
        "[Events]",
        "Format: Layer, Start, End, Style, Name, MarginL, MarginR, MarginV, Effect, Text",
    ]
    spoken = [w for w in words if w.word.strip()]
    lines = group_lines(spoken, words_per_line=words_per_line, max_chars=lay.max_chars)
    events: list[str] = []
    floor = 0  # centiseconds; boundaries never go back in time, so events never overlap
    for n, (i, j) in enumerate(lines):
        line_words = spoken[i:j]
        end = line_words[-1].end + hold
        if n + 1 < len(lines):
            next_start = spoken[lines[n + 1][0]].start
            end = next_start if next_start - line_words[-1].end < hold + 0.3 else min(end, next_start)
        seconds = [w.start for w in line_words] + [end]
        bounds: list[int] = []
        for s in seconds:
            floor = max(floor, round((s + offset) * 100))
            bounds.append(floor)
        texts = [escape_ass_text(w.word) for w in line_words]
        for k in range(len(line_words)):
            parts = [f"{{\\1c{hl}}}{t}{{\\r}}" if m == k else t for m, t in enumerate(texts)]
            events.append(
                f"Dialogue: 0,{_timestamp(bounds[k])},{_timestamp(bounds[k + 1])},Word,,0,0,0,,{' '.join(parts)}"
            )
    return "\n".join(header + events) + "\n"
