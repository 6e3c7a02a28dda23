"""Small text helpers shared across the code: word sets, accent folding, the normalised form used to compare
names and titles."""

from __future__ import annotations

import re
import unicodedata

_NON_WORD = re.compile(r"[^\w]+")


def wordset(words: str) -> frozenset[str]:
    """The words of a space-separated list, as a set (``wordset("van von de")``)."""
    return frozenset(words.split())


def strip_accents(text: str) -> str:
    """``Velázquez`` -> ``Velazquez`` (compatibility decomposition, combining marks dropped)."""
    if text.isascii():
        return text
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def fold(text: str) -> str:
    """Lower case without accents (``Joaquín`` -> ``joaquin``)."""
    return strip_accents(text).lower()


def normalize(text: str) -> str:
    """Lower case, accents removed, punctuation turned into single spaces ("Velázquez" -> "velazquez")."""
    plain = strip_accents(text).replace("_", " ").casefold()
    return " ".join(_NON_WORD.sub(" ", plain).split())
