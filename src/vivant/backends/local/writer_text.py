"""The template writer's text helpers: sentences made speakable, titles as said aloud, which language a fact is
in, normalised words, and the stable digest that picks a phrase."""

from __future__ import annotations

import hashlib
import re

from vivant.roles import Fact, Language
from vivant.speech import clean_for_speech
from vivant.text import fold, wordset

PARTICLES = wordset("van von de da di del della der den du le la ten ter")
"""Name particles: part of a surname ("van Gogh"), not a word that names the painter."""


def ascii_slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "", fold(text))


def capitalize(text: str) -> str:
    """A capital at the start of each sentence ("da Vinci died..." -> "Da Vinci died...")."""
    return re.sub(r"(^|[.!?]\s+)([a-zà-ÿ])", lambda m: m.group(1) + m.group(2).upper(), text)


def word_count(text: str) -> int:
    return len(text.split())


def _drop_brackets(text: str) -> str:
    previous = None
    while previous != text:
        previous = text
        text = re.sub(r"\s*\([^()]*\)", "", text)
        text = re.sub(r"\s*\[[^\[\]]*\]", "", text)
    return text.replace("(", "").replace(")", "").replace("[", "").replace("]", "")


def speakable(text: str, language: Language = "en") -> str:
    """Make a sentence fit for a TTS voice: symbols said as words, no brackets, emojis or markdown."""
    text = _drop_brackets(clean_for_speech(text, language))
    text = re.sub(r"\s*[–—]\s*", ", ", text)
    text = text.replace("_", " ").replace("’", "'")
    # keep letters (any script), digits, spaces and plain punctuation; drop the rest (emojis, #, *, /, ...)
    text = "".join(ch if (ch.isalnum() or ch.isspace() or ch in ".,;:!?'\"«»-") else " " for ch in text)
    text = re.sub(r"\s+", " ", text).strip()
    text = re.sub(r"\s+([,.;:!?])", r"\1", text)
    text = re.sub(r"([,;:])(?=[^\s\d])", r"\1 ", text)
    text = re.sub(r",\s*,+", ",", text)
    text = text.strip(" ,;:-")
    if text and text[-1] not in ".!?":
        text += "."
    return text


def spoken_title(title: str) -> str:
    """The title as said aloud, without bracketed remarks ("Mona Lisa (92x92 px thumbnail)": "Mona Lisa")."""
    cleaned = speakable(title).rstrip(".!?").strip()
    return cleaned or title.strip()


def de_name(name: str) -> str:
    """French "de X" with elision before a vowel ("d'Edgar Degas")."""
    return ("d'" if name[:1].lower() in "aeiouyàâéèêëîïôöûü" else "de ") + name


_FR_WORDS = wordset(
    "le la les des est une du et il elle qui dans sur pour par au aux était fut son sa ses né née ce cette"
)
_EN_WORDS = wordset("the is was and of in he she who a an his her by with for at on from were as")


def looks_french(text: str) -> bool:
    words = re.findall(r"[a-zà-ÿ']+", text.lower())
    fr = sum(1 for w in words if w in _FR_WORDS or w.startswith(("l'", "d'", "qu'")))
    en = sum(1 for w in words if w in _EN_WORDS)
    return fr > en


def fact_language(fact: Fact) -> str:
    if fact.language:
        return fact.language
    return "fr" if looks_french(fact.text) else "en"


def digest(key: str, salt: str) -> int:
    return int.from_bytes(hashlib.sha256(f"{salt}|{key}".encode()).digest()[:8], "big")
