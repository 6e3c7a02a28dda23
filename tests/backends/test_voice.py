"""The local voices: piper (English) and espeak-ng (French, and English) on real ~40-word narrations."""

from __future__ import annotations

import wave
from pathlib import Path

import numpy as np
import pytest

from vivant.backends.local.voice import (
    SAMPLE_RATE,
    TAIL_SILENCE,
    EspeakVoice,
    LocalVoice,
    PiperVoice,
    fill_timings,
)
from vivant.config import VoiceSettings
from vivant.errors import StepError
from vivant.roles import Voice, WordTiming

EN = (
    "Look closely at this woman’s calm gaze. In 1787, Élisabeth Vigée Le Brun painted the queen with her "
    "children, hoping to soften a hostile public. Did it work? Critics called her portraits "
    "“too flattering,” yet Paris queued for hours to see them. Isn't that 'strange'?"
)
FR = (
    "Regardez bien ce regard tranquille. En 1787, Élisabeth Vigée Le Brun peint la reine entourée de ses "
    "enfants, pour adoucir l’opinion publique. Est-ce que cela a fonctionné ? Les critiques jugent ses "
    "portraits « trop flatteurs », mais tout Paris fait la queue pour les voir. C'est l'été d’une reine."
)


def read_wav(path: Path) -> np.ndarray:
    with wave.open(str(path), "rb") as w:
        assert w.getnchannels() == 1
        assert w.getsampwidth() == 2
        assert w.getframerate() == SAMPLE_RATE
        assert w.getcomptype() == "NONE"
        data = w.readframes(w.getnframes())
    return np.frombuffer(data, dtype="<i2")


def check_narration(path: Path, text: str, timings: list[WordTiming]) -> float:
    """Common checks; return the duration in seconds."""
    samples = read_wav(path)
    duration = len(samples) / SAMPLE_RATE
    assert 8.0 <= duration <= 25.0, duration
    # Not silent, and ends with the tail of silence.
    rms = float(np.sqrt(np.mean(samples.astype(np.float64) ** 2)))
    assert rms > 500, rms
    tail = samples[-int(TAIL_SILENCE * SAMPLE_RATE * 0.9) :]
    assert np.abs(tail).max() == 0
    # One timing per word of the text, in order, same words.
    words = text.split()
    assert [t.word for t in timings] == words
    prev_start = prev_end = 0.0
    for t in timings:
        assert 0.0 <= t.start <= t.end <= duration - TAIL_SILENCE + 0.01, t
        assert t.start >= prev_start and t.start >= prev_end - 1e-9, t
        prev_start, prev_end = t.start, t.end
    # Words with letters last a little, and speech covers most of the audio.
    spoken = [t for t in timings if any(c.isalnum() for c in t.word)]
    assert sum(t.end - t.start > 0.03 for t in spoken) >= 0.9 * len(spoken)
    assert timings[-1].end > 0.8 * (duration - TAIL_SILENCE)
    assert timings[0].start < 1.0
    return duration


def test_text_sizes() -> None:
    assert 38 <= len(EN.split()) <= 50
    assert 38 <= len(FR.split()) <= 50


# -- piper ---------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def piper() -> PiperVoice:
    return PiperVoice()


def test_piper_english(piper: PiperVoice, tmp_path: Path) -> None:
    assert isinstance(piper, Voice)
    assert piper.name == "local:piper:en_US-joe-medium"
    assert piper.degraded is False
    out = tmp_path / "en.wav"
    timings = piper.speak(EN, "en", out)
    duration = check_narration(out, EN, timings)
    by_word = {t.word: t for t in timings}
    # "1787," is spoken as four words: it must take much longer than "In".
    assert by_word["1787,"].end - by_word["1787,"].start > 3 * (by_word["In"].end - by_word["In"].start)
    # The sentence pause after "gaze." is not given to a word.
    assert by_word["In"].start - by_word["gaze."].end > 0.1
    assert piper.load_seconds is not None
    assert piper.last.seconds_audio == pytest.approx(duration)


def test_piper_loads_once(piper: PiperVoice, tmp_path: Path) -> None:
    piper.speak("Hello there.", "en", tmp_path / "a.wav")
    model = piper._model
    piper.speak("Hello again.", "en", tmp_path / "b.wav")
    assert model is not None and piper._model is model


def test_piper_missing_voice(tmp_path: Path) -> None:
    with pytest.raises(StepError, match="en_GB-nobody-low"):
        PiperVoice("en_GB-nobody-low").speak("Hello.", "en", tmp_path / "x.wav")


# -- espeak-ng -----------------------------------------------------------------------------------------------


def test_espeak_french(tmp_path: Path) -> None:
    voice = EspeakVoice("fr", rate=160)
    assert isinstance(voice, Voice)
    assert voice.name == "local:espeak-ng:fr"
    assert voice.degraded is True
    out = tmp_path / "fr.wav"
    timings = voice.speak(FR, "fr", out)
    check_narration(out, FR, timings)
    by_word = {t.word: t for t in timings}
    # Punctuation-only tokens get an empty timing; elided words still get time.
    assert by_word["«"].start == by_word["«"].end == by_word["trop"].start
    assert by_word["?"].end - by_word["?"].start == 0
    assert by_word["l’opinion"].end - by_word["l’opinion"].start > 0.1


def test_espeak_switches_voices(tmp_path: Path) -> None:
    fr, en = EspeakVoice("fr"), EspeakVoice("en-us")
    t1 = fr.speak(FR, "fr", tmp_path / "fr1.wav")
    t2 = en.speak(EN, "en", tmp_path / "en.wav")
    t3 = fr.speak(FR, "fr", tmp_path / "fr2.wav")
    check_narration(tmp_path / "en.wav", EN, t2)
    a, b = read_wav(tmp_path / "fr1.wav"), read_wav(tmp_path / "fr2.wav")
    # Back to French: the same audio and timings as before English (espeak is deterministic up to a few
    # samples of state carried between calls).
    assert abs(len(a) - len(b)) < 0.001 * len(a)
    assert spectrum_similarity(a, b) > 0.99
    assert max(abs(x.start - y.start) for x, y in zip(t1, t3, strict=True)) < 0.02
    # ... which the English voice would not give for the same French text.
    t4 = en.speak(FR, "fr", tmp_path / "fr-by-en.wav")
    assert max(abs(x.start - y.start) for x, y in zip(t1, t4, strict=True)) > 0.2


def spectrum_similarity(a: np.ndarray, b: np.ndarray) -> float:
    """Correlation of the mean magnitude spectra (espeak's waveform phase varies from call to call)."""
    n = min(len(a), len(b)) // 1024 * 1024

    def spec(x: np.ndarray) -> np.ndarray:
        return np.abs(np.fft.rfft(x[:n].astype(float).reshape(-1, 1024), axis=1)).mean(axis=0)

    return float(np.corrcoef(spec(a), spec(b))[0, 1])


def test_espeak_rate(tmp_path: Path) -> None:
    text = " ".join(FR.split()[:15])
    slow = EspeakVoice("fr", rate=120)
    fast = EspeakVoice("fr", rate=260)
    slow.speak(text, "fr", tmp_path / "slow.wav")
    fast.speak(text, "fr", tmp_path / "fast.wav")
    assert len(read_wav(tmp_path / "fast.wav")) < 0.75 * len(read_wav(tmp_path / "slow.wav"))


def test_espeak_unknown_voice(tmp_path: Path) -> None:
    with pytest.raises(StepError, match="no voice 'xx-nowhere'"):
        EspeakVoice("xx-nowhere").speak("Bonjour.", "fr", tmp_path / "x.wav")
    # The engine is still usable afterwards.
    EspeakVoice("fr").speak("Bonjour à tous.", "fr", tmp_path / "ok.wav")
    assert read_wav(tmp_path / "ok.wav").size > 0


@pytest.mark.parametrize("text", ["", "   \n\t", "… ?"])
def test_empty_text(text: str, tmp_path: Path) -> None:
    with pytest.raises(StepError):
        EspeakVoice("fr").speak(text, "fr", tmp_path / "x.wav")
    with pytest.raises(StepError):
        PiperVoice().speak(text, "en", tmp_path / "x.wav")
    assert not (tmp_path / "x.wav").exists()


# -- the role ------------------------------------------------------------------------------------------------


def test_local_voice_routes_languages(tmp_path: Path) -> None:
    local = LocalVoice(VoiceSettings())
    assert isinstance(local, Voice)
    assert local.voice_for("en", "male").name == "local:piper:en_US-joe-medium"
    assert local.voice_for("de").name == "local:espeak-ng:de"  # no list for German: the espeak-ng fallback
    assert local.degraded_for("en", "male") is False
    assert local.degraded_for("de") is True
    assert local.voice_for("fr") is local.voice_for("fr")
    timings = local.speak("Bonjour, je suis un tableau.", "fr", tmp_path / "fr.wav")
    assert [t.word for t in timings] == ["Bonjour,", "je", "suis", "un", "tableau."]


# -- timing fill-in ------------------------------------------------------------------------------------------


def test_fill_timings_interpolates_missing_words() -> None:
    words = ["«", "one", "two", "three", "four", "»."]
    starts = [None, 0.0, None, 2.0, 1.0, None]  # "two" missing, "four" goes backwards
    timings = fill_timings(words, starts, [None] * 6, speech_start=0.0, speech_end=4.0, trim_end=None)
    assert [t.word for t in timings] == words
    s = [t.start for t in timings]
    assert s == sorted(s)
    assert timings[0].start == timings[0].end == timings[1].start
    assert 0.0 < timings[2].start < 2.0
    assert timings[3].start == 2.0 and 2.0 < timings[4].start < 4.0
    assert timings[5].start == timings[5].end == timings[4].end
