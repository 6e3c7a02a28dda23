"""espeak-ng through ctypes, and MBROLA's diphone voices through Debian's espeak-ng.

* :class:`EspeakVoice` drives the ``libespeak-ng`` shipped by ``espeakng-loader`` (any language, robotic, hence
  ``degraded``) in synchronous mode; word timings come from espeak's WORD events.
* :class:`MbrolaVoice` drives Debian's ``libespeak-ng.so.1`` (package ``libespeak-ng1``, with its ``mb-*``
  voices) in a child process (:mod:`.espeak_lib`: one process holds only one ``libespeak-ng.so.1``); it hands
  espeak's phonemes and their exact durations to the ``mbrola`` program (packages ``mbrola`` and
  ``mbrola-fr1`` / ``mbrola-fr4``); the WORD events time the words the same way. The MBROLA
  voices may not be used commercially (their licence): see the README.

espeak-ng has process-wide state, so every use of the in-process copy goes through one module lock and it is
initialised once per process.
"""

from __future__ import annotations

import ctypes.util
import logging
import shutil
import threading
import time
from pathlib import Path

import numpy as np

from vivant.backends.local.voice.common import (
    SAMPLE_RATE,
    Measure,
    check_text,
    fill_timings,
    resample,
    speech_bounds,
    trimmer,
    word_spans,
    write_wav,
)
from vivant.backends.local.voice.espeak_lib import Espeak, speak_in_child
from vivant.errors import StepError
from vivant.roles import Gender, WordTiming
from vivant.speech import spoken_form

log = logging.getLogger(__name__)

_LOCK = threading.Lock()
_ENGINES: dict[str, Espeak] = {}


def _bundled_paths() -> tuple[str, str]:
    """(library, data folder) of the espeak-ng shipped by ``espeakng-loader``."""
    try:
        import espeakng_loader
    except ImportError:
        raise StepError("espeak-ng is not installed: the Python package 'espeakng-loader' is missing") from None
    try:
        return espeakng_loader.get_library_path(), espeakng_loader.get_data_path()
    except RuntimeError as e:
        raise StepError(f"espeak-ng data is missing: {e}") from e


def system_espeak_library() -> str | None:
    """Debian's ``libespeak-ng.so.1`` (the one that drives MBROLA), or None."""
    found = ctypes.util.find_library("espeak-ng")
    if found:
        return found
    for folder in ("/usr/lib/x86_64-linux-gnu", "/usr/lib/aarch64-linux-gnu", "/usr/lib", "/usr/local/lib"):
        path = Path(folder) / "libespeak-ng.so.1"
        if path.is_file():
            return str(path)
    return None


def _engine() -> Espeak:
    """The in-process espeak-ng, ``espeakng-loader``'s (call with :data:`_LOCK` held). Debian's never loads in
    this process: the first ``libespeak-ng.so.1`` loaded would serve both, with one data folder."""
    if "bundled" not in _ENGINES:
        _ENGINES["bundled"] = Espeak(*_bundled_paths())
    return _ENGINES["bundled"]


_SPEAKABLE = str.maketrans({"’": "'", "‘": "'", "ʼ": "'"})
"""One-to-one replacements applied before espeak reads the text (character positions must not move)."""


class EspeakVoice:
    """espeak-ng voice (``fr``, ``en-us``, ``fr+f3``...): any language, robotic, hence ``degraded``."""

    degraded = True
    engine = "espeak-ng"
    system = False
    volume = 100

    def __init__(self, voice: str = "fr", *, rate: int = 160) -> None:
        if not 80 <= rate <= 450:
            raise ValueError(f"espeak rate {rate} is outside 80..450 words per minute")
        self.voice = voice
        self.rate = rate
        self.name = f"local:{self.engine}:{self.voice_id()}"
        self.gender: Gender | None = "female" if "+f" in voice else "male"
        self.last = Measure()

    def voice_id(self) -> str:
        return self.voice

    @staticmethod
    def init_seconds() -> float:
        """Load and initialise the library now (once per process); return the time that took."""
        with _LOCK:
            return _engine().init_seconds

    def speak(self, text: str, language: str, out_wav: Path) -> list[WordTiming]:
        """Speak ``text`` with this espeak voice into ``out_wav``; return one timing per word of ``text``."""
        words = check_text(text)
        spoken = text.translate(_SPEAKABLE)
        said = spoken_form(spoken, language)  # espeak-ng says "Louis XIV" as "quatorze romain", "XVIIe" as "iks vi"
        spoken = said if len(said.split()) == len(words) else spoken
        t0 = time.perf_counter()
        if self.system:
            lib = system_espeak_library()
            if lib is None:
                raise StepError("Debian's espeak-ng library is missing (apt-get install espeak-ng)")
            rate, col = speak_in_child(lib, None, self.voice, spoken, self.rate, self.volume)
        else:
            with _LOCK:
                engine = _engine()
                engine.set_voice(self.voice)
                col = engine.synth(spoken, self.rate, self.volume)
                rate = engine.sample_rate
        raw = np.frombuffer(b"".join(col.pcm), dtype="<i2").astype(np.int16)
        if raw.size == 0:
            raise StepError(f"espeak-ng ({self.voice}) produced no audio for {text[:60]!r}")
        samples = resample(raw, rate)
        scale = SAMPLE_RATE / rate

        # Map each WORD event to the word (of the text spoken, one per input word) holding its first character.
        spans = word_spans(spoken)
        starts: list[float | None] = [None] * len(words)
        w = 0
        for pos, _length, sample in sorted(col.words, key=lambda e: (e[2], e[0])):
            char = pos - 1
            while w < len(spans) and spans[w][1] <= char:
                w += 1
            if w >= len(spans):
                break
            if spans[w][0] <= char and starts[w] is None:
                starts[w] = sample * scale / SAMPLE_RATE
        speech_start, speech_end = speech_bounds(samples)
        if starts and starts[0] is not None:
            speech_start = min(speech_start, starts[0])
        timings = fill_timings(
            words,
            starts,
            [None] * len(words),
            speech_start=speech_start,
            speech_end=speech_end,
            trim_end=trimmer(samples),
        )
        duration = write_wav(out_wav, samples)
        self.last = Measure(seconds_audio=duration, seconds_wall=time.perf_counter() - t0)
        log.info(
            "%s %s: %d words (%d word events), %.1f s of audio in %.2f s",
            self.engine,
            self.voice,
            len(words),
            len(col.words),
            duration,
            self.last.seconds_wall,
        )
        return timings


MBROLA_GENDERS: dict[str, Gender] = {"fr1": "male", "fr2": "male", "fr3": "male", "fr4": "female",
                                     "fr5": "male", "fr6": "male", "fr7": "male",
                                     "us1": "female", "us2": "male", "us3": "male", "en1": "male"}  # fmt: skip
"""The MBROLA diphone voices espeak-ng knows as ``mb-NAME``, with the sitter they fit."""


def mbrola_installed(name: str) -> bool:
    """Whether the ``mbrola`` program, the voice ``name`` (e.g. ``fr1``) and Debian's espeak-ng are installed."""
    return (
        shutil.which("mbrola") is not None
        and any(Path(d, name, name).is_file() for d in ("/usr/share/mbrola", "/usr/local/share/mbrola"))
        and system_espeak_library() is not None
    )


class MbrolaVoice(EspeakVoice):
    """An MBROLA diphone voice (``fr1`` male, ``fr4`` female...) spoken through Debian's espeak-ng (in a child
    process): intelligible French. Word times from Whisper on the audio (espeak's WORD events drift from what
    MBROLA plays: up to 1 s late on a demo narration, which the subtitles showed), else from those events."""

    degraded = False
    engine = "mbrola"
    system = True
    volume = 70
    """MBROLA clips ("Saturation") at espeak's full volume."""

    def __init__(self, name: str = "fr1", *, rate: int = 150) -> None:
        super().__init__(f"mb-{name}", rate=rate)
        self.gender = MBROLA_GENDERS.get(name)

    def voice_id(self) -> str:
        return self.voice.removeprefix("mb-")

    def speak(self, text: str, language: str, out_wav: Path) -> list[WordTiming]:
        from vivant.backends.local.voice.common import read_wav
        from vivant.backends.local.voice.heard import heard_timings

        events = super().speak(text, language, out_wav)
        heard, source = heard_timings(out_wav, [t.word for t in events], language, read_wav(out_wav))
        if source == "estimate":  # Whisper missing or deaf to it: espeak's events beat an estimate
            self.timing_source = "engine"
            return events
        self.timing_source = source
        return heard
