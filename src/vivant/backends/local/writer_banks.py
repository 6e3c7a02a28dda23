"""The template writer's phrase banks (``vivant/data/phrases/<language>.toml``) and how a line is picked from
them: by the painting's place in its night (:func:`night_slot`), else by a hash of its key."""

from __future__ import annotations

import contextlib
import contextvars
import functools
import math
import tomllib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from importlib.resources import files
from typing import Any

from vivant.backends.local.writer_text import capitalize, digest, speakable
from vivant.errors import ConfigError
from vivant.roles import Language
from vivant.speech import french_typography


@dataclass(frozen=True)
class NightSlot:
    """A painting's place in its night: ``position`` among the batch's paintings, ``seed`` names the night."""

    position: int
    seed: str


_NIGHT: contextvars.ContextVar[NightSlot | None] = contextvars.ContextVar("vivant_night_slot", default=None)


@contextlib.contextmanager
def night_slot(position: int, seed: str) -> Iterator[NightSlot]:
    """Make the writers called inside pick their phrases for this place in the night."""
    slot = NightSlot(position, seed)
    token = _NIGHT.set(slot)
    try:
        yield slot
    finally:
        _NIGHT.reset(token)


def _stride(n: int) -> int:
    return next(s for s in (7, 5, 3, 1) if math.gcd(s, n) == 1)


def choose(options: Sequence[str], key: str, part: str, slot: NightSlot | None) -> str:
    """One option: by the night's position (distinct for up to ``len(options)`` paintings), else by key."""
    n = len(options)
    if slot is None:
        return options[digest(key, part) % n]
    return options[(digest(slot.seed, part) + slot.position * _stride(n)) % n]


def rotated(options: Sequence[str], key: str, part: str, slot: NightSlot | None) -> list[str]:
    if not options:
        return []
    first = options.index(choose(options, key, part, slot))
    return [*options[first:], *options[:first]]


def current_slot() -> NightSlot | None:
    """The place in the night set by the innermost :func:`night_slot`, if any."""
    return _NIGHT.get()


_REQUIRED = ("openings", "closings", "intros", "intros_no_year", "intros_self", "died", "era", "painting_fact_leads",
             "sitter_fact_leads", "artist_fact_wrappers", "artist_fact_other", "titles", "banter")  # fmt: skip
SITTER_KINDS = ("self", "royal", "myth", "young", "old", "work", "female", "male")


@functools.lru_cache(maxsize=4)
def phrases(language: Language) -> dict[str, Any]:
    """The phrase banks of one language (``vivant/data/phrases/<language>.toml``), checked once."""
    resource = files("vivant").joinpath("data", "phrases", f"{language}.toml")
    try:
        data = tomllib.loads(resource.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as e:
        raise ConfigError(f"{resource}: cannot read the template writer's phrases: {e}") from None
    french = ("intros_untitled", "intros_untitled_no_year", "titles_untitled")
    required = _REQUIRED + (french if language == "fr" else ())
    for name in required:
        if not isinstance(data.get(name), list) or not data[name]:
            raise ConfigError(f"{resource}: {name!r} must be a non-empty list of lines")
    sitter = data.get("sitter", {})
    data["sitter"] = {k: list(sitter.get(k, [])) for k in SITTER_KINDS}
    return data


def closing_of(script: str, language: Language) -> str | None:
    """The bank closing a script ends with (as written in the bank), or None: for reports and tests."""
    for line in phrases(language)["closings"]:
        for e in ("", "e"):
            said = capitalize(speakable(line.replace("{e}", e), language))
            if language == "fr":
                said = french_typography(said)
            if script.endswith(said):
                return line
    return None
