"""Local text-to-speech on CPU, one module per engine, and the choice of a voice per language and gender.

* :mod:`.common`: the WAV format, text checks, timing filler, pitch measure.
* :mod:`.piper`: piper's ``en_US-joe-medium`` (English man, natural; word times from its alignments).
* :mod:`.espeak`: espeak-ng through ctypes (any language, robotic) and MBROLA diphone voices through Debian's
  espeak-ng (French ``fr1`` man, ``fr4`` woman; word times from espeak's WORD events).
* :mod:`.programs`: SVOX Pico, Festival, Flite as programs (word times heard by Whisper, :mod:`.heard`).
* :mod:`.choose`: ``[voice]``'s lists, the first installed voice, :class:`LocalVoice`.
"""

from vivant.backends.local.voice.choose import Choice, LocalVoice, build, gender_of, install_command, installed
from vivant.backends.local.voice.common import (
    SAMPLE_RATE,
    TAIL_SILENCE,
    Measure,
    fill_timings,
    median_f0,
    read_wav,
    split_words,
)
from vivant.backends.local.voice.espeak import EspeakVoice, MbrolaVoice
from vivant.backends.local.voice.piper import PIPER_DEFAULT_VOICE, PiperVoice, piper_model_path
from vivant.backends.local.voice.programs import FestivalVoice, FliteVoice, PicoVoice

__all__ = [
    "PIPER_DEFAULT_VOICE",
    "SAMPLE_RATE",
    "TAIL_SILENCE",
    "Choice",
    "EspeakVoice",
    "FestivalVoice",
    "FliteVoice",
    "LocalVoice",
    "MbrolaVoice",
    "Measure",
    "PicoVoice",
    "PiperVoice",
    "build",
    "fill_timings",
    "gender_of",
    "install_command",
    "installed",
    "median_f0",
    "piper_model_path",
    "read_wav",
    "split_words",
]
