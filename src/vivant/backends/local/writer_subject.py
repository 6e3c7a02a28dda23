"""What the template writer says about its subject: the sitter (gender and kind from the metadata and the
title's words), the century, the painter's surname, and the title to say in French."""

from __future__ import annotations

import csv
import functools
import io
import re
from dataclasses import dataclass
from importlib.resources import files

from vivant.backends.local.writer_text import PARTICLES, de_name, spoken_title
from vivant.roles import Gender, Language, Painting, ResearchNotes
from vivant.text import normalize, wordset

_FEMALE_WORDS = wordset(
    "lady madame mrs miss mademoiselle woman women girl queen princess duchess countess empress marquise "
    "mother wife daughter sister nun madonna virgin infanta milkmaid maid venus proserpine lilith flora diana "
    "judith salome"
)
_MALE_WORDS = wordset(
    "man men boy king pope sir lord mr monsieur prince duke count emperor cardinal father son brother "
    "bacchus apollo mars"
)
_KIND_WORDS: dict[str, frozenset[str]] = {
    "royal": wordset("king queen pope emperor empress prince princess duke duchess cardinal infanta countess count"),
    "myth": wordset(
        "bacchus venus proserpine lilith apollo diana mars minerva flora psyche cupid medusa judith salome "
        "mercury jupiter juno neptune pan orpheus narcissus"
    ),
    "young": wordset("girl boy child children young infanta youth"),
    "old": wordset("old elderly aged"),
    "work": wordset("milkmaid maid lacemaker laundress seamstress shepherd shepherdess peasant worker cook"),
}
_REGNAL = re.compile(r"\b[A-Z][a-z]+ [IVX]{1,5}\b")


@dataclass(frozen=True)
class SitterProfile:
    gender: Gender
    kinds: tuple[str, ...]


def sitter_profile(painting: Painting) -> SitterProfile:
    """The sitter as the metadata says: gender (catalog or step 0, else title words) and kinds of sitter."""
    words = set(normalize(painting.title).split())
    gender: Gender = painting.gender or "unclear"
    if gender == "unclear":
        if words & _FEMALE_WORDS and not words & _MALE_WORDS:
            gender = "female"
        elif words & _MALE_WORDS and not words & _FEMALE_WORDS:
            gender = "male"
    kinds: list[str] = []
    if re.search(r"self[\s-]*portrait|autoportrait", painting.title, re.IGNORECASE):
        kinds.append("self")
    for kind, kind_words in _KIND_WORDS.items():
        if words & kind_words or (kind == "royal" and _REGNAL.search(painting.title)):
            kinds.append(kind)
    return SitterProfile(gender, tuple(kinds))


_ORDINALS: dict[Language, tuple[str, ...]] = {
    "en": ("first", "second", "third", "fourth", "fifth", "sixth", "seventh", "eighth", "ninth", "tenth",
           "eleventh", "twelfth", "thirteenth", "fourteenth", "fifteenth", "sixteenth", "seventeenth",
           "eighteenth", "nineteenth", "twentieth", "twenty-first"),
    "fr": ("premier", "deuxième", "troisième", "quatrième", "cinquième", "sixième", "septième", "huitième",
           "neuvième", "dixième", "onzième", "douzième", "treizième", "quatorzième", "quinzième", "seizième",
           "dix-septième", "dix-huitième", "dix-neuvième", "vingtième", "vingt et unième"),
}  # fmt: skip


def century(year: int, language: Language) -> str:
    """The century of a year in words, as a voice says it: "seventeenth century", "dix-septième siècle"."""
    n = (year - 1) // 100 + 1
    words = _ORDINALS[language]
    name = words[n - 1] if 1 <= n <= len(words) else str(n)
    return f"{name} siècle" if language == "fr" else f"{name} century"


def surname(artist: str) -> str:
    """The name a painter goes by in a sentence: the last word, with its particle ("da Vinci", "van Gogh")."""
    words = artist.split()
    if len(words) >= 2 and words[-2].lower() in PARTICLES:
        return " ".join(words[-2:])
    return words[-1] if words else artist


_ENGLISH_TITLE_WORDS = wordset(
    "the a an of with in on at by and or to for from his her their self portrait lady lord girl boy man woman old "
    "young head young blue red white black green yellow pearl earring milkmaid night watch daughters son sons "
    "mother father wife husband pope king queen saint st sir mrs mr miss two three circles view landscape "
    "still life study sketch"
)


def _no_english(text: str) -> bool:
    words = normalize(text).split()
    return bool(words) and not any(w in _ENGLISH_TITLE_WORDS for w in words)


@functools.cache
def _known_french_titles() -> dict[tuple[str, str], str]:
    """French titles of well-known works (package data ``data/titles_fr.csv``), by normalised (title, surname)."""
    text = files("vivant").joinpath("data", "titles_fr.csv").read_text(encoding="utf-8")
    return {
        (normalize(row["title"]), normalize(row["artist"]).split()[-1]): row["title_fr"]
        for row in csv.DictReader(io.StringIO(text))
    }


def known_french_title(painting: Painting) -> str | None:
    """A well-known work's usual French title ("Girl with a Pearl Earring": "La Jeune Fille à la perle")."""
    surname = normalize(painting.artist).split()[-1:] or [""]
    return _known_french_titles().get((normalize(spoken_title(painting.title)), surname[0]))


def french_title(painting: Painting, notes: ResearchNotes | None = None) -> str | None:
    """The title to say in French: ``title_fr``, a French archive's title, a well-known work's usual French
    title (package data), the original title when it has no English word ("Bacchus"), or "Portrait of X" as
    "Portrait de X"; None when only English is known (the French script then does not say it)."""
    if painting.title_fr and painting.title_fr.strip():
        return spoken_title(painting.title_fr)
    if notes is not None and notes.titles.get("fr"):
        return spoken_title(notes.titles["fr"])
    known = known_french_title(painting)
    if known:
        return known
    title = spoken_title(painting.title)
    if _no_english(title):
        return title
    m = re.fullmatch(r"portrait of (.+)", title, re.IGNORECASE)
    if m and _no_english(m.group(1)):
        return f"Portrait {de_name(m.group(1))}"
    return None
