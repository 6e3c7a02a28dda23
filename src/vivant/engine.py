"""Runs a batch: the façade (run, resume, redo, summary) over the lane scheduler. Knows no backend protocol.

A batch runs step-major: in step mode every runnable item (and every language, for a per-language step) goes
through a step before any item goes through the next one, so that each model loads once per batch; in overlap
mode each resource is such a lane and lanes run side by side (:mod:`vivant.lanes`). Each (item, step, language)
is a *unit*; a unit that succeeded is never run again (unless a redo supersedes it). A unit's life — its attempt,
its temporary folder, the retry policy — is :mod:`vivant.unit`'s.
"""

from __future__ import annotations

import logging
import shutil
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from vivant.backends import families
from vivant.backends.registry import Roles
from vivant.config import Settings
from vivant.errors import BatchBusy, StoreError, VivantError
from vivant.events import Event, EventBus, EventKind
from vivant.lanes import Lanes
from vivant.languages import LANGUAGES
from vivant.roles import Language, RunHooks
from vivant.states import RUNNABLE, AttemptStatus, ItemState
from vivant.steps import STEPS, Step
from vivant.store import Holder, ItemRow, LeaseKeeper, NewArtifact, PaintingRow, Store, busy_message
from vivant.unit import TMP_PREFIX, Units, file_stem, sha256_of, to_painting

# file_stem, sha256_of and to_painting live in vivant.unit; publish/ and prefilter import them from here
__all__ = ["BatchSummary", "Engine", "file_stem", "sha256_of", "this_process", "to_painting"]

log = logging.getLogger(__name__)

LEASE_HEARTBEAT = 30.0
"""Seconds between two refreshes of a running batch's lease."""
LEASE_STALE = 300.0
"""A lease from another host not refreshed for this long is taken over (on this host the pid decides)."""


def this_process() -> Holder:
    """This process as a batch owner, with the command that runs (``vivant night``) for the busy message."""
    return Holder.this_process(" ".join([Path(sys.argv[0]).name, *sys.argv[1:2]]) if sys.argv else "")


@dataclass
class BatchSummary:
    batch_id: int
    states: dict[str, int]
    finished: bool


class Engine:
    """Runs batches stored in ``store`` with the roles built from ``settings``."""

    def __init__(
        self,
        store: Store,
        settings: Settings,
        *,
        roles: Roles | None = None,
        bus: EventBus | None = None,
        steps: Sequence[Step] = STEPS,
        sleep: Callable[[float], None] = time.sleep,
        monotonic: Callable[[], float] = time.monotonic,
        holder: Holder | None = None,
        lease_stale_after: float = LEASE_STALE,
        lease_heartbeat: float = LEASE_HEARTBEAT,
    ) -> None:
        self.store = store
        self.settings = settings
        self.roles = roles or Roles(settings)
        self.hooks: RunHooks = self.roles
        self.bus = bus or EventBus()
        self.steps = tuple(steps)
        self.sleep = sleep
        self.monotonic = monotonic
        self.holder = holder or this_process()
        self.lease_stale_after = lease_stale_after
        self.lease_heartbeat = lease_heartbeat
        self._keeper: LeaseKeeper | None = None
        self.units = Units(store, settings, self.roles, self.steps, emit=self.emit, monotonic=monotonic,
                           check_lease=self._check_lease, backend_of=self.backend_of,
                           resource_of=self.resource_of)  # fmt: skip

    # -- events -------------------------------------------------------------------------------------------------
    def emit(self, kind: EventKind, batch_id: int | None, *, item: ItemRow | None = None, painting: str = "",
              step: Step | None = None, language: str = "", **data: object) -> None:  # fmt: skip
        self.bus.emit(
            Event(
                kind=kind,
                batch_id=batch_id,
                item_id=item.id if item else None,
                painting=painting,
                step=step.number if step else None,
                step_name=step.name if step else "",
                language=language,
                data=dict(data),
            )
        )

    # -- folders ------------------------------------------------------------------------------------------------
    def unit_dir(self, batch_id: int, painting: PaintingRow, step: Step, language: str) -> Path:
        return self.units.unit_dir(batch_id, painting, step, language)

    def _clean_tmp(self, batch_id: int) -> int:
        root = self.settings.batches_dir / f"{batch_id:04d}"
        removed = 0
        if root.is_dir():
            for tmp in root.glob(f"*/{TMP_PREFIX}*"):
                shutil.rmtree(tmp, ignore_errors=True)
                removed += 1
        return removed

    # -- batches ------------------------------------------------------------------------------------------------
    def recover(self, batch_id: int) -> int:
        """After a crash: mark attempts left running as interrupted and remove stale temporary folders."""
        followed = sum(
            1 for a in self.store.attempts(batch_id=batch_id, include_superseded=False)
            if a.status == AttemptStatus.RUNNING and a.remote_id
        )  # fmt: skip
        n = self.store.interrupt_running(batch_id)
        removed = self._clean_tmp(batch_id)
        if n or removed:
            log.info("batch %d: %d interrupted attempt(s) (%d with a remote job to follow); %d temporary folder(s)"
                     " removed", batch_id, n, followed, removed)  # fmt: skip
            self.emit("recovered", batch_id, interrupted=n, followed=followed, tmp_removed=removed)
        return n

    def languages(self, batch_id: int) -> list[Language]:
        langs: list[Language] = []
        for lang in self.store.batch(batch_id).languages:
            if lang not in LANGUAGES:
                raise VivantError(f"batch {batch_id}: unknown language {lang!r}")
            langs.append(lang)
        return langs

    def run(self, batch_id: int) -> BatchSummary:
        """Run (or continue) a batch until every item is COMPLETE, FAILED or ABORTED.

        The batch's lease comes first: when another live process owns the batch, :class:`BatchBusy` is raised
        before anything changes (no attempt interrupted, no folder removed); a dead owner's lease is taken over.
        """
        store = self.store
        store.batch(batch_id)
        taken = store.acquire_lease(batch_id, self.holder, stale_after=self.lease_stale_after)
        if taken is not None:
            log.info("batch %d: took over the lease of process %d on %s (no longer running)",
                     batch_id, taken.pid, taken.host)  # fmt: skip
        self._keeper = LeaseKeeper(store.path, batch_id, self.holder, interval=self.lease_heartbeat,
                                   clock=store.clock).start()  # fmt: skip
        try:
            return self._run(batch_id)
        finally:
            self.hooks.close()  # pools, clients and loaded models go with the run (a later one builds them again)
            self._keeper.stop()
            self._keeper = None
            try:
                store.release_lease(batch_id, self.holder)
            except StoreError as e:
                log.warning("batch %d: cannot release its lease: %s", batch_id, e)

    def _check_lease(self, batch_id: int) -> None:
        if self._keeper is not None and self._keeper.lost.is_set():
            raise StoreError(f"batch {batch_id}: another process took this batch over (its lease): stopping here")

    def _run(self, batch_id: int) -> BatchSummary:
        store = self.store
        self.recover(batch_id)
        langs = self.languages(batch_id)
        self.hooks.preflight([s.name for s in self.steps])  # remote backends check their workflows before any work
        items = store.items(batch_id)
        store.set_batch_status(batch_id, "RUNNING")
        self.emit("batch_started", batch_id, items=len(items), languages=langs,
                   steps=[s.name for s in self.steps])  # fmt: skip
        paintings = {i.painting_id: store.painting(i.painting_id) for i in items}
        try:
            sched = self.settings.scheduler
            Lanes(self.units, self.hooks, batch_id, langs, paintings, overlap=sched.mode == "overlap",
                  order=sched.order, emit=self.emit, sleep=self.sleep, monotonic=self.monotonic).run()  # fmt: skip
            for item in store.items(batch_id):
                if item.state in RUNNABLE:
                    self._complete_if_done(item, langs)
            self.units.flush_notices()
        except BaseException as e:
            self.units.flush_notices()
            store.set_batch_status(batch_id, "INTERRUPTED")
            self.emit("batch_interrupted", batch_id, error=str(e) or type(e).__name__)
            raise
        summary = self.summary(batch_id)
        store.set_batch_status(batch_id, "FINISHED" if summary.finished else "INTERRUPTED")
        self.emit("batch_finished", batch_id, states=summary.states)
        return summary

    def summary(self, batch_id: int) -> BatchSummary:
        states: dict[str, int] = {}
        for item in self.store.items(batch_id):
            states[item.state.value] = states.get(item.state.value, 0) + 1
        finished = not any(s in states for s in RUNNABLE)
        return BatchSummary(batch_id, states, finished)

    def _units(self, step: Step, langs: Sequence[Language]) -> list[str]:
        return list(langs) if step.per_language else [""]

    def _complete_if_done(self, item: ItemRow, langs: Sequence[Language]) -> None:
        """Mark an item COMPLETE once every unit succeeded and its final files are in ``pool/``: the copy is part
        of finishing, so a copy that failed (or a crash right after the last step) is done again here."""
        for step in self.steps:
            for lang in self._units(step, langs):
                if not self.store.succeeded(item.id, step.number, lang):
                    return
        last = self.units.pool_step
        painting = self.store.painting(item.painting_id)
        for lang in self._units(last, langs):
            arts = self.store.artifacts(item.id, step=last.number, language=lang)
            self.units.copy_to_pool(item.batch_id, painting, lang,
                                    [NewArtifact(a.kind, a.path, a.sha256, a.bytes) for a in arts],
                                    only_missing=True)  # fmt: skip
        self.units.processing(item)
        self.store.set_state(item.id, ItemState.COMPLETE)
        self.emit("item_state", item.batch_id, item=item, state=ItemState.COMPLETE.value)

    def backend_of(self, step: Step) -> str:
        """The ``[backends]`` choice for a step (``local`` when the config names none)."""
        return str(getattr(self.settings.backends, step.name, "local"))

    def resource_of(self, step: Step) -> str:
        """Where a step runs (its attempts' resource, its lane in overlap mode): ``[scheduler.resources]`` first,
        else the CPU for local backends, the LLM box for OpenAI-compatible ones, else the step's own."""
        override = self.settings.scheduler.resources.get(step.name)
        if override:
            return override
        return families.resource(self.backend_of(step), step.resource)

    # -- redo ---------------------------------------------------------------------------------------------------
    def redo(self, item_id: int, from_step: Step) -> None:
        """Send an item back through the engine from ``from_step`` (its later results are superseded)."""
        item = self.store.item(item_id)
        lease = self.store.busy(item.batch_id, self.holder, stale_after=self.lease_stale_after)
        if lease is not None:
            raise BatchBusy(item.batch_id, busy_message(item.batch_id, lease, self.store.clock()))
        with self.store.atomic():
            self.store.supersede_from(item.id, from_step.number)
            self.store.set_state(item.id, ItemState.REDO, f"redo from step {from_step.label}",
                                 redo_from=from_step.number)  # fmt: skip
        self.emit("item_state", item.batch_id, item=item, step=from_step, state=ItemState.REDO.value)
