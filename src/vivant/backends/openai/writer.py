"""Step 1 on an OpenAI-compatible server: :class:`LLMWriter`.

:class:`LLMWriter` makes two calls, as the seed does:

1. **facts**: the research notes (numbered) go in, a :class:`FactSheet` comes out: key facts, anecdotes and
   context, each with the number of the note it comes from. The schema sent to the server only allows those
   numbers, and every fact is checked against its note (its words and numbers must be there), so a fact that is
   not in the notes is sent back. No notes means no call and no facts: the script says less.
2. **script**, once per language: a :class:`ScriptDraft` (title, hook, script, hashtags) checked by the same
   :class:`~vivant.roles.Script` model as every writer (≤150 words counted, names the artist, hashtags) plus
   rules no schema can say: first person, the right language, and no year that is not in the notes or the
   catalog.

Every invalid answer goes back to the model with the problems listed (:func:`~vivant.backends.openai.structured.
ask`). When the script still fails, the attempt fails (the engine retries it), or, with ``[llm] fallback =
"template"``, the template writer writes it and the writer's ``name`` and ``degraded`` say so for that attempt.

Safe to call from several threads at once (the engine runs ``[llm] parallel`` requests per server): ``name`` and
``degraded`` describe the calling thread's last write, and the facts call is made once per painting even when
both languages ask at once. The fact sheet is :mod:`.facts`, the script's rules :mod:`.script_rules`.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable

from pydantic import ValidationError

from vivant.backends.local.writer import spoken_title
from vivant.backends.openai.client import LLMClient, Message, note_server
from vivant.backends.openai.errors import LLMOutputInvalid, OutputProblems
from vivant.backends.openai.facts import (
    MAX_ITEMS,
    FactPicks,
    FactSheet,
    NoteFact,
    Pick,
    grounding_problems,
    numbered_notes,
)
from vivant.backends.openai.prompts import Prompts, year_text
from vivant.backends.openai.script_rules import (
    HASHTAG_PATTERN,
    LANGUAGE_NAMES,
    YEAR,
    ScriptDraft,
    _clean_title,
    guided_script_schema,
    known_painting_title,
    said_well,
    script_problems,
)
from vivant.backends.openai.structured import strict_schema
from vivant.config import LLMSettings
from vivant.roles import (
    MAX_SCRIPT_WORDS,
    Fact,
    Language,
    Painting,
    ResearchNotes,
    Script,
    Source,
    Writer,
    current_attempt,
)

log = logging.getLogger(__name__)


class LLMWriter:
    """The Writer backed by an OpenAI-compatible LLM (facts call, then one script call per language).

    A write that falls back to the template writer says so to the running attempt
    (:meth:`vivant.roles.Attempt.fall_back`: its backend reads ``openai:MODEL->local:template``, degraded).
    Thread-safe: writes for several paintings and languages may run at once.
    """

    def __init__(
        self,
        settings: LLMSettings,
        *,
        client: LLMClient | None = None,
        prompts: Prompts | None = None,
        fallback: Writer | None = None,
    ) -> None:
        self.settings = settings
        self.client = client or LLMClient.from_settings(settings)
        self.prompts = prompts or Prompts(settings.prompts_dir)
        self._fallback = fallback
        self._facts: dict[str, tuple[str, FactSheet]] = {}
        self._lock = threading.Lock()
        """Guards ``_facts_locks`` and the fallback writer's creation."""
        self._facts_locks: dict[str, threading.Lock] = {}
        """One lock per painting key: its languages wait for one facts call instead of making two."""
        self.degraded = False
        """A write that falls back says so to its attempt (:meth:`vivant.roles.Attempt.fall_back`), not here."""

    @property
    def name(self) -> str:
        return f"openai:{self.client.model}"

    def _fallback_writer(self) -> Writer:
        with self._lock:
            if self._fallback is None:
                from vivant.backends.local.writer import TemplateWriter

                self._fallback = TemplateWriter()
            return self._fallback

    def _facts_lock(self, key: str) -> threading.Lock:
        with self._lock:
            return self._facts_locks.setdefault(key, threading.Lock())

    # -- call 1 -------------------------------------------------------------------------------------------------
    def facts(self, painting: Painting, notes: ResearchNotes) -> FactSheet:
        """The fact sheet for ``painting`` (one call per painting and notes, shared by the languages)."""
        with self._facts_lock(painting.key):  # the other language waits for this call, then reads the cache
            return self._facts_locked(painting, notes)

    def _facts_locked(self, painting: Painting, notes: ResearchNotes) -> FactSheet:
        listed = numbered_notes(notes)
        fingerprint = "\n".join(f.text for f in listed)
        cached = self._facts.get(painting.key)
        if cached is not None and cached[0] == fingerprint:
            return cached[1].model_copy(deep=True)
        if not listed:
            sheet = FactSheet()
        else:
            numbers = list(range(1, len(listed) + 1))
            lines = []
            for i, fact in enumerate(listed, 1):
                about = "the painting" if fact in notes.painting_facts else "the artist"
                lines.append(f"[{i}] (about {about}) {fact.text}")
            messages: list[Message] = [
                {"role": "system", "content": self.prompts.render("facts.system")},
                {
                    "role": "user",
                    "content": self.prompts.render(
                        "facts.user",
                        title=painting.title,
                        artist=painting.artist,
                        year_text=year_text(painting),
                        notes="\n".join(lines),
                        max_items=MAX_ITEMS,
                    ),
                },
            ]
            guided = self.settings.guided
            item = strict_schema(Pick if guided else NoteFact, source={"enum": numbers})
            item_list = {"type": "array", "items": item, "maxItems": min(2, MAX_ITEMS) if guided else MAX_ITEMS}
            first_list = {**item_list, "minItems": 1} if guided else item_list  # the notes hold at least one
            schema = {
                "type": "object",
                "properties": {"key_facts": first_list, "anecdotes": item_list, "context": item_list},
                "required": ["key_facts", "anecdotes", "context"],
                "additionalProperties": False,
            }

            def check(sheet: FactSheet) -> None:
                problems = []
                for key in ("key_facts", "anecdotes", "context"):
                    for j, item in enumerate(getattr(sheet, key)):
                        if item.source > len(listed):
                            problems.append(f"{key}.{j}.source: there is no note {item.source}")
                            continue
                        for p in grounding_problems(item, listed[item.source - 1].text):
                            problems.append(f"{key}.{j} ({item.text[:40]!r}...): {p}")
                if problems:
                    raise OutputProblems(problems)

            if guided:
                picks = self.client.structured(
                    messages,
                    FactPicks,
                    name="fact_picks",
                    json_schema=schema,
                    temperature=0.2,
                    max_tokens=200,
                    retry_prompt=self.prompts.text("retry"),
                )
                sheet = picks.sheet(listed)
            else:
                sheet = self.client.structured(
                    messages,
                    FactSheet,
                    check=check,
                    name="fact_sheet",
                    json_schema=schema,
                    temperature=0.2,
                    retry_prompt=self.prompts.text("retry"),
                )
        self._facts[painting.key] = (fingerprint, sheet)
        return sheet.model_copy(deep=True)

    # -- call 2 -------------------------------------------------------------------------------------------------
    def write(self, painting: Painting, notes: ResearchNotes, language: Language) -> Script:
        listed = numbered_notes(notes)
        try:
            sheet = self.facts(painting, notes)
            script = self._script(painting, notes, listed, sheet, language)
            note_server(self.client)
            return script
        except LLMOutputInvalid as e:
            if self.settings.fallback != "template":
                raise
            writer = self._fallback_writer()
            log.warning("%s (%s): %s; the template writer writes this script instead", painting.key, language, e)
            script = writer.write(painting, notes, language)
            attempt = current_attempt()
            if attempt is not None:
                attempt.fall_back(self.name, writer.name)
            return script

    def _script(
        self, painting: Painting, notes: ResearchNotes, listed: list[Fact], sheet: FactSheet, language: Language
    ) -> Script:
        facts = sheet.all()
        fact_lines = [f"- {f.text}" for f in facts] or [
            "(none: say only what the title, the painter and the year tell, and joke about knowing so little)"
        ]
        sources: list[Source] = []
        for f in facts:
            src = listed[f.source - 1].source if f.source <= len(listed) else None
            if src is not None and src not in sources:
                sources.append(src)
        allowed_years = self._allowed_years(painting, listed, facts)
        artist = " ".join((notes.artist_names.get(language) or painting.artist).split())  # "Léonard de Vinci"
        known_title = known_painting_title(painting, notes, language)
        if known_title:
            title_rule = f'exactly "{known_title}"'
        else:
            title_rule = (
                f'the title "{spoken_title(painting.title)}" in {LANGUAGE_NAMES[language]}, as museums and books '
                "in that language name it (keep proper names; if unsure, translate it word for word)"
            )
        messages: list[Message] = [
            {"role": "system", "content": self.prompts.render("script.system")},
            {
                "role": "user",
                "content": self.prompts.render(
                    "script.user",
                    title=painting.title,
                    artist=artist,
                    year_text=year_text(painting),
                    language_name=LANGUAGE_NAMES[language],
                    facts="\n".join(fact_lines),
                    max_words=MAX_SCRIPT_WORDS,
                    painting_title_rule=title_rule,
                ),
            },
        ]
        built: dict[str, Script] = {}

        def check(draft: ScriptDraft) -> None:
            problems: list[str] = []
            said_title = known_title or _clean_title(draft.painting_title) or spoken_title(painting.title)
            try:
                built["script"] = Script(
                    language=language,
                    title=draft.title,
                    painting_title=said_title,
                    hook=draft.hook,
                    script=" ".join(draft.script.split()),
                    hashtags=draft.hashtags,
                    sources=sources,
                    artist=artist,
                )
            except ValidationError as e:
                problems += [err["msg"].removeprefix("Value error, ") for err in e.errors()]
            problems += script_problems(draft.script, language, allowed_years, names=(painting.title, artist))
            if problems:
                raise OutputProblems(problems)

        schema = strict_schema(ScriptDraft, hashtags={"pattern": HASHTAG_PATTERN})
        if self.settings.guided:
            schema = guided_script_schema(schema, artist, known_title or spoken_title(painting.title), language)
        self.client.structured(
            messages,
            ScriptDraft,
            check=check,
            name="script",
            json_schema=schema,
            max_tokens=400 if self.settings.guided else None,
            retry_prompt=self.prompts.text("retry"),
        )
        return said_well(built["script"], language)

    @staticmethod
    def _allowed_years(painting: Painting, listed: list[Fact], facts: Iterable[NoteFact]) -> set[str]:
        years = {str(y) for y in (painting.year, painting.artist_died) if y}
        years |= set(YEAR.findall(painting.title))
        for text in [*(f.text for f in listed), *(f.text for f in facts)]:
            years |= set(YEAR.findall(text))
        return years
