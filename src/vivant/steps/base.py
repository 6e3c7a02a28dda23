"""What every step shares: the context it is given, the result it returns, and its declaration.

A step reads its inputs (artifacts of earlier steps, through :meth:`StepContext.input`), calls roles, writes
files into ``ctx.out`` (a temporary folder the engine moves into place), and returns a :class:`StepResult`
naming what it made. It never touches SQLite, never retries, never prints, never sleeps.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Literal, TypeVar

from pydantic import BaseModel

from vivant.config import Settings
from vivant.errors import StepError
from vivant.roles import Language, Painting

if TYPE_CHECKING:
    from vivant.backends.registry import Roles

Resource = Literal["cpu", "gpu", "llm"]
M = TypeVar("M", bound=BaseModel)

InputLookup = Callable[[str, str, str], Path]
"""(step name, artifact kind, language or "") -> absolute path of a committed artifact."""


@dataclass
class RemoteTiming:
    """Filled by a remote backend: seconds waiting in the server's queue, computing there, and which server of
    its pool it was (a URL without credentials)."""

    queue_wait: float | None = None
    compute: float | None = None
    endpoint: str | None = None


@dataclass
class StepContext:
    painting: Painting
    language: Language | None
    out: Path
    settings: Settings
    roles: Roles
    lookup: InputLookup
    per_language_steps: frozenset[str]
    progress: Callable[..., None] = lambda _fraction, **_detail: None
    """``progress(fraction, **detail)``: detail (phase, node...) travels in the ``unit_progress`` event."""
    attempt_id: int | None = None
    previous_remote_ids: tuple[str, ...] = ()
    """Remote job ids recorded by this unit's earlier attempts that never finished (newest first)."""
    set_remote_id: Callable[[str], None] = lambda _rid: None
    """Record a remote job id in the attempt row; call it *before* submitting the job."""
    timing: RemoteTiming = field(default_factory=RemoteTiming)
    notice: Callable[..., None] = lambda _kind, **_data: None
    """``notice(kind, **data)``: a remote backend's incident (``unit_resubmitted``, ``endpoint_down``,
    ``endpoint_up``; see ``events.NOTICES``) becomes a persisted event of this unit; callable from any thread."""

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


@dataclass
class StepResult:
    """What a step made: artifact kind -> file name inside ``ctx.out``."""

    artifacts: dict[str, str]
    backend: str
    degraded: bool = False
    refused: list[str] = field(default_factory=list)
    """Non-empty when step 0 refuses the painting; the item becomes ABORTED with these reasons."""
    queue_wait: float | None = None
    compute: float | None = None
    """Set by remote backends (the server's own figures); otherwise the engine records its wall time."""


StepFn = Callable[[StepContext], StepResult]

_CURRENT: ContextVar[StepContext | None] = ContextVar("vivant_step_context", default=None)


def current_context() -> StepContext | None:
    """The context of the step running in this thread (for backends that need the engine's hooks)."""
    return _CURRENT.get()


@contextmanager
def running(ctx: StepContext) -> Iterator[StepContext]:
    """Make ``ctx`` the current step context while the step runs."""
    token = _CURRENT.set(ctx)
    try:
        yield ctx
    finally:
        _CURRENT.reset(token)


@dataclass(frozen=True)
class Step:
    number: int
    name: str
    run: StepFn
    per_language: bool = False
    resource: Resource = "cpu"
    """Where the production backend runs; local backends always run on the CPU."""
    needs: tuple[str, ...] = ()
    """Steps whose artifacts this one reads (the real dependencies)."""

    @property
    def label(self) -> str:
        return f"{self.number} {self.name}"
