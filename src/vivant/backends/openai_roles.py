"""Steps 0 and 1 on an OpenAI-compatible server: :class:`LLMWriter` and :class:`LLMInspector`.

:class:`LLMWriter` makes two calls, as the seed does:

1. **facts**: the research notes (numbered) go in, a :class:`FactSheet` comes out: key facts, anecdotes and
   context, each with the number of the note it comes from. The schema sent to the server only allows those
   numbers, and every fact is checked against its note (its words and numbers must be there), so a fact that is
   not in the notes is sent back. No notes means no call and no facts: the script says less.
2. **script**, once per language: a :class:`ScriptDraft` (title, hook, script, hashtags) checked by the same
   :class:`~vivant.roles.Script` model as every writer (≤150 words counted, names the artist, hashtags) plus
   rules no schema can say: first person, the right language, and no year that is not in the notes or the
   catalog.

Every invalid answer goes back to the model with the problems listed (:meth:`LLMClient.structured`). When the
script still fails, the attempt fails (the engine retries it), or, with ``[llm] fallback = "template"``, the
template writer writes it and the writer's ``name`` and ``degraded`` say so for that attempt.

:class:`LLMInspector` runs the CPU inspector (faces, blur, resolution, nudenet) and asks the vision model about
the image (attached as a base64 data URL): people, gender, age group, child, nudity, single portrait,
confidence. :func:`combine` applies ``[llm.vision]``'s rules to both and keeps every measure as a check.

Both are safe to call from several threads at once (the engine runs ``[llm] parallel`` requests per server):
the writer's ``name``/``degraded`` describe the calling thread's last write, the facts call is made once per
painting even when both languages ask at once, and the inspector runs its CPU measures one at a time (OpenCV's
cascades and nudenet are not known to be thread-safe) while the vision requests run side by side.

Prompts are :class:`string.Template` files (``$name`` placeholders) in :mod:`vivant.prompts`; a user's
``[llm] prompts_dir`` overrides any of them by file name.
"""

from __future__ import annotations

import base64
import io
import logging
import re
import string
import threading
from collections.abc import Iterable
from importlib.resources import files
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from vivant.backends.llm import LLMClient, LLMOutputInvalid, Message, OutputProblems
from vivant.backends.local.writer import spoken_title
from vivant.config import ChecksSettings, HeadOrientation, LLMSettings, NudityLevel, VisionRules
from vivant.errors import ConfigError
from vivant.roles import (
    MAX_SCRIPT_WORDS,
    Box,
    Check,
    Fact,
    Inspector,
    Language,
    Painting,
    ResearchNotes,
    Script,
    Sitter,
    Source,
    Verdict,
    Writer,
    current_attempt,
)
from vivant.speech import clean_for_speech, french_typography
from vivant.text import normalize, wordset

log = logging.getLogger(__name__)

LANGUAGE_NAMES: dict[Language, str] = {"en": "English", "fr": "French"}
MAX_ITEMS = 4
"""Items per list of the fact sheet."""
MAX_NOTES = 12
"""Research facts numbered for the facts call (the rest are left out)."""
IMAGE_LONG_SIDE = 1024
"""The image sent to the vision model is scaled down to this long side (JPEG)."""

# -- prompts ---------------------------------------------------------------------------------------------------


class Prompts:
    """Prompt templates by name (``facts.user`` -> ``facts.user.txt``); a user's folder overrides the package."""

    def __init__(self, override_dir: Path | None = None) -> None:
        self.override_dir = override_dir
        if override_dir is not None and not override_dir.is_dir():
            raise ConfigError(f"{override_dir}: prompts folder not found (llm.prompts_dir)")

    @staticmethod
    def packaged() -> Path:
        return Path(str(files("vivant").joinpath("prompts")))

    def path(self, name: str) -> Path:
        file = f"{name}.txt"
        if self.override_dir is not None and (self.override_dir / file).is_file():
            return self.override_dir / file
        return self.packaged() / file

    def text(self, name: str) -> str:
        path = self.path(name)
        try:
            return path.read_text(encoding="utf-8").strip()
        except OSError as e:
            raise ConfigError(f"{path}: cannot read the prompt template: {e}") from None

    def render(self, name: str, **values: object) -> str:
        path = self.path(name)
        try:
            return string.Template(self.text(name)).substitute({k: str(v) for k, v in values.items()})
        except KeyError as e:
            known = ", ".join(f"${k}" for k in sorted(values))
            raise ConfigError(f"{path}: unknown placeholder ${e.args[0]} (known: {known})") from None
        except ValueError as e:
            raise ConfigError(f"{path}: bad placeholder: {e} (write $$ for a dollar sign)") from None


# -- schemas ---------------------------------------------------------------------------------------------------


def strict_schema(model: type[BaseModel], **overrides: dict[str, Any]) -> dict[str, Any]:
    """``model``'s JSON schema, self-contained (no ``$ref``), every property required, no extra properties.

    ``overrides`` maps a top-level property to keys merged into its schema (e.g. an ``enum`` of note numbers).
    Servers' grammar converters (llama.cpp) and strict modes (OpenAI, vLLM) all accept this shape.
    """
    raw = model.model_json_schema()
    defs = raw.pop("$defs", {})

    def fix(node: Any) -> Any:
        if isinstance(node, dict):
            if "$ref" in node:
                return fix(defs[node["$ref"].split("/")[-1]])
            out = {k: fix(v) for k, v in node.items() if k not in ("title", "default", "description", "properties")}
            if "properties" in node:  # property names may be "title" too: keep them all
                out["properties"] = {name: fix(sub) for name, sub in node["properties"].items()}
            if out.get("type") == "object" and "properties" in out:
                out["required"] = list(out["properties"])
                out["additionalProperties"] = False
            return out
        if isinstance(node, list):
            return [fix(v) for v in node]
        return node

    schema: dict[str, Any] = fix(raw)
    for prop, extra in overrides.items():
        target = schema["properties"][prop]
        if target.get("type") == "array":
            target["items"] = {**target["items"], **extra}
        else:
            target.update(extra)
    return schema


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


class VisionVerdict(BaseModel):
    """The vision model's answer about one image."""

    model_config = ConfigDict(extra="forbid")

    people: int = Field(ge=0, le=100)
    gender: Literal["female", "male", "unclear", "none"]
    age_group: Literal["child", "teen", "adult", "elderly", "none"]
    child_present: bool
    nudity: NudityLevel
    single_portrait: bool
    confidence: float = Field(ge=0, le=1)


# -- grounding checks -------------------------------------------------------------------------------------------


_STOP = wordset(
    "the and was were his her its their with from that this which who whom into onto also been being have has had "
    "for are not but one two by of in on at to as an a is it he she they him them there than then when where what "
    "les des une est dans pour par avec sur qui que son ses aux était"
)
_YEAR = re.compile(r"\b(1[0-9]{3}|20[0-9]{2})\b")
_NUMBER = re.compile(r"\b\d+\b")
_FIRST_PERSON: dict[Language, re.Pattern[str]] = {
    "en": re.compile(r"\b(i|me|my|mine|myself|i'm|i've|i'd|i'll)\b"),
    "fr": re.compile(r"(\b(je|moi|mon|ma|mes|me)\b|\bj'|\bm')"),
}
_FR_MARKERS = wordset("le la les des est une du et il elle qui dans sur pour par au aux je suis mon ma mes moi")
_EN_MARKERS = wordset("the is was and of in he she who a an his her by with for at on from i am my me")


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


def guess_language(text: str) -> Language | None:
    words = re.findall(r"[a-zà-ÿ']+", text.lower())
    fr = sum(1 for w in words if w in _FR_MARKERS or w.startswith(("l'", "d'", "qu'", "j'", "c'")))
    en = sum(1 for w in words if w in _EN_MARKERS)
    if fr == en:
        return None
    return "fr" if fr > en else "en"


# -- the writer -------------------------------------------------------------------------------------------------


def _year_text(painting: Painting) -> str:
    return f" ({painting.year})" if painting.year else ""


def numbered_notes(notes: ResearchNotes) -> list[Fact]:
    """The research facts the facts call sees, in the order they are numbered (1-based)."""
    return [*notes.painting_facts, *notes.artist_facts][:MAX_NOTES]


def note_server(client: LLMClient) -> None:
    """Tell the running step which server of the pool answered (its attempt records it)."""
    attempt = current_attempt()
    if attempt is not None and client.last_server:
        attempt.timing.endpoint = client.last_server


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
                        year_text=_year_text(painting),
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
                    year_text=_year_text(painting),
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
        years |= set(_YEAR.findall(painting.title))
        for text in [*(f.text for f in listed), *(f.text for f in facts)]:
            years |= set(_YEAR.findall(text))
        return years


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
    invented = sorted(set(_YEAR.findall(text)) - allowed_years)
    if invented:
        problems.append(f"the year(s) {', '.join(invented)} are not in the facts: remove them")
    return problems


# -- the inspector ----------------------------------------------------------------------------------------------


def image_data_url(path: Path, long_side: int = IMAGE_LONG_SIDE) -> str:
    """The image as a ``data:image/jpeg;base64,...`` URL, scaled down to ``long_side`` (raises InputError)."""
    from vivant.backends.local.vision import load_image

    rgb = load_image(path)
    rgb.thumbnail((long_side, long_side))
    buf = io.BytesIO()
    rgb.save(buf, format="JPEG", quality=90)
    return "data:image/jpeg;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def head_orientation(face: Box | None) -> HeadOrientation:
    """The main face's orientation from which detectors agreed on it (the box's label lists them).

    Frontal cascades only: frontal; the profile cascade only: profile; both: three-quarter; nudenet alone
    (it finds faces at any angle) or no face: unknown.
    """
    if face is None:
        return "unknown"
    frontal = len(set(re.findall(r"frontalface_\w+", face.label)))
    profile = "profileface" in face.label
    if frontal and profile:
        return "three-quarter"
    if frontal:
        return "frontal"
    if profile:
        return "profile"
    return "unknown"


_PEOPLE_REASON = re.compile(r"^\d+ people \(max \d+\)$")
"""The CPU inspector's reason for too many faces (replaced by a confident vision model's count)."""


def combine(cpu: Verdict, llm: VisionVerdict, rules: VisionRules, *, backend: str) -> Verdict:
    """Step 0's verdict from the CPU measures and the vision model's answer, by ``rules``.

    The model's safety flags (child, nudity) always count, as do the CPU's (nudenet, catalog words); its people
    count and single-portrait answer replace the CPU's face count only when it is confident enough. Blur,
    resolution, face size and head orientation are the CPU's measures. Its ``gender`` (female or male) is the
    sitter's (source ``vision-model``) unless the catalog gives one; "unclear" keeps the CPU's guess.
    """
    confident = llm.confidence >= rules.min_confidence
    reasons = [r for r in cpu.reasons if not (confident and _PEOPLE_REASON.match(r))]
    checks = list(cpu.checks)

    ok = 1 <= llm.people <= rules.max_people
    checks.append(
        Check(name="llm_people", passed=ok, value=llm.people, threshold=rules.max_people, note=f"{llm.gender}")
    )
    if confident and not ok:
        reasons.append(f"vision model: {llm.people} people (max {rules.max_people})")

    ok = llm.single_portrait or not rules.require_single_portrait
    checks.append(Check(name="llm_single_portrait", passed=ok, value=str(llm.single_portrait).lower()))
    if confident and not ok:
        reasons.append("vision model: not a single portrait")

    child = llm.child_present or llm.age_group == "child"
    ok = not (child and rules.refuse_child)
    checks.append(Check(name="llm_child", passed=ok, value=llm.age_group, note=f"child_present={llm.child_present}"))
    if not ok:
        reasons.append(f"vision model: child present (age group {llm.age_group})")

    ok = llm.nudity in rules.allowed_nudity
    checks.append(Check(name="llm_nudity", passed=ok, value=llm.nudity, threshold=", ".join(rules.allowed_nudity)))
    if not ok:
        reasons.append(f"vision model: nudity {llm.nudity!r} (allowed: {', '.join(rules.allowed_nudity)})")

    checks.append(
        Check(
            name="llm_confidence",
            passed=confident,
            value=round(llm.confidence, 3),
            threshold=rules.min_confidence,
            note="" if confident else "people count and single portrait taken from the CPU detectors",
        )
    )

    orientation = head_orientation(cpu.main_face)
    ok = orientation in rules.allowed_orientations
    checks.append(
        Check(
            name="head_orientation",
            passed=ok,
            value=orientation,
            threshold=", ".join(rules.allowed_orientations),
            note="from the face detectors that agreed",
        )
    )
    if not ok:
        reasons.append(f"head orientation {orientation} (allowed: {', '.join(rules.allowed_orientations)})")

    sitter = cpu.sitter
    if sitter.source != "catalog" and llm.gender in ("female", "male"):
        sitter = Sitter(
            gender=llm.gender,
            source="vision-model",
            confidence=round(llm.confidence, 3),
            note=f"CPU said {cpu.sitter.gender} ({cpu.sitter.source})",
        )

    return cpu.model_copy(
        update={
            "accepted": not reasons,
            "reasons": reasons,
            "checks": checks,
            "sitter": sitter,
            "people": llm.people if confident else cpu.people,
            "backend": backend,
            "degraded": cpu.degraded,
        }
    )


class LLMInspector:
    """The Inspector that adds a vision model's verdict to the CPU inspector's measures.

    Thread-safe: the CPU measures run one at a time (under a lock), the vision requests side by side.
    """

    degraded = False

    def __init__(
        self,
        settings: LLMSettings,
        *,
        client: LLMClient | None = None,
        prompts: Prompts | None = None,
        cpu: Inspector | None = None,
    ) -> None:
        self.settings = settings
        model = settings.vision_model or settings.model
        self.client = client or LLMClient.from_settings(settings, model=model)
        self.prompts = prompts or Prompts(settings.prompts_dir)
        if cpu is None:
            from vivant.backends.local.vision import LocalInspector

            cpu = LocalInspector()
        self.cpu = cpu
        self._cpu_lock = threading.Lock()

    @property
    def name(self) -> str:
        return f"openai:{self.client.model}+{self.cpu.name}"

    def schema(self) -> dict[str, Any]:
        """The verdict's schema; ``guided`` lists the allowed numbers (grammars ignore minimum/maximum)."""
        if not self.settings.guided:
            return strict_schema(VisionVerdict)
        return strict_schema(
            VisionVerdict,
            people={"enum": list(range(11))},
            confidence={"enum": [round(i / 10, 1) for i in range(11)]},
        )

    def ask(self, image: Path, painting: Painting) -> VisionVerdict:
        text = self.prompts.render(
            "vision.user", title=painting.title, artist=painting.artist, year_text=_year_text(painting)
        )
        messages: list[Message] = [
            {"role": "system", "content": self.prompts.render("vision.system")},
            {
                "role": "user",
                "content": [
                    {"type": "text", "text": text},
                    {"type": "image_url", "image_url": {"url": image_data_url(image)}},
                ],
            },
        ]
        return self.client.structured(
            messages,
            VisionVerdict,
            name="vision_verdict",
            json_schema=self.schema(),
            temperature=0.0,
            max_tokens=300,
            retry_prompt=self.prompts.text("retry"),
        )

    def inspect(self, image: Path, painting: Painting, checks: ChecksSettings) -> Verdict:
        with self._cpu_lock:  # OpenCV's cascades and nudenet's session, one image at a time
            cpu = self.cpu.inspect(image, painting, checks)  # raises InputError first for a bad image
        llm = self.ask(image, painting)
        note_server(self.client)
        verdict = combine(cpu, llm, self.settings.vision, backend=self.name)
        log.info(
            "%s: vision model says %d people, %s, nudity %s, confidence %.2f -> %s",
            image.name,
            llm.people,
            llm.age_group,
            llm.nudity,
            llm.confidence,
            "accepted" if verdict.accepted else "; ".join(verdict.reasons),
        )
        return verdict
