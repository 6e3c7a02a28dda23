"""What the script call must obey beyond its JSON schema: first person, the right language, no year that is not in
the notes or the catalog; the painting's title per language; the grammar a small model is guided by; the script as
a voice reads it."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from vivant.backends.local.writer import spoken_title
from vivant.roles import Language, Painting, ResearchNotes, Script
from vivant.speech import clean_for_speech, french_typography

log = logging.getLogger(__name__)

LANGUAGE_NAMES: dict[Language, str] = {"en": "English", "fr": "French"}


class ScriptDraft(BaseModel):
    """The script call's answer; turned into a :class:`~vivant.roles.Script` (which checks it again)."""

    model_config = ConfigDict(extra="forbid")

    title: str = Field(min_length=3, max_length=100)
    hook: str = Field(min_length=3, max_length=200)
    script: str = Field(min_length=20, max_length=1100)
    hashtags: list[str] = Field(min_length=1, max_length=8)
    painting_title: str | None = Field(default=None, max_length=200)
    """The painting's title in the script's language (translated when no title in that language is known)."""


HASHTAG_PATTERN = r"^#[^\s#]{1,40}$"

YEAR = re.compile(r"\b(1[0-9]{3}|20[0-9]{2})\b")
_FIRST_PERSON: dict[Language, re.Pattern[str]] = {
    "en": re.compile(r"\b(i|me|my|mine|myself|i'm|i've|i'd|i'll)\b"),
    "fr": re.compile(r"(\b(je|moi|mon|ma|mes|me)\b|\bj'|\bm')"),
}
_FR_MARKERS = set(
    "le la les des est une du et il elle qui dans sur pour par au aux je suis mon ma mes moi".split()  # noqa: SIM905
)
_EN_MARKERS = set("the is was and of in he she who a an his her by with for at on from i am my me".split())  # noqa: SIM905


def guess_language(text: str) -> Language | None:
    words = re.findall(r"[a-zà-ÿ']+", text.lower())
    fr = sum(1 for w in words if w in _FR_MARKERS or w.startswith(("l'", "d'", "qu'", "j'", "c'")))
    en = sum(1 for w in words if w in _EN_MARKERS)
    if fr == en:
        return None
    return "fr" if fr > en else "en"


def said_well(script: Script, language: Language) -> Script:
    """The script as a voice should read it ("R&B" -> "R and B", "c. 1665" -> "around 1665") and, in French,
    with French typography; the model's text is kept when the result would break the Script's limits."""
    spoken = {k: clean_for_speech(getattr(script, k), language) for k in ("hook", "script")}
    spoken["title"] = script.title
    if language == "fr":
        spoken = {k: french_typography(v) for k, v in spoken.items()}
        spoken["title"] = spoken["title"][:100]
    try:  # "50%" -> "50 percent", a space before "!": one more word each
        return Script.model_validate({**script.model_dump(), **spoken})
    except ValidationError:
        log.debug("the script is kept as the model wrote it (cleaned, it would break its limits)")
        return script


def known_painting_title(painting: Painting, notes: ResearchNotes, language: Language) -> str | None:
    """The painting's title in ``language`` when the catalog or an archive gives it (else the LLM translates):
    English is the catalog's title; French is ``title_fr``, else a French archive's article title, else a
    well-known work's usual French title."""
    if language == "en":
        return spoken_title(painting.title)
    if painting.title_fr and painting.title_fr.strip():
        return spoken_title(painting.title_fr)
    if notes.titles.get(language):
        return spoken_title(notes.titles[language])
    if language == "fr":
        from vivant.backends.local.writer import known_french_title

        return known_french_title(painting)
    return None


def _clean_title(text: str | None) -> str | None:
    if not text:
        return None
    cleaned = " ".join(text.replace("\n", " ").split()).strip(" \"'«»“”")
    return cleaned[:200] or None


def _literal(text: str) -> str:
    """``text`` as a regex literal; only metacharacters are escaped (grammar converters choke on ``\\ ``)."""
    plain = text.replace('"', "'").replace("\\", " ")
    return re.sub(r"([.^$*+?()\[\]{}|/])", r"\\\1", plain)


_OPENERS: dict[Language, str] = {"en": "I am {title}, and I", "fr": "Je suis {title}, et je"}
"""How a guided script starts: first person, the painting's name, and a nudge into the right language."""


def guided_script_schema(schema: dict[str, Any], artist: str, title: str, language: Language) -> dict[str, Any]:
    """``schema`` with what a grammar can enforce for a small model: the script opens in the first person with
    the painting's title ("I am <title>"), names the painter's surname, has no digit (so no invented year) and
    stays short; the video title starts with the painting's title; plain hashtags."""
    surname = artist.split()[-1] if artist.split() else artist
    free = "[a-zA-ZÀ-ÿ ,.;:!?'-]"  # letters and punctuation: no digit (year), quote or control character
    props = dict(schema["properties"])
    props.pop("painting_title", None)  # a small model is not asked to translate: the known title is used
    schema = {**schema, "required": [r for r in schema.get("required", []) if r != "painting_title"]}
    opener = _OPENERS[language].format(title=title)
    props["script"] = {
        "type": "string",
        "pattern": f"^{_literal(opener)}{free}{{10,140}} {_literal(surname)}{free}{{10,160}}$",
    }
    props["title"] = {"type": "string", "pattern": f"^{_literal(title[:60])}{free}{{0,30}}$"}
    props["hook"] = {"type": "string", "pattern": f"^{free}{{10,100}}$"}
    props["hashtags"] = {
        "type": "array",
        "items": {"type": "string", "pattern": "^#[A-Za-z]{2,20}$"},
        "minItems": 1,
        "maxItems": 4,
    }
    return {**schema, "properties": props}


def script_problems(text: str, language: Language, allowed_years: set[str], names: Iterable[str] = ()) -> list[str]:
    """Rules for a script that no JSON schema can say (the word limit and the artist are the Script model's).

    ``names`` (the painting's title, the artist) are left out when guessing the language: an English title
    in a French script is still French.
    """
    problems = []
    low = text.lower().replace("’", "'")
    if not _FIRST_PERSON[language].search(low):
        pronouns = '"I", "me", "my"' if language == "en" else '"je", "moi", "mon"'
        problems.append(f"the painting must speak in the first person ({pronouns})")
    prose = text
    for name in names:
        if name.strip():
            prose = re.sub(re.escape(name.strip()), " ", prose, flags=re.IGNORECASE)
    guessed = guess_language(prose)
    if guessed is not None and guessed != language:
        problems.append(f"the script must be written in {LANGUAGE_NAMES[language]}")
    invented = sorted(set(YEAR.findall(text)) - allowed_years)
    if invented:
        problems.append(f"the year(s) {', '.join(invented)} are not in the facts: remove them")
    return problems
