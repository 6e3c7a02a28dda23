"""Voices run as programs from Debian packages: SVOX Pico (``pico2wave``), Festival (``text2wave``) and Flite.

Each writes a WAV into a temporary folder, which is read back, resampled to 22050 Hz and written with the tail
silence. None of them says when each word is spoken: Whisper listens to the audio (:mod:`.heard`), else the
times are estimated; ``timing_source`` tells which for the last call.
"""

from __future__ import annotations

import logging
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

from vivant.backends.ffmpeg import die_with_parent
from vivant.backends.local.voice.common import Measure, check_text, estimate_timings, read_wav, write_wav
from vivant.backends.local.voice.heard import heard_timings
from vivant.errors import StepError
from vivant.roles import Gender, WordTiming

log = logging.getLogger(__name__)

_PLAIN = str.maketrans({"’": "'", "‘": "'", "ʼ": "'", "«": '"', "»": '"', "“": '"', "”": '"', "\n": " "})
TIMEOUT = 120.0
"""Seconds a voice program may take for one narration."""


class ProgramVoice:
    """A voice spoken by an external program (subclasses give the command)."""

    engine = ""
    program = ""
    degraded = False
    gender: Gender | None = None
    hear = True
    """False: estimate the word times instead of asking Whisper (benchmarks timing the synthesis alone)."""

    def __init__(self, voice: str) -> None:
        self.voice = voice
        self.name = f"local:{self.engine}:{voice}"
        self.last = Measure()
        self.timing_source = ""

    @classmethod
    def installed(cls, voice: str) -> bool:
        return shutil.which(cls.program) is not None

    def command(self, text: str, text_file: Path, out: Path) -> list[str]:
        raise NotImplementedError

    def speak(self, text: str, language: str, out_wav: Path) -> list[WordTiming]:
        """Speak ``text`` into ``out_wav``; return one timing per word of ``text``."""
        words = check_text(text)
        exe = shutil.which(self.program)
        if exe is None:
            raise StepError(f"{self.program} is not installed ({self.name}); see `vivant doctor`")
        t0 = time.perf_counter()
        with tempfile.TemporaryDirectory(prefix="vivant-voice-") as tmp:
            text_file, raw = Path(tmp, "text.txt"), Path(tmp, "voice.wav")
            plain = " ".join(text.translate(_PLAIN).split())
            text_file.write_text(plain + "\n", encoding="utf-8")
            cmd = [exe, *self.command(plain, text_file, raw)[1:]]
            try:
                done = subprocess.run(
                    cmd, capture_output=True, timeout=TIMEOUT, check=False, preexec_fn=die_with_parent()
                )
            except subprocess.TimeoutExpired:
                raise StepError(f"{self.name}: {self.program} took more than {TIMEOUT:g} s") from None
            except OSError as e:
                raise StepError(f"{self.name}: cannot run {exe}: {e}") from None
            if done.returncode != 0 or not raw.is_file() or raw.stat().st_size <= 44:
                tail = " ".join(done.stderr.decode("utf-8", "replace").split())[-200:]
                raise StepError(f"{self.name}: {self.program} failed (exit {done.returncode}): {tail or 'no audio'}")
            samples = read_wav(raw)
        if samples.size == 0:
            raise StepError(f"{self.name} produced no audio for {text[:60]!r}")
        duration = write_wav(out_wav, samples)
        if self.hear:
            timings, self.timing_source = heard_timings(out_wav, words, language, samples)
        else:
            timings, self.timing_source = estimate_timings(words, samples), "estimate"
        self.last = Measure(seconds_audio=duration, seconds_wall=time.perf_counter() - t0)
        log.info("%s: %d words, %.1f s of audio in %.2f s (times: %s)", self.name, len(words), duration,
                 self.last.seconds_wall, self.timing_source)  # fmt: skip
        return timings


class PicoVoice(ProgramVoice):
    """SVOX Pico (Debian ``libttspico-utils``, non-free): ``fr-FR``, ``en-US``, ``en-GB``, ``de-DE``, ``es-ES``,
    ``it-IT``; a woman's voice, clear French."""

    engine = "pico"
    program = "pico2wave"
    gender: Gender | None = "female"
    LANGUAGES = ("fr-FR", "en-US", "en-GB", "de-DE", "es-ES", "it-IT")

    def __init__(self, voice: str = "fr-FR") -> None:
        if voice not in self.LANGUAGES:
            raise StepError(f"pico has no voice {voice!r} (it has {', '.join(self.LANGUAGES)})")
        super().__init__(voice)

    @classmethod
    def installed(cls, voice: str) -> bool:
        return super().installed(voice) and Path("/usr/share/pico/lang").is_dir()

    def command(self, text: str, text_file: Path, out: Path) -> list[str]:
        return [self.program, "-l", self.voice, "-w", str(out), text]


FESTIVAL_GENDERS: dict[str, Gender] = {"cmu_us_slt_arctic_hts": "female", "kal_diphone": "male",
                                       "rab_diphone": "male", "ked_diphone": "male"}  # fmt: skip


class FestivalVoice(ProgramVoice):
    """Festival (Debian ``festival`` + a voice such as ``festvox-us-slt-hts``, an American woman)."""

    engine = "festival"
    program = "text2wave"

    def __init__(self, voice: str = "cmu_us_slt_arctic_hts") -> None:
        super().__init__(voice)
        self.gender = FESTIVAL_GENDERS.get(voice)

    @classmethod
    def installed(cls, voice: str) -> bool:
        roots = (Path("/usr/share/festival/voices"), Path("/usr/local/share/festival/voices"))
        return super().installed(voice) and any(r.is_dir() and any(r.glob(f"*/{voice}")) for r in roots)

    def command(self, text: str, text_file: Path, out: Path) -> list[str]:
        return [self.program, "-eval", f"(voice_{self.voice})", "-o", str(out), str(text_file)]


FLITE_GENDERS: dict[str, Gender] = {"slt": "female", "kal": "male", "kal16": "male", "awb": "male", "rms": "male"}


class FliteVoice(ProgramVoice):
    """Flite (Debian ``flite``): English only; ``slt`` a woman, ``rms``/``awb``/``kal`` men."""

    engine = "flite"
    program = "flite"

    def __init__(self, voice: str = "slt") -> None:
        if voice not in FLITE_GENDERS:
            raise StepError(f"flite has no voice {voice!r} (it has {', '.join(FLITE_GENDERS)})")
        super().__init__(voice)
        self.gender = FLITE_GENDERS[voice]

    def command(self, text: str, text_file: Path, out: Path) -> list[str]:
        return [self.program, "-voice", self.voice, "-f", str(text_file), "-o", str(out)]
