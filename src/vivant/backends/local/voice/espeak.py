"""espeak-ng through ctypes, and MBROLA's diphone voices through Debian's espeak-ng.

* :class:`EspeakVoice` drives the ``libespeak-ng`` shipped by ``espeakng-loader`` (any language, robotic, hence
  ``degraded``) in synchronous mode; word timings come from espeak's WORD events.
* :class:`MbrolaVoice` drives Debian's ``libespeak-ng.so.1`` (package ``libespeak-ng1``, with its ``mb-*``
  voices) which hands espeak's phonemes and their exact durations to the ``mbrola`` program (packages
  ``mbrola`` and ``mbrola-fr1`` / ``mbrola-fr4``); the WORD events time the words the same way. The MBROLA
  voices may not be used commercially (their licence): see the README.

espeak-ng has process-wide state, so every use goes through one module lock and each library is initialised
once per process.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging
import shutil
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

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
from vivant.errors import StepError
from vivant.roles import Gender, WordTiming

log = logging.getLogger(__name__)

_AUDIO_OUTPUT_SYNCHRONOUS = 2
_INITIALIZE_DONT_EXIT = 0x8000
_POS_CHARACTER = 1
_CHARS_UTF8 = 1
_EVENT_LIST_TERMINATED = 0
_EVENT_WORD = 1
_PARAM_RATE = 1
_PARAM_VOLUME = 2


class _EspeakEvent(ctypes.Structure):
    """``espeak_EVENT`` of speak_lib.h."""

    _fields_ = (
        ("type", ctypes.c_int),
        ("unique_identifier", ctypes.c_uint),
        ("text_position", ctypes.c_int),
        ("length", ctypes.c_int),
        ("audio_position", ctypes.c_int),
        ("sample", ctypes.c_int),
        ("user_data", ctypes.c_void_p),
        ("id", ctypes.c_char * 8),
    )


_SynthCallback = ctypes.CFUNCTYPE(
    ctypes.c_int, ctypes.POINTER(ctypes.c_short), ctypes.c_int, ctypes.POINTER(_EspeakEvent)
)


@dataclass
class _Collector:
    pcm: list[bytes]
    words: list[tuple[int, int, int]]
    """(text_position 1-based in characters, length, sample) of each WORD event."""


class _Espeak:
    """The process-wide espeak-ng library: loaded and initialised once; use only under :data:`_LOCK`."""

    def __init__(self, lib_path: str, data_path: str | None) -> None:
        try:
            lib = ctypes.CDLL(lib_path)
        except OSError as e:
            raise StepError(f"cannot load the espeak-ng library {lib_path}: {e}") from e
        lib.espeak_Initialize.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_char_p, ctypes.c_int]
        lib.espeak_Initialize.restype = ctypes.c_int
        lib.espeak_SetSynthCallback.argtypes = [_SynthCallback]
        lib.espeak_SetSynthCallback.restype = None
        lib.espeak_SetVoiceByName.argtypes = [ctypes.c_char_p]
        lib.espeak_SetVoiceByName.restype = ctypes.c_int
        lib.espeak_SetParameter.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_int]
        lib.espeak_SetParameter.restype = ctypes.c_int
        lib.espeak_Synth.argtypes = [
            ctypes.c_void_p,
            ctypes.c_size_t,
            ctypes.c_uint,
            ctypes.c_int,
            ctypes.c_uint,
            ctypes.c_uint,
            ctypes.POINTER(ctypes.c_uint),
            ctypes.c_void_p,
        ]
        lib.espeak_Synth.restype = ctypes.c_int
        lib.espeak_Synchronize.argtypes = []
        lib.espeak_Synchronize.restype = ctypes.c_int
        lib.espeak_ng_GetSampleRate.argtypes = []
        lib.espeak_ng_GetSampleRate.restype = ctypes.c_int
        t0 = time.perf_counter()
        path = data_path.encode() if data_path else None
        rate = lib.espeak_Initialize(_AUDIO_OUTPUT_SYNCHRONOUS, 0, path, _INITIALIZE_DONT_EXIT)
        if rate <= 0:
            where = data_path or "its default folder"
            raise StepError(f"espeak-ng failed to initialise with the data in {where} (code {rate})")
        self.lib = lib
        self.sample_rate = rate
        self.collector: _Collector | None = None
        self._callback = _SynthCallback(self._on_synth)  # kept referenced for the life of the process
        lib.espeak_SetSynthCallback(self._callback)
        self.voice: str | None = None
        self.init_seconds = time.perf_counter() - t0
        log.info("espeak-ng: initialised at %d Hz in %.3f s (%s)", rate, self.init_seconds, lib_path)

    def _on_synth(self, wav: Any, numsamples: int, events: Any) -> int:
        col = self.collector
        if col is None:
            return 1
        try:
            if numsamples > 0 and wav:
                col.pcm.append(ctypes.string_at(wav, numsamples * 2))
            i = 0
            while events[i].type != _EVENT_LIST_TERMINATED:
                ev = events[i]
                if ev.type == _EVENT_WORD:
                    col.words.append((ev.text_position, ev.length, ev.sample))
                i += 1
        except Exception:  # never let an exception cross the C boundary
            log.exception("espeak-ng: synth callback failed")
            return 1
        return 0

    def set_voice(self, voice: str) -> None:
        if voice == self.voice:
            return
        err = self.lib.espeak_SetVoiceByName(voice.encode())
        if err != 0:
            self.voice = None
            raise StepError(f"espeak-ng has no voice {voice!r} (error {err})")
        self.voice = voice
        self.sample_rate = self.lib.espeak_ng_GetSampleRate()  # MBROLA voices speak at their own rate

    def synth(self, text: str, rate: int, volume: int = 100) -> _Collector:
        err = self.lib.espeak_SetParameter(_PARAM_RATE, rate, 0) or self.lib.espeak_SetParameter(
            _PARAM_VOLUME, volume, 0
        )
        if err != 0:
            raise StepError(f"espeak-ng refused the rate {rate} (error {err})")
        data = text.encode("utf-8") + b"\0"
        buf = ctypes.create_string_buffer(data, len(data))
        self.collector = col = _Collector(pcm=[], words=[])
        try:
            err = self.lib.espeak_Synth(buf, len(data), 0, _POS_CHARACTER, 0, _CHARS_UTF8, None, None)
            if err == 0:
                err = self.lib.espeak_Synchronize()
        finally:
            self.collector = None
        if err != 0:
            raise StepError(f"espeak-ng failed to synthesise {text[:40]!r} (error {err})")
        return col


_LOCK = threading.Lock()
_ENGINES: dict[str, _Espeak] = {}


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


def _engine(system: bool = False) -> _Espeak:
    """The initialised espeak-ng library, the bundled one or Debian's (call with :data:`_LOCK` held)."""
    key = "system" if system else "bundled"
    if key not in _ENGINES:
        if system:
            lib = system_espeak_library()
            if lib is None:
                raise StepError("Debian's espeak-ng library is missing (apt-get install espeak-ng)")
            _ENGINES[key] = _Espeak(lib, None)
        else:
            _ENGINES[key] = _Espeak(*_bundled_paths())
    return _ENGINES[key]


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
            return _engine(False).init_seconds

    def speak(self, text: str, language: str, out_wav: Path) -> list[WordTiming]:
        """Speak ``text`` with this espeak voice into ``out_wav``; return one timing per word of ``text``."""
        words = check_text(text)
        spoken = text.translate(_SPEAKABLE)
        t0 = time.perf_counter()
        with _LOCK:
            engine = _engine(self.system)
            engine.set_voice(self.voice)
            col = engine.synth(spoken, self.rate, self.volume)
            rate = engine.sample_rate
        raw = np.frombuffer(b"".join(col.pcm), dtype="<i2").astype(np.int16)
        if raw.size == 0:
            raise StepError(f"espeak-ng ({self.voice}) produced no audio for {text[:60]!r}")
        samples = resample(raw, rate)
        scale = SAMPLE_RATE / rate

        # Map each WORD event to the input word holding its first character.
        spans = word_spans(text)
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
    """An MBROLA diphone voice (``fr1`` male, ``fr4`` female...) spoken through Debian's espeak-ng: intelligible
    French; word times from espeak's WORD events (MBROLA plays espeak's phonemes with their exact durations)."""

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
