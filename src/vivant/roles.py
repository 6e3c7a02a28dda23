"""The interfaces that steps call, and the data they pass.

Steps ask for "an inspector" or "a voice", never for a vendor. Config picks the backend for each step
(:mod:`vivant.backends.registry`). Every backend has a ``name`` (recorded in each attempt row) and a
``degraded`` flag: True when it is a CPU stand-in that cannot do the production job at production quality
(for example a photo-real portrait without an image model); the report and the review page show it.

The data models here are pydantic models so that they are validated and serialised to the JSON artifacts
the same way everywhere.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, Protocol, TypeVar, runtime_checkable

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from vivant.config import ChecksSettings
from vivant.errors import StepError
from vivant.languages import Language

Gender = Literal["female", "male", "unclear"]
MAX_SCRIPT_WORDS = 150


class Painting(BaseModel):
    """A painting as the steps see it (a row of the catalog)."""

    model_config = ConfigDict(frozen=True)

    id: int
    key: str
    title: str
    artist: str
    year: int | None = None
    artist_died: int | None = None
    genre: str | None = None
    style: str | None = None
    image_path: Path
    tags: tuple[str, ...] = ()
    description: str | None = None
    title_fr: str | None = None
    """The French title, when the catalog gives one (column ``title_fr``)."""
    gender: Gender | None = None
    """The sitter's gender as the catalog gives it (column ``gender`` or ``voice``); overrides step 0's guess."""


# -- step 0 ---------------------------------------------------------------------------------------------------


class Box(BaseModel):
    """A rectangle in pixels of the inspected image."""

    x: int
    y: int
    w: int
    h: int
    score: float = 1.0
    label: str = ""


class Check(BaseModel):
    """One check of step 0: ``ran`` is False when this backend cannot run it (recorded, not hidden)."""

    name: str
    ran: bool = True
    passed: bool = True
    value: float | int | str | None = None
    threshold: float | int | str | None = None
    note: str = ""


class Sitter(BaseModel):
    """Who is speaking: the sitter's apparent gender, where it came from and how sure it is.

    ``source`` is one of ``catalog`` (a catalog column, which overrides the rest), ``title`` (words of the title
    or metadata such as "Madame", "Lady", "Portrait of a Man"), ``faces`` (the face detector's classes),
    ``vision-model`` (the production vision model's ``gender`` field), or ``none``.
    """

    gender: Gender = "unclear"
    source: str = "none"
    confidence: float = Field(default=0.0, ge=0.0, le=1.0)
    note: str = ""


class Verdict(BaseModel):
    """Step 0's decision for one painting; written as ``verdict.json``."""

    accepted: bool
    reasons: list[str] = []
    checks: list[Check] = []
    width: int
    height: int
    people: int
    faces: list[Box] = []
    main_face: Box | None = None
    """Faces are in pixel coordinates of the *prepared* image (step 0's 1280 px output)."""
    sitter: Sitter = Sitter()
    backend: str
    degraded: bool = False


@runtime_checkable
class Inspector(Protocol):
    name: str
    degraded: bool

    def inspect(self, image: Path, painting: Painting, checks: ChecksSettings) -> Verdict:
        """Check one image. Raise :class:`~vivant.errors.InputError` if it is not a readable image."""
        ...


# -- step 1 ---------------------------------------------------------------------------------------------------


class Source(BaseModel):
    archive: str
    path: str
    title: str


class Fact(BaseModel):
    text: str
    source: Source | None = None
    language: str | None = None
    """The language of the text ("en", "fr", ...) when the archive says it; None when unknown."""
    why: str = ""
    """Why research picked it (a number, a first, a loss...), for research.json and the review page."""


class ResearchNotes(BaseModel):
    """What research found about a painting; empty facts mean the script must say less, not invent."""

    artist_facts: list[Fact] = []
    painting_facts: list[Fact] = []
    sources: list[Source] = []
    searched: list[str] = []
    """Human-readable log of what was looked up where (also when nothing was found)."""
    titles: dict[str, str] = {}
    """The painting's title per language as an archive in that language gives it (its article's title)."""
    artist_names: dict[str, str] = {}
    """The painter's name per language as an archive in that language gives it ("Léonard de Vinci")."""


class Script(BaseModel):
    """The narration for one language; schema-checked (≤150 words, names the artist)."""

    language: Language
    title: str = Field(min_length=1, max_length=100)
    """The video's title (a headline in the script's language)."""
    painting_title: str | None = Field(default=None, max_length=300)
    """The painting's title in the script's language (the title card, thumbnail and metadata show it); None in
    scripts written before it existed, then the catalog's title is used."""
    hook: str = Field(min_length=1)
    script: str = Field(min_length=1)
    hashtags: list[str] = Field(min_length=1, max_length=12)
    sources: list[Source] = []
    artist: str

    @field_validator("script")
    @classmethod
    def _max_words(cls, v: str) -> str:
        n = len(v.split())
        if n > MAX_SCRIPT_WORDS:
            raise ValueError(f"script has {n} words, the limit is {MAX_SCRIPT_WORDS}")
        return v

    @field_validator("hashtags")
    @classmethod
    def _hashtags(cls, v: list[str]) -> list[str]:
        for tag in v:
            if not tag.startswith("#") or " " in tag:
                raise ValueError(f"hashtag {tag!r} must start with # and have no space")
        return v

    @model_validator(mode="after")
    def _names_artist(self) -> Script:
        surname = self.artist.split()[-1].lower() if self.artist.split() else ""
        if surname and surname not in self.script.lower():
            raise ValueError(f"script does not name the artist {self.artist!r}")
        return self


@runtime_checkable
class Researcher(Protocol):
    name: str
    degraded: bool

    def research(self, painting: Painting) -> ResearchNotes: ...


@runtime_checkable
class Writer(Protocol):
    name: str
    degraded: bool

    def write(self, painting: Painting, notes: ResearchNotes, language: Language) -> Script: ...


# -- step 2 and 7 ---------------------------------------------------------------------------------------------


class WordTiming(BaseModel):
    word: str
    start: float
    end: float


@runtime_checkable
class Voice(Protocol):
    name: str
    degraded: bool

    def speak(self, text: str, language: Language, out_wav: Path) -> list[WordTiming]:
        """Write the narration as a WAV file and return the time of each word of ``text``, in order."""
        ...


@runtime_checkable
class Transcriber(Protocol):
    """Gives word timings for the subtitles: the script's words at the voice's real timing."""

    name: str
    degraded: bool

    def align(
        self, audio: Path, script: str, language: Language, voice_timings: list[WordTiming]
    ) -> list[WordTiming]: ...


# -- steps 3 to 8 ---------------------------------------------------------------------------------------------


@runtime_checkable
class ImageEditor(Protocol):
    name: str
    degraded: bool

    def edit(self, image: Path, out: Path, *, task: Literal["restore", "realistic"]) -> None:
        """Write the edited image to ``out`` (same size and pose as ``image``)."""
        ...


@runtime_checkable
class VideoMaker(Protocol):
    """First/last-frame video: a clip that starts on one image and ends on another."""

    name: str
    degraded: bool

    def first_last(
        self,
        first: Path,
        last: Path,
        out: Path,
        *,
        seconds: float,
        style: Literal["transition", "outro"],
        width: int,
        height: int,
        fps: int,
    ) -> None: ...


@runtime_checkable
class LipSyncer(Protocol):
    name: str
    degraded: bool

    def animate(
        self,
        portrait: Path,
        audio: Path,
        out: Path,
        *,
        face: Box | None,
        width: int,
        height: int,
        fps: int,
    ) -> None:
        """Write a clip of the portrait speaking ``audio``, as long as the audio, with the audio muxed in.

        ``face`` is in the pixel coordinates of ``portrait``.
        """
        ...


# -- what the engine asks of the roles, and what a backend may reach of the attempt it runs in ----------------


class RunHooks(Protocol):
    """The hooks the engine calls on the roles of a run (:class:`vivant.backends.registry.Roles` has them)."""

    def preflight(self, steps: list[str]) -> None:
        """Before a batch's first unit: check what remote backends need; raise naming the first problem."""
        ...

    def enter_step(self, step: str, backend: str) -> None:
        """Before the units of ``step`` start (ComfyUI frees the last step's models)."""
        ...

    def parallel_units(self, backend: str) -> int:
        """How many units of one step on ``backend`` may be in flight at once (1: inline, one at a time)."""
        ...

    def early_handover(self, backend: str) -> bool:
        """Whether a lane may start its next step on ``backend`` while this one's last jobs still run remotely."""
        ...

    def close(self) -> None:
        """At the end of a run (also on error or interrupt): release clients, pools, loaded models."""
        ...


InputLookup = Callable[[str, str, str], Path]
"""(step name, artifact kind, language or "") -> absolute path of a committed artifact."""

M = TypeVar("M", bound=BaseModel)


@dataclass
class RemoteTiming:
    """Filled by a remote backend: seconds waiting in the server's queue, computing there, and which server of
    its pool it was (a URL without credentials)."""

    queue_wait: float | None = None
    compute: float | None = None
    endpoint: str | None = None


def _no_inputs(step: str, kind: str, _language: str) -> Path:
    raise StepError(f"no {kind} from step {step}: this attempt was given no inputs")


@dataclass(kw_only=True)
class Attempt:
    """One attempt of one unit as its backends see it, from any thread: the painting, the folder to write in,
    the inputs (resolved by the engine before the attempt started: no database here), and the hooks that report
    back (remote id, progress, notices, the server's timing, a fallback). The engine makes it the current
    attempt of the thread that runs the step (:func:`current_attempt`)."""

    painting: Painting
    language: Language | None
    out: Path
    lookup: InputLookup = _no_inputs
    per_language_steps: frozenset[str] = frozenset()
    progress: Callable[..., None] = lambda _fraction, **_detail: None
    """``progress(fraction, **detail)``: detail (phase, node...) travels in the ``unit_progress`` event."""
    attempt_id: int | None = None
    previous_remote_ids: tuple[str, ...] = ()
    """Remote job ids recorded by this unit's earlier attempts that never finished (newest first)."""
    set_remote_id: Callable[[str], None] = lambda _rid: None
    """Record a remote job id in the attempt row; call it *before* submitting the job (waits until recorded)."""
    timing: RemoteTiming = field(default_factory=RemoteTiming)
    notice: Callable[..., None] = lambda _kind, **_data: None
    """``notice(kind, **data)``: a remote backend's incident (``unit_resubmitted``, ``endpoint_down``,
    ``endpoint_up``; see ``events.NOTICES``) becomes a persisted event of this unit; callable from any thread."""
    fallbacks: dict[str, str] = field(default_factory=dict)
    """Backend name -> the backend that did its work in this attempt instead (see :meth:`fall_back`)."""

    def input(self, step: str, kind: str) -> Path:
        """The artifact ``kind`` made by ``step`` for this painting (and this language, for a per-language step)."""
        language = (self.language or "") if step in self.per_language_steps else ""
        return self.lookup(step, kind, language)

    def input_model(self, step: str, kind: str, model: type[M]) -> M:
        path = self.input(step, kind)
        try:
            return model.model_validate_json(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as e:
            raise StepError(f"{path}: cannot read the {kind} of step {step}: {e}") from None

    def fall_back(self, backend: str, to: str) -> None:
        """Say that ``backend`` could not serve this attempt and ``to`` did the work (the result is degraded)."""
        self.fallbacks[backend] = to

    def ran(self, name: str, degraded: bool) -> tuple[str, bool]:
        """What really ran for the backend called ``name`` in this attempt, and whether it was degraded:
        ``name->fallback`` (degraded) after :meth:`fall_back`, else ``name`` as it is."""
        to = self.fallbacks.get(name)
        return (f"{name}->{to}", True) if to else (name, degraded)

    @property
    def lang(self) -> Language:
        if self.language is None:
            raise StepError("this step needs a language")
        return self.language

    def write_json(self, name: str, value: object) -> str:
        path = self.out / name
        text = value.model_dump_json(indent=2) if isinstance(value, BaseModel) else json.dumps(value, indent=2)
        path.write_text(text + "\n", encoding="utf-8")
        return name


_CURRENT: ContextVar[Attempt | None] = ContextVar("vivant_attempt", default=None)


def current_attempt() -> Attempt | None:
    """The attempt running in this thread (for backends that report back), or None outside the engine."""
    return _CURRENT.get()


@contextmanager
def running(attempt: Attempt) -> Iterator[Attempt]:
    """Make ``attempt`` the current one while its step runs."""
    token = _CURRENT.set(attempt)
    try:
        yield attempt
    finally:
        _CURRENT.reset(token)
