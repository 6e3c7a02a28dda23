"""The review decisions, as plain functions over the store: approve, reject with reasons, redo from a step.

Each decision is one row in ``reviews`` (with its time) and one state change through
:meth:`vivant.store.Store.set_state`; a redo goes through :meth:`vivant.engine.Engine.redo`, exactly as
``vivant redo`` does. Approving puts the painting in the pool (metadata beside the videos); rejecting or
redoing an approved painting takes it out again and cancels its posts not yet made.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass

from vivant.config import Settings
from vivant.errors import IllegalTransition, VivantError
from vivant.states import ItemState
from vivant.store import Store

log = logging.getLogger(__name__)

REJECT_REASONS: dict[str, str] = {
    "facial-animation": "Incorrect facial animation",
    "artifacts": "Visual artifacts",
    "lipsync": "Failed lip-sync",
    "transition": "Ugly transition",
    "script": "Script with errors",
}
"""The seed's five reasons for rejecting a finished video (key → label); free text comes in addition."""

REVIEWABLE = frozenset({ItemState.COMPLETE, ItemState.APPROVED, ItemState.REJECTED})
"""States in which a decision can be made (a decision can be changed until the painting is redone)."""

MAX_NOTE = 2000


class ReviewError(VivantError):
    """A review decision that cannot be made (unknown painting, wrong state, bad reason)."""

    def __init__(self, message: str, *, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class Decision:
    item_id: int
    decision: str
    state: ItemState
    message: str


def _reviewable(store: Store, item_id: int) -> ItemState:
    try:
        item = store.item(item_id)
    except VivantError:
        raise ReviewError(f"no painting to review with id {item_id}", status=404) from None
    if item.state not in REVIEWABLE:
        raise ReviewError(f"item {item_id} is {item.state.value}: only finished paintings can be reviewed", status=409)
    return item.state


def approve(store: Store, settings: Settings, item_id: int, *, note: str = "") -> Decision:
    from vivant.publish import pool

    _reviewable(store, item_id)
    try:
        with store.atomic():
            store.add_review(item_id, "APPROVE", note=note[:MAX_NOTE])
            store.set_state(item_id, ItemState.APPROVED, "approved in review")
    except IllegalTransition as e:
        raise ReviewError(str(e), status=409) from None
    pool.add(store, settings, item_id)
    log.info("item %d approved", item_id)
    return Decision(item_id, "APPROVE", ItemState.APPROVED, "approved: in the pool for publishing")


def reject(store: Store, settings: Settings, item_id: int, reasons: Sequence[str], *, note: str = "") -> Decision:
    from vivant.publish import pool

    _reviewable(store, item_id)
    unknown = [r for r in reasons if r not in REJECT_REASONS]
    if unknown:
        raise ReviewError(f"unknown rejection reason {unknown[0]!r}: choose from {', '.join(REJECT_REASONS)}")
    note = note.strip()[:MAX_NOTE]
    if not reasons and not note:
        raise ReviewError("a rejection needs a reason: tick one or write a note")
    labels = [REJECT_REASONS[r] for r in reasons]
    why = "; ".join([*labels, *([note] if note else [])])
    try:
        with store.atomic():
            store.add_review(item_id, "REJECT", reasons=list(reasons), note=note)
            store.set_state(item_id, ItemState.REJECTED, f"rejected in review: {why}")
    except IllegalTransition as e:
        raise ReviewError(str(e), status=409) from None
    pool.withdraw(store, settings, item_id)
    log.info("item %d rejected: %s", item_id, ", ".join(reasons) or "note")
    return Decision(item_id, "REJECT", ItemState.REJECTED, f"rejected: {why}")


def redo(store: Store, settings: Settings, item_id: int, step_ref: str, *, note: str = "") -> Decision:
    """Send the painting back through the engine from a step (``Engine.redo``, as ``vivant redo`` does)."""
    from vivant.engine import Engine
    from vivant.publish import pool
    from vivant.steps import find_step

    _reviewable(store, item_id)
    try:
        step = find_step(step_ref)
    except KeyError as e:
        raise ReviewError(str(e.args[0])) from None
    pool.withdraw(store, settings, item_id)
    try:
        with store.atomic():
            store.add_review(item_id, "REDO", note=note.strip()[:MAX_NOTE], redo_from=step.number)
            Engine(store, settings).redo(item_id, step)
    except IllegalTransition as e:
        raise ReviewError(str(e), status=409) from None
    log.info("item %d: redo from step %s", item_id, step.label)
    return Decision(
        item_id, "REDO", ItemState.REDO, f"redo from step {step.label} at the next `vivant resume` or night"
    )
