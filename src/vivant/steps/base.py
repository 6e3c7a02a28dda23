"""What every step shares: the context it is given, the result it returns, and its declaration.

A step reads its inputs (artifacts of earlier steps, through :meth:`StepContext.input`), calls roles, writes
files into ``ctx.out`` (a temporary folder the engine moves into place), and returns a :class:`StepResult`
naming what it made. It never touches SQLite, never retries, never prints, never sleeps.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

from vivant.config import Settings
from vivant.roles import Attempt, InputLookup, RemoteTiming, running

if TYPE_CHECKING:
    from vivant.backends.registry import Roles

__all__ = ["InputLookup", "RemoteTiming", "Resource", "Step", "StepContext", "StepFn", "StepResult", "running"]

Resource = Literal["cpu", "gpu", "llm"]


@dataclass(kw_only=True)
class StepContext(Attempt):
    """What a step runs with: the attempt (painting, folder, inputs, hooks; :class:`vivant.roles.Attempt`), the
    settings and the roles."""

    settings: Settings
    roles: Roles


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
