"""Item states and the one table of allowed transitions.

``PENDING → PROCESSING → COMPLETE | FAILED | ABORTED``; ``REDO`` sends an item back through the engine from
a chosen step; the review adds ``APPROVED | REJECTED``. :func:`vivant.store.Store.set_state` is the only
place a state changes, and it refuses anything not in :data:`ALLOWED`.
"""

from __future__ import annotations

from enum import StrEnum


class ItemState(StrEnum):
    PENDING = "PENDING"
    PROCESSING = "PROCESSING"
    COMPLETE = "COMPLETE"
    FAILED = "FAILED"
    ABORTED = "ABORTED"
    REDO = "REDO"
    APPROVED = "APPROVED"
    REJECTED = "REJECTED"


class AttemptStatus(StrEnum):
    RUNNING = "RUNNING"
    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"
    REFUSED = "REFUSED"
    INTERRUPTED = "INTERRUPTED"


S = ItemState
ALLOWED: dict[ItemState, frozenset[ItemState]] = {
    S.PENDING: frozenset({S.PROCESSING, S.ABORTED, S.FAILED}),
    S.PROCESSING: frozenset({S.COMPLETE, S.FAILED, S.ABORTED}),
    S.COMPLETE: frozenset({S.REDO, S.APPROVED, S.REJECTED}),
    S.FAILED: frozenset({S.REDO}),
    S.ABORTED: frozenset({S.REDO}),
    S.REDO: frozenset({S.PROCESSING}),
    S.APPROVED: frozenset({S.REDO, S.REJECTED}),
    S.REJECTED: frozenset({S.REDO, S.APPROVED}),
}

RUNNABLE = frozenset({S.PENDING, S.PROCESSING, S.REDO})
"""States of items the engine still has work for."""


def allowed(old: ItemState, new: ItemState) -> bool:
    return new in ALLOWED[old]
