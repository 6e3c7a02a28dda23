"""Runs a batch: step-major order, retries, resume, timing and events. Knows no backend protocol.

For each step in :data:`vivant.steps.STEPS`, every runnable item (and every language, for a per-language
step) goes through that step before any item goes through the next one, so that each model loads once per
batch. Each (item, step, language) is a *unit*; a unit that succeeded is never run again (unless a redo
supersedes it). A unit runs in a temporary folder beside its final folder; on success the folder is renamed
into place and only then is the attempt committed, with the sha256 of every artifact.

Failure policy (data, applied here; steps never loop or sleep):
- ``StepResult.refused`` → the item is ABORTED with the reasons (step 0's refusal);
- :class:`~vivant.errors.InputError` → the item FAILED at once (bad input: retrying cannot help);
- any other error → retried with exponential backoff, up to ``retries.attempts`` attempts; then FAILED;
- :class:`~vivant.errors.WorkspaceError` (disk full...) → the batch stops; what is committed stays.
"""

from __future__ import annotations

import errno
import hashlib
import logging
import os
import queue
import shutil
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import cast

from vivant.backends import families
from vivant.backends.registry import Roles
from vivant.config import Settings
from vivant.errors import BatchBusy, InputError, StepError, StoreError, VivantError, WorkspaceError
from vivant.events import NOTICES, Event, EventBus, EventKind
from vivant.roles import Gender, Language, Painting
from vivant.states import RUNNABLE, AttemptStatus, ItemState
from vivant.steps import STEPS, Step, StepContext, StepResult
from vivant.steps.base import running
from vivant.store import AttemptRow, Holder, ItemRow, LeaseKeeper, NewArtifact, PaintingRow, Store, busy_message

log = logging.getLogger(__name__)

TMP_PREFIX = ".tmp-"
LEASE_HEARTBEAT = 30.0
"""Seconds between two refreshes of a running batch's lease."""
LEASE_STALE = 300.0
"""A lease from another host not refreshed for this long is taken over (on this host the pid decides)."""


def this_process() -> Holder:
    """This process as a batch owner, with the command that runs (``vivant night``) for the busy message."""
    return Holder.this_process(" ".join([Path(sys.argv[0]).name, *sys.argv[1:2]]) if sys.argv else "")


def to_painting(row: PaintingRow) -> Painting:
    return Painting(
        id=row.id, key=row.key, title=row.title, artist=row.artist, year=row.year, artist_died=row.artist_died,
        genre=row.genre, style=row.style, image_path=Path(row.image_path), tags=row.tags,
        description=row.description, title_fr=row.title_fr, gender=cast("Gender | None", row.gender),
    )  # fmt: skip


def file_stem(key: str) -> str:
    """A painting key as one safe file-name part (keys may hold '/' from nested catalog folders)."""
    return key.replace("/", "__").replace("\\", "__").lstrip(".") or "painting"


def sha256_of(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


@dataclass
class UnitOutcome:
    ok: bool
    refused: list[str] = field(default_factory=list)
    error: str = ""


@dataclass
class _Unit:
    """One attempt of one unit, between its start and its settlement."""

    item: ItemRow
    painting: PaintingRow
    step: Step
    lang: str
    attempt: AttemptRow
    tmp: Path
    final_dir: Path
    ctx: StepContext
    t0: float


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
        self.bus = bus or EventBus()
        self.steps = tuple(steps)
        self.sleep = sleep
        self.monotonic = monotonic
        self._per_language = frozenset(s.name for s in self.steps if s.per_language)
        self.holder = holder or this_process()
        self.lease_stale_after = lease_stale_after
        self.lease_heartbeat = lease_heartbeat
        self._keeper: LeaseKeeper | None = None
        self._later: queue.SimpleQueue[Callable[[], None]] = queue.SimpleQueue()
        """Events noticed on other threads, emitted by the main thread (listeners write to SQLite)."""
        # the step whose video and thumbnail are copied into pool/ (QA runs after it)
        self._pool_step = next((s for s in self.steps if s.name == "final"), self.steps[-1])

    # -- events -------------------------------------------------------------------------------------------------
    def _emit(self, kind: EventKind, batch_id: int | None, *, item: ItemRow | None = None, painting: str = "",
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
    def item_dir(self, batch_id: int, painting: PaintingRow) -> Path:
        return self.settings.batches_dir / f"{batch_id:04d}" / file_stem(painting.key)

    def unit_dir(self, batch_id: int, painting: PaintingRow, step: Step, language: str) -> Path:
        name = f"{step.number}-{step.name}" + (f"-{language}" if language else "")
        return self.item_dir(batch_id, painting) / name

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
            self._emit("recovered", batch_id, interrupted=n, followed=followed, tmp_removed=removed)
        return n

    def languages(self, batch_id: int) -> list[Language]:
        langs: list[Language] = []
        for lang in self.store.batch(batch_id).languages:
            if lang not in ("fr", "en"):
                raise VivantError(f"batch {batch_id}: unknown language {lang!r}")
            langs.append(lang)  # type: ignore[arg-type]
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
        preflight = getattr(self.roles, "preflight", None)
        if preflight is not None:
            preflight([s.name for s in self.steps])  # remote backends check their workflows before any work
        items = store.items(batch_id)
        store.set_batch_status(batch_id, "RUNNING")
        self._emit("batch_started", batch_id, items=len(items), languages=langs,
                   steps=[s.name for s in self.steps])  # fmt: skip
        paintings = {i.painting_id: store.painting(i.painting_id) for i in items}
        try:
            if self.settings.scheduler.mode == "overlap":
                from vivant.scheduler import OverlapScheduler

                OverlapScheduler(self, batch_id, langs, paintings).run()
            else:
                for step in self.steps:
                    self._run_step(batch_id, step, langs, paintings)
            for item in store.items(batch_id):
                if item.state in RUNNABLE:
                    self._complete_if_done(item, langs)
            self.flush_notices()
        except BaseException as e:
            self.flush_notices()
            store.set_batch_status(batch_id, "INTERRUPTED")
            self._emit("batch_interrupted", batch_id, error=str(e) or type(e).__name__)
            raise
        summary = self.summary(batch_id)
        store.set_batch_status(batch_id, "FINISHED" if summary.finished else "INTERRUPTED")
        self._emit("batch_finished", batch_id, states=summary.states)
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
        last = self.steps[-1]
        painting = self.store.painting(item.painting_id)
        for lang in self._units(last, langs):
            arts = self.store.artifacts(item.id, step=last.number, language=lang)
            self._pool(item.batch_id, painting, lang, [NewArtifact(a.kind, a.path, a.sha256, a.bytes) for a in arts],
                       only_missing=True)  # fmt: skip
        if item.state in (ItemState.PENDING, ItemState.REDO):
            self.store.set_state(item.id, ItemState.PROCESSING)
        self.store.set_state(item.id, ItemState.COMPLETE)
        self._emit("item_state", item.batch_id, item=item, state=ItemState.COMPLETE.value)

    def _run_step(self, batch_id: int, step: Step, langs: Sequence[Language],
                  paintings: dict[int, PaintingRow]) -> None:  # fmt: skip
        store = self.store
        todo = [
            (item, lang)
            for item in store.items(batch_id)
            if item.state in RUNNABLE
            for lang in self._units(step, langs)
            if not store.succeeded(item.id, step.number, lang)
        ]
        if not todo:
            return
        backend = self._backend_name(step)
        enter = getattr(self.roles, "enter_step", None)
        if enter is not None:
            enter(step.name, backend)
        width = self._parallel_units(backend)
        self._emit("step_started", batch_id, step=step, units=len(todo))
        t0 = self.monotonic()
        if width > 1 and len(todo) > 1:
            self._run_step_ahead(batch_id, step, todo, paintings, width)
        else:
            for n, (stale, lang) in enumerate(todo):
                item = store.item(stale.id)
                if item.state not in RUNNABLE:
                    continue  # aborted or failed by an earlier language of this step
                painting = paintings[item.painting_id]
                if item.state in (ItemState.PENDING, ItemState.REDO):
                    store.set_state(item.id, ItemState.PROCESSING)
                outcome = self._run_unit(batch_id, item, painting, step, lang, position=(n, len(todo)))
                self._apply_outcome(batch_id, item, painting, step, lang, outcome)
        self._emit("step_finished", batch_id, step=step, seconds=round(self.monotonic() - t0, 3))

    def _parallel_units(self, backend: str) -> int:
        """How many units of a step may be in flight at once: 1 unless the backend queues work remotely."""
        fn = getattr(self.roles, "parallel_units", None)
        return max(1, int(fn(backend))) if fn is not None else 1

    def _apply_outcome(self, batch_id: int, item: ItemRow, painting: PaintingRow, step: Step, lang: str,
                       outcome: UnitOutcome) -> None:  # fmt: skip
        store = self.store
        if outcome.refused:
            reason = "; ".join(outcome.refused)
            store.set_state(item.id, ItemState.ABORTED, f"step {step.label}: {reason}")
            self._emit("item_state", batch_id, item=item, painting=painting.key, step=step,
                       state=ItemState.ABORTED.value, reason=reason)  # fmt: skip
        elif not outcome.ok:
            if store.item(item.id).state == ItemState.FAILED:
                return  # another language of this step failed it already
            where = f"step {step.label}" + (f" [{lang}]" if lang else "")
            store.set_state(item.id, ItemState.FAILED, f"{where}: {outcome.error}")
            self._emit("item_state", batch_id, item=item, painting=painting.key, step=step, language=lang,
                       state=ItemState.FAILED.value, reason=outcome.error)  # fmt: skip

    # -- one unit -----------------------------------------------------------------------------------------------
    def _lookup(self, item: ItemRow) -> Callable[[str, str, str], Path]:
        by_name = {s.name: s for s in self.steps}

        def lookup(step_name: str, kind: str, language: str) -> Path:
            step = by_name[step_name]
            found = self.store.artifacts(item.id, step=step.number, language=language, kind=kind)
            if not found:
                where = f" [{language}]" if language else ""
                raise StepError(f"no {kind} from step {step.label}{where}: run that step first")
            return self.settings.workspace / found[-1].path

        return lookup

    def _backend_name(self, step: Step) -> str:
        return getattr(self.settings.backends, step.backend_key or step.name, "local")

    def resource_of(self, step: Step) -> str:
        """Where a step runs (its attempts' resource, its lane in overlap mode): ``[scheduler.resources]`` first,
        else the CPU for local backends, the LLM box for OpenAI-compatible ones, else the step's own."""
        override = self.settings.scheduler.resources.get(step.name)
        if override:
            return override
        return families.resource(self._backend_name(step), step.resource)

    def _open_attempt(self, batch_id: int, item: ItemRow, painting: PaintingRow, step: Step, lang: str, *,
                      position: tuple[int, int],
                      remote_id_setter: Callable[[int, str, str | None], None] | None = None) -> _Unit:  # fmt: skip
        """Start an attempt row and build the context its step runs with (the folder is made by the runner)."""
        store = self.store
        self._check_lease(batch_id)
        backend = self._backend_name(step)
        resource = self.resource_of(step)
        previous = tuple(
            a.remote_id
            for a in reversed(store.attempts(item_id=item.id, include_superseded=False))
            if a.step == step.number and a.language == lang and a.remote_id
            and a.status == AttemptStatus.INTERRUPTED
        )  # fmt: skip
        attempt = store.start_attempt(item.id, step.number, lang, backend=backend, resource=resource)
        final_dir = self.unit_dir(batch_id, painting, step, lang)
        tmp = final_dir.parent / f"{TMP_PREFIX}{final_dir.name}-{attempt.id}"
        self._emit("unit_started", batch_id, item=item, painting=painting.key, step=step, language=lang,
                   attempt=attempt.number, index=position[0], total=position[1])  # fmt: skip

        def progress(fraction: float, _step: Step = step, _lang: str = lang, **detail: object) -> None:
            self._emit("unit_progress", batch_id, item=item, painting=painting.key, step=_step,
                       language=_lang, fraction=max(0.0, min(1.0, fraction)), **detail)  # fmt: skip

        setter = remote_id_setter or store.set_remote_id

        def set_remote_id(rid: str, _id: int = attempt.id) -> None:
            setter(_id, rid, ctx.timing.endpoint)  # the backend names the server before it submits

        def notice(kind: str, _step: Step = step, _lang: str = lang, **data: object) -> None:
            if kind not in NOTICES:
                log.warning("%s: unknown notice %r from step %s", painting.key, kind, _step.label)
                return
            data.setdefault("at", self.store.clock())

            def emit() -> None:
                self._emit(cast(EventKind, kind), batch_id, item=item, painting=painting.key, step=_step,
                           language=_lang, attempt=attempt.number, **data)  # fmt: skip

            if threading.current_thread() is threading.main_thread():
                emit()
            else:
                self._later.put(emit)

        language: Language | None = lang or None  # type: ignore[assignment]
        ctx = StepContext(
            painting=to_painting(painting), language=language, out=tmp, settings=self.settings,
            roles=self.roles, lookup=self._lookup(item), per_language_steps=self._per_language,
            progress=progress, attempt_id=attempt.id, previous_remote_ids=previous,
            set_remote_id=set_remote_id, notice=notice,
        )  # fmt: skip
        return _Unit(item, painting, step, lang, attempt, tmp, final_dir, ctx, self.monotonic())

    def _execute(self, unit: _Unit) -> tuple[StepResult, list[NewArtifact]]:
        """Run the step in its temporary folder and move the folder into place (no database access)."""
        unit.tmp.mkdir(parents=True, exist_ok=False)
        with running(unit.ctx):
            result = unit.step.run(unit.ctx)
        return result, self._commit_files(unit.tmp, unit.final_dir, result)

    def flush_notices(self) -> None:
        """Emit (on the main thread) the events other threads noticed."""
        while True:
            try:
                emit = self._later.get_nowait()
            except queue.Empty:
                return
            emit()

    def _succeeded(self, batch_id: int, unit: _Unit, result: StepResult, artifacts: list[NewArtifact]) -> UnitOutcome:
        self.flush_notices()
        wall = self.monotonic() - unit.t0
        timing = unit.ctx.timing
        queue_wait = result.queue_wait if result.queue_wait is not None else timing.queue_wait
        compute = result.compute if result.compute is not None else timing.compute
        status = AttemptStatus.REFUSED if result.refused else AttemptStatus.SUCCEEDED
        self.store.finish_attempt(
            unit.attempt.id, status, backend=result.backend, degraded=result.degraded,
            queue_wait=queue_wait if queue_wait is not None else 0.0,
            compute=compute if compute is not None else wall, artifacts=artifacts, error="; ".join(result.refused),
            endpoint=timing.endpoint,
        )  # fmt: skip
        self._emit("unit_succeeded", batch_id, item=unit.item, painting=unit.painting.key, step=unit.step,
                   language=unit.lang, attempt=unit.attempt.number, seconds=round(wall, 3), backend=result.backend,
                   degraded=result.degraded, refused=result.refused, status=status.value,
                   queue_wait=queue_wait, compute=compute)  # fmt: skip
        if unit.step is self._pool_step and not result.refused:
            self._pool(batch_id, unit.painting, unit.lang, artifacts)
        return UnitOutcome(ok=True, refused=result.refused)

    def _failed(self, batch_id: int, unit: _Unit, e: BaseException) -> tuple[str, bool]:
        """Record a failed attempt; return (error, retry?). Re-raises what must stop the batch."""
        self.flush_notices()
        shutil.rmtree(unit.tmp, ignore_errors=True)
        compute = self.monotonic() - unit.t0
        fatal = _as_workspace_error(e)
        if fatal is not None or not isinstance(e, Exception):
            status = AttemptStatus.FAILED if fatal is not None else AttemptStatus.INTERRUPTED
            self.store.finish_attempt(unit.attempt.id, status, error=str(fatal or "interrupted"), compute=compute)
            if fatal is not None:
                raise fatal from e
            raise e
        error = _describe(e)
        if not isinstance(e, VivantError):
            log.error("%s: step %s%s: unexpected error", unit.painting.key, unit.step.label,
                      f" [{unit.lang}]" if unit.lang else "", exc_info=e)  # fmt: skip
        self.store.finish_attempt(unit.attempt.id, AttemptStatus.FAILED, error=error, compute=compute,
                                  endpoint=unit.ctx.timing.endpoint)  # fmt: skip
        self._emit("unit_failed", batch_id, item=unit.item, painting=unit.painting.key, step=unit.step,
                   language=unit.lang, attempt=unit.attempt.number, error=error)  # fmt: skip
        final = isinstance(e, InputError) or (isinstance(e, StepError) and not e.retryable)
        return error, not final

    def _run_unit(self, batch_id: int, item: ItemRow, painting: PaintingRow, step: Step, lang: str, *,
                  position: tuple[int, int]) -> UnitOutcome:  # fmt: skip
        store = self.store
        max_attempts = self.settings.retries.attempts
        last_error = ""
        retried_here = False
        while True:
            failures = store.failures(item.id, step.number, lang)
            if failures >= max_attempts:
                return UnitOutcome(ok=False, error=last_error or self._last_error(item.id, step.number, lang))
            if retried_here:
                delay = self.settings.retries.backoff_seconds * (2 ** (failures - 1))
                self._emit("unit_retry", batch_id, item=item, painting=painting.key, step=step, language=lang,
                           attempt=failures + 1, delay=delay, error=last_error)  # fmt: skip
                self.sleep(delay)
            unit = self._open_attempt(batch_id, item, painting, step, lang, position=position)
            try:
                result, artifacts = self._execute(unit)
            except BaseException as e:
                last_error, retry = self._failed(batch_id, unit, e)
                if not retry:
                    return UnitOutcome(ok=False, error=last_error)
                retried_here = True
                continue
            return self._succeeded(batch_id, unit, result, artifacts)

    def _run_step_ahead(self, batch_id: int, step: Step, todo: list[tuple[ItemRow, str]],
                        paintings: dict[int, PaintingRow], width: int) -> None:  # fmt: skip
        """Queue-ahead: run up to ``width`` units of one step at once, in rounds of attempts.

        Each round starts one attempt for every unit still to do (so a remote server gets every job queued
        before the first one ends), then settles them as they finish. Only this thread touches the database:
        workers hand their ``set_remote_id`` calls over and wait until they are recorded. Units that failed
        in a way worth retrying go to the next round after the usual backoff.
        """
        store = self.store
        max_attempts = self.settings.retries.attempts
        inbox: queue.Queue[tuple[str, object]] = queue.Queue()

        def set_remote_id(attempt_id: int, rid: str, endpoint: str | None) -> None:
            if threading.current_thread() is threading.main_thread():
                store.set_remote_id(attempt_id, rid, endpoint)
                return
            done = threading.Event()
            inbox.put(("call", (lambda: store.set_remote_id(attempt_id, rid, endpoint), done)))
            done.wait()

        positions = {(it.id, lang): n for n, (it, lang) in enumerate(todo)}
        pending = [(it.id, lang) for it, lang in todo]
        errors: dict[tuple[int, str], str] = {}
        first_round = True
        with _executor(min(width, len(todo)), f"step-{step.name}") as pool:
            while pending:
                runnable: list[tuple[ItemRow, str]] = []
                for item_id, lang in pending:
                    item = store.item(item_id)
                    if item.state not in RUNNABLE:
                        continue
                    if store.failures(item_id, step.number, lang) >= max_attempts:
                        error = errors.get((item_id, lang)) or self._last_error(item_id, step.number, lang)
                        self._apply_outcome(batch_id, item, paintings[item.painting_id], step, lang,
                                            UnitOutcome(ok=False, error=error))  # fmt: skip
                        continue
                    runnable.append((item, lang))
                if not runnable:
                    return
                if not first_round:
                    failures = min(store.failures(it.id, step.number, lang) for it, lang in runnable)
                    delay = self.settings.retries.backoff_seconds * (2 ** (max(failures, 1) - 1))
                    for it, lang in runnable:
                        self._emit("unit_retry", batch_id, item=it, painting=paintings[it.painting_id].key,
                                   step=step, language=lang, attempt=store.failures(it.id, step.number, lang) + 1,
                                   delay=delay, error=errors.get((it.id, lang), ""))  # fmt: skip
                    self.sleep(delay)
                first_round = False
                units: dict[Future[tuple[StepResult, list[NewArtifact]]], _Unit] = {}
                for item, lang in runnable:
                    if item.state in (ItemState.PENDING, ItemState.REDO):
                        store.set_state(item.id, ItemState.PROCESSING)
                    unit = self._open_attempt(batch_id, item, paintings[item.painting_id], step, lang,
                                              position=(positions[(item.id, lang)], len(todo)),
                                              remote_id_setter=set_remote_id)  # fmt: skip
                    fut = pool.submit(self._execute, unit)
                    fut.add_done_callback(lambda f: inbox.put(("done", f)))
                    units[fut] = unit
                pending = []
                fatal: BaseException | None = None
                try:
                    while units:
                        kind, payload = inbox.get()
                        self.flush_notices()
                        if kind == "call":
                            call, done = cast(tuple[Callable[[], None], threading.Event], payload)
                            try:
                                call()
                            finally:
                                done.set()
                            continue
                        unit = units.pop(payload)  # type: ignore[call-overload]
                        try:
                            result, artifacts = payload.result()  # type: ignore[attr-defined]
                        except BaseException as e:
                            try:
                                error, retry = self._failed(batch_id, unit, e)
                            except WorkspaceError as stop:
                                fatal = fatal or stop
                                continue
                            if retry:
                                pending.append((unit.item.id, unit.lang))
                                errors[(unit.item.id, unit.lang)] = error
                            else:
                                self._apply_outcome(batch_id, unit.item, unit.painting, step, unit.lang,
                                                    UnitOutcome(ok=False, error=error))  # fmt: skip
                            continue
                        outcome = self._succeeded(batch_id, unit, result, artifacts)
                        self._apply_outcome(batch_id, unit.item, unit.painting, step, unit.lang, outcome)
                except BaseException:
                    for fut, unit in units.items():
                        fut.cancel()
                        shutil.rmtree(unit.tmp, ignore_errors=True)
                        store.finish_attempt(unit.attempt.id, AttemptStatus.INTERRUPTED, error="interrupted",
                                             compute=self.monotonic() - unit.t0)  # fmt: skip
                    raise
                if fatal is not None:
                    raise fatal

    def _last_error(self, item_id: int, step: int, lang: str) -> str:
        for a in reversed(self.store.attempts(item_id=item_id, include_superseded=False)):
            if a.step == step and a.language == lang and a.status == AttemptStatus.FAILED:
                return a.error
        return "failed"

    def _commit_files(self, tmp: Path, final_dir: Path, result: StepResult) -> list[NewArtifact]:
        """Check the step's outputs, move its folder into place, and describe the artifacts to record."""
        for kind, name in result.artifacts.items():
            f = tmp / name
            if not f.is_file() or f.stat().st_size == 0:
                raise StepError(f"the step reported a {kind} artifact {name!r} but did not write it")
        if final_dir.exists():
            old = final_dir.parent / f"{TMP_PREFIX}old-{final_dir.name}-{os.getpid()}"
            os.replace(final_dir, old)
            os.replace(tmp, final_dir)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(tmp, final_dir)
        out = []
        for kind, name in result.artifacts.items():
            f = final_dir / name
            out.append(NewArtifact(kind=kind, path=str(f.relative_to(self.settings.workspace)),
                                   sha256=sha256_of(f), bytes=f.stat().st_size))  # fmt: skip
        return out

    def _pool(self, batch_id: int, painting: PaintingRow, lang: str, artifacts: list[NewArtifact], *,
              only_missing: bool = False) -> None:  # fmt: skip
        """Copy the finished video and thumbnail into ``pool/`` (temporary name, then rename); with
        ``only_missing``, only those not already there with the artifact's content."""
        pool = self.settings.pool_dir
        suffix = {"video": ".mp4", "thumbnail": ".jpg"}
        for a in artifacts:
            if a.kind not in suffix:
                continue
            dest = pool / f"{file_stem(painting.key)}.{lang}{suffix[a.kind]}"
            if only_missing and _same_file(dest, a):
                continue
            tmp = dest.with_name(f"{TMP_PREFIX}{dest.name}")
            try:
                pool.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(self.settings.workspace / a.path, tmp)
                os.replace(tmp, dest)
            except OSError as e:
                with suppress(OSError):  # on a read-only disk, cleaning up fails too
                    tmp.unlink(missing_ok=True)
                raise WorkspaceError(
                    f"{dest}: cannot copy {painting.key}'s {a.kind} into the pool: {e.strerror or e};"
                    " fix it, then `vivant resume` copies it"
                ) from None
            self._emit("pooled", batch_id, painting=painting.key, language=lang, path=str(dest))

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
        self._emit("item_state", item.batch_id, item=item, step=from_step, state=ItemState.REDO.value)


@contextmanager
def _executor(workers: int, name: str) -> Iterator[ThreadPoolExecutor]:
    """A thread pool that, when the batch is interrupted, does not wait for workers blocked on remote jobs."""
    pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix=name)
    try:
        yield pool
    except BaseException:
        pool.shutdown(wait=False, cancel_futures=True)
        raise
    pool.shutdown(wait=True)


def _same_file(dest: Path, artifact: NewArtifact) -> bool:
    try:
        return dest.stat().st_size == artifact.bytes and sha256_of(dest) == artifact.sha256
    except OSError:
        return False


def _as_workspace_error(e: BaseException) -> WorkspaceError | None:
    if isinstance(e, WorkspaceError):
        return e
    if isinstance(e, OSError) and e.errno in (errno.ENOSPC, errno.EDQUOT, errno.EROFS):
        where = f"{e.filename}: " if e.filename else ""
        return WorkspaceError(f"{where}the workspace cannot be written: {e.strerror or e}")
    return None


def _describe(e: BaseException) -> str:
    if isinstance(e, VivantError):
        return str(e)
    return f"{type(e).__name__}: {e}"
