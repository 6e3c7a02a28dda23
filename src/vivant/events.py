"""Typed events. The engine emits them; the CLI progress display, the store's event log and (later) the web
page subscribe. Library code never prints: it emits.

Event names are a ``Literal`` so that a misspelled name fails type checking.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

log = logging.getLogger(__name__)

EventKind = Literal[
    "batch_started",
    "batch_finished",
    "batch_interrupted",
    "step_started",
    "step_finished",
    "unit_started",
    "unit_progress",
    "unit_succeeded",
    "unit_failed",
    "unit_retry",
    "item_state",
    "recovered",
    "pooled",
    "unit_resubmitted",
    "endpoint_down",
    "endpoint_up",
]

NOTICES: frozenset[str] = frozenset({"unit_resubmitted", "endpoint_down", "endpoint_up"})
"""Kinds a step's backend may report through ``StepContext.notice`` (a remote job sent again, a server lost or
back): persisted, shown by ``vivant status`` and counted by the report."""

PERSISTED: frozenset[str] = frozenset(
    {
        "batch_started", "batch_finished", "batch_interrupted", "step_started", "step_finished",
        "unit_succeeded", "unit_failed", "unit_retry", "item_state", "recovered", "pooled",
        "unit_resubmitted", "endpoint_down", "endpoint_up",
    }
)  # fmt: skip
"""Kinds worth a row in the events table (progress ticks are not)."""


@dataclass(frozen=True)
class Event:
    kind: EventKind
    batch_id: int | None = None
    item_id: int | None = None
    painting: str = ""
    step: int | None = None
    step_name: str = ""
    language: str = ""
    data: dict[str, Any] = field(default_factory=dict)


Listener = Callable[[Event], None]


class EventBus:
    """Fan-out of events to listeners. A failing listener is logged, never breaks the engine."""

    def __init__(self) -> None:
        self._listeners: list[Listener] = []

    def subscribe(self, listener: Listener) -> Callable[[], None]:
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener)

    def emit(self, event: Event) -> None:
        for listener in list(self._listeners):
            try:
                listener(event)
            except Exception:
                log.exception("event listener failed on %s", event.kind)
