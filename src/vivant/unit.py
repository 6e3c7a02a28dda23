"""One unit's life — (item, step, language) — in three parts, and the retry policy as data.

- :meth:`Units.open` (main thread): the item to PROCESSING, the attempt row, the unit's inputs resolved to paths
  (so the step never reaches the database), its temporary folder's name and its context;
- :meth:`Units.execute` (any thread, no database): the step runs in its temporary folder, the folder is checked
  and moved into place;
- :meth:`Units.settle` (main thread): the attempt committed with its artifacts (and the pool copy after the last
  step), or failed: retried after :meth:`RetryPolicy.delay`, or the item FAILED; a refusal ABORTS the item.

Failure policy (steps never loop or sleep):
- ``StepResult.refused`` → the item is ABORTED with the reasons (step 0's refusal);
- :class:`~vivant.errors.InputError` or a non-retryable :class:`~vivant.errors.StepError` → the item FAILED at once;
- any other error → retried after the policy's delay, up to ``attempts`` attempts; then FAILED;
- :class:`~vivant.errors.WorkspaceError` (disk full...) → the batch stops; what is committed stays;
- an interrupt (not an ``Exception``) → the attempt INTERRUPTED (it does not count), and it goes on up.
"""

from __future__ import annotations

import errno
import logging
import os
import queue
import shutil
import threading
from collections.abc import Callable, Sequence
from contextlib import suppress
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal, cast

from vivant.config import RetrySettings, Settings
from vivant.errors import InputError, StepError, VivantError, WorkspaceError
from vivant.events import NOTICES, EventKind
from vivant.files import file_stem, sha256_of
from vivant.roles import Gender, Language, Painting, running
from vivant.states import RUNNABLE, AttemptStatus, ItemState
from vivant.steps.base import Step, StepContext, StepResult
from vivant.store import AttemptRow, ItemRow, NewArtifact, PaintingRow, Store

if TYPE_CHECKING:
    from vivant.backends.registry import Roles

log = logging.getLogger(__name__)

TMP_PREFIX = ".tmp-"
Emit = Callable[..., None]
"""``emit(kind, batch_id, *, item=, painting=, step=, language=, **data)`` (:meth:`vivant.engine.Engine.emit`)."""
RemoteIdSetter = Callable[[int, str, "str | None"], None]
"""(attempt id, remote id, endpoint): records a remote job id from whatever thread the backend runs in."""


@dataclass(frozen=True)
class RetryPolicy:
    """How often a unit is tried and how long to wait between tries (one formula for every mode)."""

    attempts: int = 3
    """Attempts in all per unit (the first plus the retries); interruptions do not count."""
    backoff: float = 2.0
    """Seconds before the first retry; each later one waits twice as long as the one before..."""
    cap: float = 600.0
    """...but never longer than this."""

    @classmethod
    def of(cls, retries: RetrySettings) -> RetryPolicy:
        return cls(attempts=retries.attempts, backoff=retries.backoff_seconds)

    def delay(self, failures: int) -> float:
        """Seconds to wait before the attempt that follows ``failures`` failed ones."""
        return min(self.cap, self.backoff * 2 ** (max(failures, 1) - 1))

    def exhausted(self, failures: int) -> bool:
        return failures >= self.attempts


@dataclass
class Unit:
    """One attempt of one unit, between :meth:`Units.open` and :meth:`Units.settle`."""

    batch_id: int
    item: ItemRow
    painting: PaintingRow
    step: Step
    lang: str
    attempt: AttemptRow
    tmp: Path
    final_dir: Path
    ctx: StepContext
    t0: float

    @property
    def key(self) -> tuple[int, int, str]:
        return (self.item.id, self.step.number, self.lang)


Done = tuple[StepResult, list[NewArtifact]]
Settled = Literal["succeeded", "refused", "retry", "failed"]


def to_painting(row: PaintingRow) -> Painting:
    return Painting(
        id=row.id, key=row.key, title=row.title, artist=row.artist, year=row.year, artist_died=row.artist_died,
        genre=row.genre, style=row.style, image_path=Path(row.image_path), tags=row.tags,
        description=row.description, title_fr=row.title_fr, gender=cast("Gender | None", row.gender),
    )  # fmt: skip


class Units:
    """Opens, executes and settles units for the engine's scheduler (:mod:`vivant.lanes`)."""

    def __init__(self, store: Store, settings: Settings, roles: Roles, steps: Sequence[Step], *, emit: Emit,
                 monotonic: Callable[[], float], check_lease: Callable[[int], None],
                 backend_of: Callable[[Step], str], resource_of: Callable[[Step], str]) -> None:  # fmt: skip
        self.store = store
        self.settings = settings
        self.roles = roles
        self.steps = tuple(steps)
        self.emit = emit
        self.monotonic = monotonic
        self.check_lease = check_lease
        self.backend_of = backend_of
        self.resource_of = resource_of
        self.policy = RetryPolicy.of(settings.retries)
        self.by_number = {s.number: s for s in self.steps}
        self._per_language = frozenset(s.name for s in self.steps if s.per_language)
        self._clock = store.clock
        self._later: queue.SimpleQueue[Callable[[], None]] = queue.SimpleQueue()
        """Events noticed on other threads, emitted by the main thread (listeners write to SQLite)."""
        self._committed: dict[int, dict[tuple[int, str, str], Path]] = {}
        """Each item's committed artifacts, (step number, kind, language) -> path: read once per item and run,
        then kept up to date as units succeed (nothing else supersedes them while the batch's lease is held)."""
        self.errors: dict[tuple[int, int, str], str] = {}
        """The last error of each unit that failed in this run."""
        self.pool_step = next((s for s in self.steps if s.name == "final"), self.steps[-1])
        """The step whose video and thumbnail are copied into pool/ (QA runs after it)."""

    # -- folders ------------------------------------------------------------------------------------------------
    def item_dir(self, batch_id: int, painting: PaintingRow) -> Path:
        return self.settings.batches_dir / f"{batch_id:04d}" / file_stem(painting.key)

    def unit_dir(self, batch_id: int, painting: PaintingRow, step: Step, language: str) -> Path:
        name = f"{step.number}-{step.name}" + (f"-{language}" if language else "")
        return self.item_dir(batch_id, painting) / name

    # -- open (main thread) -------------------------------------------------------------------------------------
    def open(self, batch_id: int, item_id: int, painting: PaintingRow, step: Step, lang: str, *,
             position: tuple[int, int], set_remote_id: RemoteIdSetter) -> Unit | None:  # fmt: skip
        """Start an attempt of a unit; None when its item can no longer run, or the unit has used its attempts
        (then the item is FAILED here, as after a crash right after its last failed attempt)."""
        store = self.store
        item = store.item(item_id)
        if item.state not in RUNNABLE:
            return None
        if self.policy.exhausted(store.failures(item.id, step.number, lang)):
            self.fail_item(batch_id, item, painting, step, lang, self.errors.get((item.id, step.number, lang))
                           or self._last_error(item.id, step.number, lang))  # fmt: skip
            return None
        self.check_lease(batch_id)
        self.processing(item)
        previous = tuple(
            a.remote_id
            for a in reversed(store.attempts(item_id=item.id, include_superseded=False))
            if a.step == step.number and a.language == lang and a.remote_id
            and a.status == AttemptStatus.INTERRUPTED
        )  # fmt: skip
        inputs = self._inputs(item.id)
        attempt = store.start_attempt(item.id, step.number, lang, backend=self.backend_of(step),
                                      resource=self.resource_of(step))  # fmt: skip
        final_dir = self.unit_dir(batch_id, painting, step, lang)
        tmp = final_dir.parent / f"{TMP_PREFIX}{final_dir.name}-{attempt.id}"
        self.emit("unit_started", batch_id, item=item, painting=painting.key, step=step, language=lang,
                  attempt=attempt.number, index=position[0], total=position[1])  # fmt: skip
        ctx = self._context(batch_id, item, painting, step, lang, attempt, tmp, inputs, previous, set_remote_id)
        return Unit(batch_id, item, painting, step, lang, attempt, tmp, final_dir, ctx, self.monotonic())

    def _inputs(self, item_id: int) -> dict[tuple[int, str, str], Path]:
        """What the unit may read: the item's committed artifacts (a copy, for a step running on another thread)."""
        if item_id not in self._committed:
            found = self.store.artifacts(item_id)
            self._committed[item_id] = {(a.step, a.kind, a.language): self.settings.workspace / a.path for a in found}
        return dict(self._committed[item_id])

    def processing(self, item: ItemRow) -> None:
        """PENDING or REDO → PROCESSING (an item's first unit, or its completion when nothing was left to run)."""
        if item.state in (ItemState.PENDING, ItemState.REDO):
            self.store.set_state(item.id, ItemState.PROCESSING)

    def _context(self, batch_id: int, item: ItemRow, painting: PaintingRow, step: Step, lang: str,
                 attempt: AttemptRow, tmp: Path, inputs: dict[tuple[int, str, str], Path], previous: tuple[str, ...],
                 setter: RemoteIdSetter) -> StepContext:  # fmt: skip
        by_name = {s.name: s for s in self.steps}

        def lookup(step_name: str, kind: str, language: str) -> Path:
            need = by_name[step_name]
            found = inputs.get((need.number, kind, language))
            if found is None:
                where = f" [{language}]" if language else ""
                raise StepError(f"no {kind} from step {need.label}{where}: run that step first")
            return found

        def progress(fraction: float, **detail: object) -> None:
            self.emit("unit_progress", batch_id, item=item, painting=painting.key, step=step, language=lang,
                      fraction=max(0.0, min(1.0, fraction)), **detail)  # fmt: skip

        def set_remote_id(rid: str) -> None:
            setter(attempt.id, rid, ctx.timing.endpoint)  # the backend names the server before it submits

        def notice(kind: str, **data: object) -> None:
            if kind not in NOTICES:
                log.warning("%s: unknown notice %r from step %s", painting.key, kind, step.label)
                return
            data.setdefault("at", self._clock())

            def emit() -> None:
                self.emit(cast(EventKind, kind), batch_id, item=item, painting=painting.key, step=step,
                          language=lang, attempt=attempt.number, **data)  # fmt: skip

            if threading.current_thread() is threading.main_thread():
                emit()
            else:
                self._later.put(emit)

        language: Language | None = lang or None  # type: ignore[assignment]
        ctx = StepContext(
            painting=to_painting(painting), language=language, out=tmp, settings=self.settings,
            roles=self.roles, lookup=lookup, per_language_steps=self._per_language, progress=progress,
            attempt_id=attempt.id, previous_remote_ids=previous, set_remote_id=set_remote_id, notice=notice,
        )  # fmt: skip
        return ctx

    # -- execute (any thread, no database) ----------------------------------------------------------------------
    def execute(self, unit: Unit) -> Done:
        """Run the step in its temporary folder and move the folder into place."""
        unit.tmp.mkdir(parents=True, exist_ok=False)
        with running(unit.ctx):
            result = unit.step.run(unit.ctx)
        return result, self._commit_files(unit.tmp, unit.final_dir, result)

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

    # -- settle (main thread) -----------------------------------------------------------------------------------
    def flush_notices(self) -> None:
        """Emit (on the main thread) the events other threads noticed."""
        while True:
            try:
                emit = self._later.get_nowait()
            except queue.Empty:
                return
            emit()

    def settle(self, unit: Unit, done: Done | BaseException) -> tuple[Settled, float]:
        """Record how the attempt ended; return what became of the unit, and the delay before its retry.
        Re-raises what must stop the batch (a full disk, an interrupt)."""
        self.flush_notices()
        if isinstance(done, BaseException):
            return self._failed(unit, done)
        result, artifacts = done
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
        if unit.item.id in self._committed:
            for a in artifacts:
                self._committed[unit.item.id][(unit.step.number, a.kind, unit.lang)] = self.settings.workspace / a.path
        self.emit("unit_succeeded", unit.batch_id, item=unit.item, painting=unit.painting.key, step=unit.step,
                  language=unit.lang, attempt=unit.attempt.number, seconds=round(wall, 3), backend=result.backend,
                  degraded=result.degraded, refused=result.refused, status=status.value,
                  queue_wait=queue_wait, compute=compute)  # fmt: skip
        if result.refused:
            reason = "; ".join(result.refused)
            self.store.set_state(unit.item.id, ItemState.ABORTED, f"step {unit.step.label}: {reason}")
            self.emit("item_state", unit.batch_id, item=unit.item, painting=unit.painting.key, step=unit.step,
                      state=ItemState.ABORTED.value, reason=reason)  # fmt: skip
            return "refused", 0.0
        if unit.step is self.pool_step:
            self.copy_to_pool(unit.batch_id, unit.painting, unit.lang, artifacts)
        return "succeeded", 0.0

    def _failed(self, unit: Unit, e: BaseException) -> tuple[Settled, float]:
        self.interrupt(unit, e)  # an interrupt or a full disk: recorded, then raised
        error = _describe(e)
        if not isinstance(e, VivantError):
            log.error("%s: step %s%s: unexpected error", unit.painting.key, unit.step.label,
                      f" [{unit.lang}]" if unit.lang else "", exc_info=e)  # fmt: skip
        shutil.rmtree(unit.tmp, ignore_errors=True)
        self.store.finish_attempt(unit.attempt.id, AttemptStatus.FAILED, error=error,
                                  compute=self.monotonic() - unit.t0, endpoint=unit.ctx.timing.endpoint)  # fmt: skip
        self.emit("unit_failed", unit.batch_id, item=unit.item, painting=unit.painting.key, step=unit.step,
                  language=unit.lang, attempt=unit.attempt.number, error=error)  # fmt: skip
        self.errors[unit.key] = error
        failures = self.store.failures(unit.item.id, unit.step.number, unit.lang)
        final = isinstance(e, InputError) or (isinstance(e, StepError) and not e.retryable)
        if final or self.policy.exhausted(failures):
            self.fail_item(unit.batch_id, unit.item, unit.painting, unit.step, unit.lang, error)
            return "failed", 0.0
        delay = self.policy.delay(failures)
        self.emit("unit_retry", unit.batch_id, item=unit.item, painting=unit.painting.key, step=unit.step,
                  language=unit.lang, attempt=failures + 1, delay=delay, error=error)  # fmt: skip
        return "retry", delay

    def interrupt(self, unit: Unit, e: BaseException | None = None) -> None:
        """An attempt that ends the batch: INTERRUPTED (its folder removed; it does not count against the
        retries), or FAILED for a workspace that cannot be written, then raised. ``e=None``: a unit still in flight
        when the batch stopped (recorded, not raised). An ordinary error returns without recording anything."""
        fatal = _as_workspace_error(e) if e is not None else None
        if e is not None and fatal is None and isinstance(e, Exception):
            return
        shutil.rmtree(unit.tmp, ignore_errors=True)
        status = AttemptStatus.FAILED if fatal is not None else AttemptStatus.INTERRUPTED
        self.store.finish_attempt(unit.attempt.id, status, error=str(fatal or "interrupted"),
                                  compute=self.monotonic() - unit.t0)  # fmt: skip
        if fatal is not None:
            raise fatal from e
        if e is not None:
            raise e

    def fail_item(self, batch_id: int, item: ItemRow, painting: PaintingRow, step: Step, lang: str,
                  error: str) -> None:  # fmt: skip
        if self.store.item(item.id).state == ItemState.FAILED:
            return  # another language of this step failed it already
        where = f"step {step.label}" + (f" [{lang}]" if lang else "")
        self.store.set_state(item.id, ItemState.FAILED, f"{where}: {error}")
        self.emit("item_state", batch_id, item=item, painting=painting.key, step=step, language=lang,
                  state=ItemState.FAILED.value, reason=error)  # fmt: skip

    def _last_error(self, item_id: int, step: int, lang: str) -> str:
        for a in reversed(self.store.attempts(item_id=item_id, include_superseded=False)):
            if a.step == step and a.language == lang and a.status == AttemptStatus.FAILED:
                return a.error
        return "failed"

    # -- the pool copy ------------------------------------------------------------------------------------------
    def copy_to_pool(self, batch_id: int, painting: PaintingRow, lang: str, artifacts: Sequence[NewArtifact], *,
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
            self.emit("pooled", batch_id, painting=painting.key, language=lang, path=str(dest))


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
