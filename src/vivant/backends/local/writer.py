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

import logging
import re
from dataclasses import dataclass
from typing import Any

from vivant.backends.local.writer_banks import NightSlot, choose, current_slot, night_slot, phrases, rotated
from vivant.backends.local.writer_subject import (
    SitterProfile,
    century,
    french_title,
    known_french_title,
    sitter_profile,
    surname,
)
from vivant.backends.local.writer_text import (
    PARTICLES,
    ascii_slug,
    capitalize,
    de_name,
    digest,
    fact_language,
    looks_french,
    speakable,
    spoken_title,
    word_count,
)
from vivant.backends.zim import portrait_subject
from vivant.roles import MAX_SCRIPT_WORDS, Fact, Language, Painting, ResearchNotes, Script, Source
from vivant.speech import french_typography
from vivant.text import normalize, wordset

__all__ = ["TemplateWriter", "known_french_title", "looks_french", "night_slot", "speakable", "spoken_title"]
"""The writer, and the helpers other modules import from here."""

log = logging.getLogger(__name__)

TARGET_MAX_WORDS = 130
"""Facts and banter are added while the script stays within this many words (the hard limit is 150)."""
TARGET_MIN_WORDS = 70
"""Banter is added until the script has about this many words."""
MAX_BODY_LINES = 6
"""Sentences between the opening and the closing line (the introduction included)."""
MAX_FACT_WORDS = 45
"""A fact longer than this (once made speakable) is left out rather than cut."""


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
        return word_count(self.text)


class _Fill(dict[str, str]):
    def __missing__(self, key: str) -> str:  # an unknown placeholder in a user's phrases stays visible
        return "{" + key + "}"


class TemplateWriter:
    """The Writer that fills phrase banks (no LLM): cheeky, first person, facts only from metadata and notes."""

    name = "local:template"
    degraded = True

    def write(self, painting: Painting, notes: ResearchNotes, language: Language) -> Script:
        bank = phrases(language)
        slot = current_slot()
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
            de_artist=de_name(artist), year=str(painting.year or ""), died=str(painting.artist_died or ""),
            century=century(painting.year, language) if painting.year else "",
            e="e" if profile.gender == "female" else "",
        )  # fmt: skip

        def fmt(line: str) -> str:
            return capitalize(speakable(line.format_map(fill), language))

        opening = fmt(choose(bank["openings"], key, "opening", slot))
        closing = fmt(choose(bank["closings"], key, "closing", slot))
        intro = fmt(self._intro_pattern(bank, painting, profile, said_title, language, key, slot))
        facts = self._fact_lines(painting, notes, said_title or "", artist, language, key, slot, fill)
        extras = [_Line(fmt(line)) for line in self._extra_lines(bank, painting, profile, key, slot)]

        body: list[_Line] = [_Line(intro)]
        total = word_count(opening) + word_count(intro) + word_count(closing)
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
        if word_count(text) > MAX_SCRIPT_WORDS:  # only with absurdly long titles or names
            text = self._minimal(said_title, artist, language)
            body = body[:1]
        sources: list[Source] = []
        for line in body:
            if line.source is not None and line.source not in sources:
                sources.append(line.source)
        title = capitalize(self._title(bank, said_title, artist, language, key, slot))
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
        log.debug("template script for %s (%s): %d words", painting.key, language, word_count(text))
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
        return choose(pool, key, "intro", slot)

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
            lines.append(choose(sitter_pool, key, "sitter", slot))
        died = bool(painting.artist_died) and "self" not in profile.kinds  # a self-portrait is the painter
        if died:
            lines.append(choose(bank["died"], key, "died", slot))
        if painting.year:
            lines.append(choose(bank["era"], key, "era", slot))
        if died and painting.year and digest(key, "order") % 2:
            lines[-2], lines[-1] = lines[-1], lines[-2]  # the era first, for half of the paintings
        lines += rotated(bank["banter"], key, "banter", slot)
        return lines

    def _fact_lines(
        self, painting: Painting, notes: ResearchNotes, title: str, artist: str, language: Language, key: str,
        slot: NightSlot | None, fill: _Fill,
    ) -> list[_Line]:  # fmt: skip
        bank = phrases(language)
        usable = [f for f in (*notes.painting_facts, *notes.artist_facts) if fact_language(f) == language]
        painting_title = notes.titles.get(language, "")
        lines: list[_Line] = []
        lead = choose(bank["painting_fact_leads"], key, "lead", slot)
        sitter_lead = choose(bank["sitter_fact_leads"], key, "sitter-lead", slot)
        sitter = [w for w in normalize(portrait_subject(painting.title) or "").split() if w not in PARTICLES]
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
        names = {w for w in normalize(artist).split() if w not in PARTICLES}
        kept: list[Fact] = []
        for fact in facts:
            words = normalize(fact.text).split()
            if names & set(words) or (kept and words[:1] and words[0] in _PRONOUNS and kept[-1].source == fact.source):
                kept.append(fact)
        return kept

    @staticmethod
    def _painting_fact(fact: Fact, title: str, language: Language, lead: str) -> str | None:
        sentence = speakable(fact.text, language)
        if not sentence or word_count(sentence) > MAX_FACT_WORDS:
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
        if not sentence or word_count(sentence) > MAX_FACT_WORDS:
            return None
        if not first:
            return sentence
        bank = phrases(language)
        verbs = _VERBS_FR if language == "fr" else _VERBS_EN
        artist_words = {w for w in normalize(artist).split() if w not in PARTICLES}
        split = _split_subject(sentence, verbs)
        if split is not None:
            subject, verb, rest = split
            subject_words = normalize(subject).split()
            about_artist = (
                len(subject_words) <= 6 and bool(subject_words) and subject_words[0] in artist_words
            ) or subject.lower() in _PRONOUNS
            if about_artist:
                pattern = choose(bank["artist_fact_wrappers"], key, "artist-fact", slot)
                return pattern.format_map(_Fill(fill, verb=verb, rest=rest))
        pattern = choose(bank["artist_fact_other"], key, "artist-other", slot)
        return pattern.format_map(_Fill(fill, sentence=sentence))

    @staticmethod
    def _minimal(title: str | None, artist: str, language: Language) -> str:
        short = " ".join((title or "").split()[:12])
        if language == "fr":
            if not short:
                return f"Je suis un portrait {de_name(artist)}. Abonne-toi pour d'autres tableaux."
            return f"On m'appelle {short}, un tableau {de_name(artist)}. Abonne-toi pour d'autres tableaux."
        return f"They call me {short}, and {artist} painted me. Follow for more talking paintings."

    @staticmethod
    def _title(
        bank: dict[str, Any], title: str | None, artist: str, language: Language, key: str, slot: NightSlot | None
    ) -> str:
        pool = bank["titles"] if title else bank["titles_untitled"]
        pattern = choose(pool, key, "title", slot)
        values = _Fill(title=title or "", artist=artist, de_artist=de_name(artist))
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
        tags = ["#art", "#portrait"]
        name = ascii_slug(surname(painting.artist))
        if name:
            tags.append(f"#{name}")
        tags += ["#histoiredelart", "#peinture"] if language == "fr" else ["#arthistory", "#painting"]
        if painting.style:
            style = ascii_slug(painting.style)
            if style:
                tags.append(f"#{style}")
        unique: list[str] = []
        for tag in tags:
            if tag not in unique and len(tag) > 1:
                unique.append(tag)
        return unique[:6]
