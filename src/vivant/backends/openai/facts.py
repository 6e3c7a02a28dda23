"""The fact sheet: what the facts call extracts from the research notes, each fact with the number of the note it
comes from, and the check that a fact is in its note (its words and numbers must be there)."""

from __future__ import annotations

import re

from pydantic import BaseModel, ConfigDict, Field

from vivant.roles import Fact, ResearchNotes
from vivant.text import normalize, wordset

MAX_ITEMS = 4
"""Items per list of the fact sheet."""
MAX_NOTES = 12
"""Research facts numbered for the facts call (the rest are left out)."""


class NoteFact(BaseModel):
    model_config = ConfigDict(extra="forbid")

    text: str = Field(min_length=3, max_length=300)
    source: int = Field(ge=1, le=MAX_NOTES)
    """The number of the research note it comes from."""


class FactSheet(BaseModel):
    """What the facts call extracts from the research notes."""

    model_config = ConfigDict(extra="forbid")

    key_facts: list[NoteFact] = Field(default_factory=list, max_length=MAX_ITEMS)
    anecdotes: list[NoteFact] = Field(default_factory=list, max_length=MAX_ITEMS)
    context: list[NoteFact] = Field(default_factory=list, max_length=MAX_ITEMS)

    def all(self) -> list[NoteFact]:
        return [*self.key_facts, *self.anecdotes, *self.context]


class Pick(BaseModel):
    model_config = ConfigDict(extra="forbid")

    source: int = Field(ge=1, le=MAX_NOTES)


class FactPicks(BaseModel):
    """The guided facts call's answer: notes picked by number and sorted; their text is quoted as is."""

    model_config = ConfigDict(extra="forbid")

    key_facts: list[Pick] = Field(default_factory=list, max_length=MAX_ITEMS)
    anecdotes: list[Pick] = Field(default_factory=list, max_length=MAX_ITEMS)
    context: list[Pick] = Field(default_factory=list, max_length=MAX_ITEMS)

    def sheet(self, listed: list[Fact]) -> FactSheet:
        seen: set[int] = set()

        def quote(picks: list[Pick]) -> list[NoteFact]:
            out = []
            for p in picks:
                if p.source <= len(listed) and p.source not in seen:
                    seen.add(p.source)
                    out.append(NoteFact(text=listed[p.source - 1].text[:300], source=p.source))
            return out

        return FactSheet(key_facts=quote(self.key_facts), anecdotes=quote(self.anecdotes), context=quote(self.context))


_STOP = wordset(
    "the and was were his her its their with from that this which who whom into onto also been being have has had "
    "for are not but one two by of in on at to as an a is it he she they him them there than then when where what "
    "les des une est dans pour par avec sur qui que son ses aux était"
)
_NUMBER = re.compile(r"\b\d+\b")


def _content_words(text: str) -> set[str]:
    return {w for w in normalize(text).split() if len(w) > 3 and w not in _STOP and not w.isdigit()}


def grounding_problems(fact: NoteFact, note: str) -> list[str]:
    """Why ``fact`` is not supported by ``note`` (empty when it is)."""
    problems = []
    missing_numbers = set(_NUMBER.findall(fact.text)) - set(_NUMBER.findall(note))
    if missing_numbers:
        problems.append(f"{sorted(missing_numbers)} not in note {fact.source}")
    words = _content_words(fact.text)
    if words:
        found = words & _content_words(note)
        if len(found) / len(words) < 0.5:
            problems.append(f"most of its words are not in note {fact.source}")
    return problems


def numbered_notes(notes: ResearchNotes) -> list[Fact]:
    """The research facts the facts call sees, in the order they are numbered (1-based)."""
    return [*notes.painting_facts, *notes.artist_facts][:MAX_NOTES]
