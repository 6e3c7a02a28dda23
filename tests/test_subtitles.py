"""The word-by-word ASS subtitles (pure text, no ffmpeg)."""

from __future__ import annotations

import itertools
import re

import pytest

from vivant.roles import WordTiming
from vivant.subtitles import YELLOW, build_ass, escape_ass_text, group_lines, layout

W, H = 1080, 1920


def timed(text: str, step: float = 0.4, gap: float = 0.05) -> list[WordTiming]:
    return [WordTiming(word=w, start=i * step, end=i * step + step - gap) for i, w in enumerate(text.split())]


def dialogues(ass: str) -> list[tuple[float, float, str]]:
    out = []
    for line in ass.splitlines():
        if line.startswith("Dialogue:"):
            fields = line.split(",", 9)
            out.append((_seconds(fields[1]), _seconds(fields[2]), fields[9]))
    return out


def _seconds(stamp: str) -> float:
    h, m, s = stamp.split(":")
    return int(h) * 3600 + int(m) * 60 + float(s)


def plain(text: str) -> str:
    return re.sub(r"\{\\[^}]*\}", "", text)


def highlighted(text: str) -> str:
    found: list[str] = re.findall(r"\{\\1c&H00FFFF&\}(.*?)\{\\r\}", text)
    assert len(found) == 1, text
    return found[0]


SENTENCE = (
    "Voici Madame Cézanne en bleu, peinte vers 1886 par Paul Cézanne. Elle nous regarde, calme, "
    "presque immobile, et pourtant tout bouge autour d'elle : le mur, la robe, la lumière."
)


def test_lines_hold_two_to_four_words() -> None:
    words = timed(SENTENCE)
    lines = group_lines(words)
    assert lines[0][0] == 0 and lines[-1][1] == len(words)
    assert all(a[1] == b[0] for a, b in itertools.pairwise(lines))
    assert all(2 <= j - i <= 4 for i, j in lines)


@pytest.mark.parametrize("n", range(2, 12))
def test_never_a_single_word_line(n: int) -> None:
    words = timed(" ".join(f"mot{k}" for k in range(n)))
    assert all(j - i >= 2 for i, j in group_lines(words))


def test_single_word_text_is_one_line() -> None:
    assert group_lines(timed("Bonjour.")) == [(0, 1)]
    assert group_lines([]) == []


def test_breaks_after_punctuation() -> None:
    words = timed("Elle sourit. Puis elle regarde le peintre")
    ends = {j for _, j in group_lines(words)}
    assert 2 in ends  # a line ends on "sourit."


def test_lines_stay_short_in_characters() -> None:
    words = timed(SENTENCE)
    limit = layout(W, H).max_chars
    for i, j in group_lines(words, max_chars=limit):
        text = " ".join(w.word for w in words[i:j])
        assert len(text) <= limit + 6 or j - i == 2, text


def test_one_event_per_word_with_the_word_highlighted() -> None:
    words = timed(SENTENCE)
    events = dialogues(build_ass(words, width=W, height=H, offset=0.0, font="DejaVu Sans"))
    assert len(events) == len(words)
    assert [highlighted(text) for _, _, text in events] == [w.word for w in words]
    # Every event shows the whole line, and the line is one of the groups.
    lines = [" ".join(w.word for w in words[i:j]) for i, j in group_lines(words, max_chars=layout(W, H).max_chars)]
    assert {plain(text) for _, _, text in events} == set(lines)


def test_events_follow_the_voice_shifted_by_offset() -> None:
    words = timed("un deux trois quatre cinq six sept", step=0.5)
    events = dialogues(build_ass(words, width=W, height=H, offset=5.0, font="DejaVu Sans"))
    for (start, end, _), w in zip(events, words, strict=True):
        assert start == pytest.approx(w.start + 5.0, abs=0.011)
        assert end > start
    # Contiguous and never overlapping: one line on screen at a time.
    for (_, end, _), (start, _, _) in itertools.pairwise(events):
        assert end <= start + 1e-9
    assert events[-1][1] >= words[-1].end + 5.0


def test_escapes_braces_and_backslashes() -> None:
    assert escape_ass_text("{x}") == "\\{x\\}"
    escaped = escape_ass_text("a\\Nb")
    assert "\\N" not in escaped and escaped.startswith("a\\")
    words = [WordTiming(word="{\\b1}gras", start=0, end=0.5), WordTiming(word="C\\N", start=0.5, end=1.0)]
    ass = build_ass(words, width=W, height=H, offset=0.0, font="DejaVu Sans")
    for _, _, text in dialogues(ass):
        without_tags = re.sub(r"\{\\1c&H00FFFF&\}|\{\\r\}", "", text)
        assert re.search(r"(?<!\\)\{", without_tags) is None, text
        assert "\\N" not in text and "\\b1" not in without_tags.replace("\\\u2060b1", "")


def test_style_margins_font_and_resolution() -> None:
    ass = build_ass(timed("deux mots"), width=W, height=H, offset=0, font="DejaVu Sans")
    assert "PlayResX: 1080" in ass and "PlayResY: 1920" in ass
    style = next(line for line in ass.splitlines() if line.startswith("Style:")).split(",")
    assert style[1] == "DejaVu Sans"
    size, primary, outline_colour, bold = int(style[2]), style[3], style[5], style[7]
    assert 0.035 * H <= size <= 0.045 * H
    assert primary == "&H00FFFFFF" and outline_colour == "&H00000000" and bold == "-1"
    outline, shadow, align = float(style[16]), float(style[17]), int(style[18])
    margin_l, margin_r, margin_v = int(style[19]), int(style[20]), int(style[21])
    assert outline >= 4 and shadow >= 1 and align == 2
    assert margin_l >= 0.12 * W and margin_r >= 0.12 * W
    assert 0.30 * H <= margin_v <= 0.35 * H
    assert primary != YELLOW


def test_font_name_cannot_break_the_style_line() -> None:
    ass = build_ass(timed("deux mots"), width=W, height=H, offset=0, font="Evil, Font")
    style = next(line for line in ass.splitlines() if line.startswith("Style:"))
    assert len(style.split(",")) == 23


def test_bad_words_per_line() -> None:
    with pytest.raises(ValueError):
        group_lines(timed("a b c"), words_per_line=(3, 2))
