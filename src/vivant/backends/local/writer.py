"""A template writer: the portrait's first-person script without a language model.

:class:`TemplateWriter` fills hand-written phrase banks (``vivant/data/phrases/en.toml`` and ``fr.toml``: tens
of openings, closings, introductions, lines that fit the sitter, the era, the painter's death, and banter) with
the painting's metadata (title, artist, year, the artist's death year) and, when research found some, with the
facts of the notes, lightly rephrased ("My painter, Johannes Vermeer, was born in Delft."). It never invents a
fact: every statement about the painting or the painter comes from the metadata or the notes; the rest is banter.

**Range across a night.** Inside a step, :func:`night_slot` tells the writer where the painting sits in its
night (its position among the batch's paintings, and the batch as a seed); the opening and the closing are then
picked by position with a stride prime to the bank's size, so a night of up to ``len(bank)`` paintings repeats
none, and another night rotates the banks. Without a slot (a single call), a hash of the painting's key picks.
The same painting in the same night always gets the same script.

**The sitter.** Lines fit the sitter: gender (the catalog's ``gender``, else step 0's verdict, else title words
such as "Lady", "Madame", "Man"), kind (self-portrait, royalty or a pope, a figure of myth, young, old, at
work, from title words) and era (the century of the painting's year).

**French.** French scripts use the French title (the catalog's ``title_fr``, else a French archive's article
title, else the original title when it has no English word, or a plain "Portrait of X" made "Portrait de X");
otherwise they do not say the title at all (it is on the title card). They use only facts written in French
(English facts are not machine-translated), so they may say less, and follow French typography (no-break
space before ``: ; ! ?``). The text is meant for a TTS voice: no emojis, markdown, hashtags or brackets; it
always validates as a :class:`~vivant.roles.Script` (150 words at most).
"""

from __future__ import annotations

import contextlib
import contextvars
import csv
import functools
import hashlib
import io
import logging
import math
import re
import tomllib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from importlib.resources import files
from typing import Any

from vivant.backends.zim import portrait_subject
from vivant.errors import ConfigError
from vivant.roles import MAX_SCRIPT_WORDS, Fact, Gender, Language, Painting, ResearchNotes, Script, Source
from vivant.speech import clean_for_speech, french_typography
from vivant.text import fold, normalize, wordset

log = logging.getLogger(__name__)


TARGET_MAX_WORDS = 130
"""Facts and banter are added while the script stays within this many words (the hard limit is 150)."""
TARGET_MIN_WORDS = 70
"""Banter is added until the script has about this many words."""
MAX_BODY_LINES = 6
"""Sentences between the opening and the closing line (the introduction included)."""
MAX_FACT_WORDS = 45
"""A fact longer than this (once made speakable) is left out rather than cut."""

_PARTICLES = wordset("van von de da di del della der den du le la ten ter")


# -- text helpers ------------------------------------------------------------------------------------------


def _ascii_slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "", fold(text))


def _capitalize(text: str) -> str:
    """A capital at the start of each sentence ("da Vinci died..." -> "Da Vinci died...")."""
    return re.sub(r"(^|[.!?]\s+)([a-zà-ÿ])", lambda m: m.group(1) + m.group(2).upper(), text)


def _word_count(text: str) -> int:
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


def _de(name: str) -> str:
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


def _fact_language(fact: Fact) -> str:
    if fact.language:
        return fact.language
    return "fr" if looks_french(fact.text) else "en"


def _digest(key: str, salt: str) -> int:
    return int.from_bytes(hashlib.sha256(f"{salt}|{key}".encode()).digest()[:8], "big")


# -- the night: where a painting sits among the others --------------------------------------------------------


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


def _choose(options: Sequence[str], key: str, part: str, slot: NightSlot | None) -> str:
    """One option: by the night's position (distinct for up to ``len(options)`` paintings), else by key."""
    n = len(options)
    if slot is None:
        return options[_digest(key, part) % n]
    return options[(_digest(slot.seed, part) + slot.position * _stride(n)) % n]


def _rotated(options: Sequence[str], key: str, part: str, slot: NightSlot | None) -> list[str]:
    if not options:
        return []
    first = options.index(_choose(options, key, part, slot))
    return [*options[first:], *options[:first]]


# -- the phrase banks ----------------------------------------------------------------------------------------

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
            said = _capitalize(speakable(line.replace("{e}", e), language))
            if language == "fr":
                said = french_typography(said)
            if script.endswith(said):
                return line
    return None


# -- the sitter ------------------------------------------------------------------------------------------------

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
    if len(words) >= 2 and words[-2].lower() in _PARTICLES:
        return " ".join(words[-2:])
    return words[-1] if words else artist


# -- French titles ---------------------------------------------------------------------------------------------

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
        return f"Portrait {_de(m.group(1))}"
    return None


# -- templates -------------------------------------------------------------------------------------------------

_VERBS_EN = wordset(
    "was is were had has became painted lived worked spent died trained moved remained "
    "created produced studied joined married left returned"
)
_VERBS_FR = wordset("est était fut a avait naît meurt peint devient devint vécut vit travailla")
_PRONOUNS = frozenset({"he", "she", "they", "il", "elle"})
_IT_SUBJECTS = frozenset(
    {
        "it",
        "the painting",
        "this painting",
        "the portrait",
        "this portrait",
        "the work",
        "ce tableau",
        "le tableau",
        "ce portrait",
        "le portrait",
        "l'oeuvre",
        "l'œuvre",
        "cette oeuvre",
        "cette œuvre",
    }
)


def _split_subject(sentence: str, verbs: frozenset[str]) -> tuple[str, str, str] | None:
    """Split "Johannes Vermeer was a Dutch painter." into ("Johannes Vermeer", "was", "a Dutch painter.")."""
    words = sentence.split()
    for i, word in enumerate(words[:9]):
        if word.lower() in verbs and i > 0:
            return " ".join(words[:i]).rstrip(","), word.lower(), " ".join(words[i + 1 :])
    return None


@dataclass(frozen=True)
class _Line:
    text: str
    source: Source | None = None

    @property
    def words(self) -> int:
        return _word_count(self.text)


class _Fill(dict[str, str]):
    def __missing__(self, key: str) -> str:  # an unknown placeholder in a user's phrases stays visible
        return "{" + key + "}"


class TemplateWriter:
    """The Writer that fills phrase banks (no LLM): cheeky, first person, facts only from metadata and notes."""

    name = "local:template"
    degraded = True

    def write(self, painting: Painting, notes: ResearchNotes, language: Language) -> Script:
        bank = phrases(language)
        slot = _NIGHT.get()
        key = painting.key or f"{painting.id}:{painting.title}"
        artist = " ".join((notes.artist_names.get(language) or painting.artist).split()) or painting.artist
        profile = sitter_profile(painting)
        if language == "fr":
            said_title = french_title(painting, notes)
            shown_title = said_title or spoken_title(painting.title)
            if said_title and re.match(r"portrait (de |d')", said_title, re.IGNORECASE):
                said_title = "le p" + said_title[1:]  # "Je suis le portrait de Louis XIV"
        else:
            said_title = shown_title = spoken_title(painting.title)
            if re.match(r"portrait of ", said_title, re.IGNORECASE):
                said_title = "the P" + said_title[1:]  # "I am the Portrait of George IV"
        fill = _Fill(
            title=said_title or "", artist=artist, surname=surname(artist),
            de_artist=_de(artist), year=str(painting.year or ""), died=str(painting.artist_died or ""),
            century=century(painting.year, language) if painting.year else "",
            e="e" if profile.gender == "female" else "",
        )  # fmt: skip

        def fmt(line: str) -> str:
            return _capitalize(speakable(line.format_map(fill), language))

        opening = fmt(_choose(bank["openings"], key, "opening", slot))
        closing = fmt(_choose(bank["closings"], key, "closing", slot))
        intro = fmt(self._intro_pattern(bank, painting, profile, said_title, language, key, slot))
        facts = self._fact_lines(painting, notes, said_title or "", artist, language, key, slot, fill)
        extras = [_Line(fmt(line)) for line in self._extra_lines(bank, painting, profile, key, slot)]

        body: list[_Line] = [_Line(intro)]
        total = _word_count(opening) + _word_count(intro) + _word_count(closing)
        for line in facts:
            if len(body) >= MAX_BODY_LINES - 1:
                break
            if total + line.words <= TARGET_MAX_WORDS:
                body.append(line)
                total += line.words
        for line in extras:
            if len(body) >= MAX_BODY_LINES or total >= TARGET_MIN_WORDS:
                break
            if total + line.words <= TARGET_MAX_WORDS and line.text not in {b.text for b in body}:
                body.append(line)
                total += line.words

        text = " ".join([opening, *(line.text for line in body), closing])
        if language == "fr":
            text = french_typography(text)
        if _word_count(text) > MAX_SCRIPT_WORDS:  # only with absurdly long titles or names
            text = self._minimal(said_title, artist, language)
            body = body[:1]
        sources: list[Source] = []
        for line in body:
            if line.source is not None and line.source not in sources:
                sources.append(line.source)
        title = _capitalize(self._title(bank, said_title, artist, language, key, slot))
        if language == "fr":
            opening, title = french_typography(opening), french_typography(title)[:100]
        script = Script(
            language=language,
            title=title,
            painting_title=shown_title[:300],
            hook=opening,
            script=text,
            hashtags=self._hashtags(painting, language),
            sources=sources,
            artist=artist,
        )
        log.debug("template script for %s (%s): %d words", painting.key, language, _word_count(text))
        return script

    # -- parts ----------------------------------------------------------------------------------------------
    @staticmethod
    def _intro_pattern(
        bank: dict[str, Any], painting: Painting, profile: SitterProfile, title: str | None, language: Language,
        key: str, slot: NightSlot | None,
    ) -> str:  # fmt: skip
        if title is None:  # French without a French title
            pool = bank["intros_untitled"] if painting.year else bank["intros_untitled_no_year"]
        elif "self" in profile.kinds and painting.year:
            pool = bank["intros_self"]
        else:
            pool = bank["intros"] if painting.year else bank["intros_no_year"]
        return _choose(pool, key, "intro", slot)

    @staticmethod
    def _extra_lines(
        bank: dict[str, Any], painting: Painting, profile: SitterProfile, key: str, slot: NightSlot | None
    ) -> list[str]:
        """Lines that fit this painting, best first: the sitter, the painter's death or the era, then banter."""
        lines: list[str] = []
        sitter_pool = [line for kind in profile.kinds for line in bank["sitter"].get(kind, [])]
        if profile.gender in ("female", "male"):
            sitter_pool += bank["sitter"].get(profile.gender, [])
        if sitter_pool:
            lines.append(_choose(sitter_pool, key, "sitter", slot))
        died = bool(painting.artist_died) and "self" not in profile.kinds  # a self-portrait is the painter
        if died:
            lines.append(_choose(bank["died"], key, "died", slot))
        if painting.year:
            lines.append(_choose(bank["era"], key, "era", slot))
        if died and painting.year and _digest(key, "order") % 2:
            lines[-2], lines[-1] = lines[-1], lines[-2]  # the era first, for half of the paintings
        lines += _rotated(bank["banter"], key, "banter", slot)
        return lines

    def _fact_lines(
        self, painting: Painting, notes: ResearchNotes, title: str, artist: str, language: Language, key: str,
        slot: NightSlot | None, fill: _Fill,
    ) -> list[_Line]:  # fmt: skip
        bank = phrases(language)
        usable = [f for f in (*notes.painting_facts, *notes.artist_facts) if _fact_language(f) == language]
        painting_title = notes.titles.get(language, "")
        lines: list[_Line] = []
        lead = _choose(bank["painting_fact_leads"], key, "lead", slot)
        sitter_lead = _choose(bank["sitter_fact_leads"], key, "sitter-lead", slot)
        sitter = [w for w in normalize(portrait_subject(painting.title) or "").split() if w not in _PARTICLES]
        for fact in [f for f in notes.painting_facts if f in usable][:2]:
            source_words = set(normalize(fact.source.title).split()) if fact.source else set()
            about_sitter = (
                bool(sitter)
                and set(sitter) <= source_words
                and normalize(painting_title) != normalize(fact.source.title if fact.source else "")
            )
            text = self._painting_fact(fact, title, language, sitter_lead if about_sitter else lead)
            if text:
                lines.append(_Line(text, fact.source))
                if not text.startswith(("I ", "J'", "Je ")):
                    lead = sitter_lead = ""  # one "the archive says" is enough
        artist_facts = self._about_artist([f for f in notes.artist_facts if f in usable], artist)
        for i, fact in enumerate(artist_facts[:2]):
            text = self._artist_fact(fact, artist, language, first=(i == 0), key=key, slot=slot, fill=fill)
            if text:
                lines.append(_Line(text, fact.source))
        return lines

    @staticmethod
    def _about_artist(facts: list[Fact], artist: str) -> list[Fact]:
        """The artist facts that are visibly about this artist: a research hit on a namesake is left out.

        A fact must name the artist (a word of the name other than "van", "de", ...); a fact that starts with
        a pronoun is kept when it follows a kept fact of the same source.
        """
        names = {w for w in normalize(artist).split() if w not in _PARTICLES}
        kept: list[Fact] = []
        for fact in facts:
            words = normalize(fact.text).split()
            if names & set(words) or (kept and words[:1] and words[0] in _PRONOUNS and kept[-1].source == fact.source):
                kept.append(fact)
        return kept

    @staticmethod
    def _painting_fact(fact: Fact, title: str, language: Language, lead: str) -> str | None:
        sentence = speakable(fact.text, language)
        if not sentence or _word_count(sentence) > MAX_FACT_WORDS:
            return None
        verbs = _VERBS_FR if language == "fr" else _VERBS_EN
        split = _split_subject(sentence, verbs)
        if split is not None and title:
            subject, verb, rest = split
            subject_norm = normalize(subject)
            bare = re.sub(r"^(?:the|le|la|l')\s*", "", title, flags=re.IGNORECASE)
            names = {normalize(title), normalize(f"the {title}"), normalize(bare), normalize(f"the {bare}")}
            is_me = subject_norm in names or subject.lower() in _IT_SUBJECTS
            if is_me:
                if language == "en" and verb in {"is", "was", "has"}:
                    return f"I {({'is': 'am', 'was': 'was', 'has': 'have'})[verb]} {rest}"
                if language == "fr" and verb in {"est", "était", "a", "fut"}:
                    return {"est": "Je suis ", "était": "J'étais ", "a": "J'ai ", "fut": "J'ai été "}[verb] + rest
        if language == "fr" and lead.rstrip().endswith(":"):
            sentence = re.sub(r"^(Le|La|Les|L'|Un|Une|Il|Elle|Ce|Cette)\b", lambda m: m.group(1).lower(), sentence)
        return lead + sentence

    @staticmethod
    def _artist_fact(
        fact: Fact, artist: str, language: Language, *, first: bool, key: str, slot: NightSlot | None, fill: _Fill
    ) -> str | None:
        sentence = speakable(fact.text, language)
        if not sentence or _word_count(sentence) > MAX_FACT_WORDS:
            return None
        if not first:
            return sentence
        bank = phrases(language)
        verbs = _VERBS_FR if language == "fr" else _VERBS_EN
        artist_words = {w for w in normalize(artist).split() if w not in _PARTICLES}
        split = _split_subject(sentence, verbs)
        if split is not None:
            subject, verb, rest = split
            subject_words = normalize(subject).split()
            about_artist = (
                len(subject_words) <= 6 and bool(subject_words) and subject_words[0] in artist_words
            ) or subject.lower() in _PRONOUNS
            if about_artist:
                pattern = _choose(bank["artist_fact_wrappers"], key, "artist-fact", slot)
                return pattern.format_map(_Fill(fill, verb=verb, rest=rest))
        pattern = _choose(bank["artist_fact_other"], key, "artist-other", slot)
        return pattern.format_map(_Fill(fill, sentence=sentence))

    @staticmethod
    def _minimal(title: str | None, artist: str, language: Language) -> str:
        short = " ".join((title or "").split()[:12])
        if language == "fr":
            if not short:
                return f"Je suis un portrait {_de(artist)}. Abonne-toi pour d'autres tableaux."
            return f"On m'appelle {short}, un tableau {_de(artist)}. Abonne-toi pour d'autres tableaux."
        return f"They call me {short}, and {artist} painted me. Follow for more talking paintings."

    @staticmethod
    def _title(
        bank: dict[str, Any], title: str | None, artist: str, language: Language, key: str, slot: NightSlot | None
    ) -> str:
        pool = bank["titles"] if title else bank["titles_untitled"]
        pattern = _choose(pool, key, "title", slot)
        values = _Fill(title=title or "", artist=artist, de_artist=_de(artist))
        text = pattern.format_map(values)
        if len(text) > 100:
            values["title"] = ""
            room = 100 - len(pattern.format_map(values).strip(" ,")) - 2
            t = title or ""
            values["title"] = t if len(t) <= room else t[: max(1, room - 3)].rstrip() + "..."
            text = pattern.format_map(values)
        return text[:100]

    @staticmethod
    def _hashtags(painting: Painting, language: Language) -> list[str]:
        words = painting.artist.split()
        surname_words = words[-1:]
        if len(words) >= 2 and words[-2].lower() in _PARTICLES:
            surname_words = words[-2:]
        tags = ["#art", "#portrait"]
        surname = _ascii_slug("".join(surname_words))
        if surname:
            tags.append(f"#{surname}")
        tags += ["#histoiredelart", "#peinture"] if language == "fr" else ["#arthistory", "#painting"]
        if painting.style:
            style = _ascii_slug(painting.style)
            if style:
                tags.append(f"#{style}")
        unique: list[str] = []
        for tag in tags:
            if tag not in unique and len(tag) > 1:
                unique.append(tag)
        return unique[:6]
