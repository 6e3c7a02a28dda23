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
import shutil
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from vivant.backends.registry import Roles
from vivant.config import Settings
from vivant.errors import InputError, StepError, VivantError, WorkspaceError
from vivant.events import Event, EventBus, EventKind
from vivant.roles import Language, Painting
from vivant.states import RUNNABLE, AttemptStatus, ItemState
from vivant.steps import STEPS, Step, StepContext, StepResult
from vivant.store import ItemRow, NewArtifact, PaintingRow, Store

log = logging.getLogger(__name__)

TMP_PREFIX = ".tmp-"


def to_painting(row: PaintingRow) -> Painting:
    return Painting(
        id=row.id, key=row.key, title=row.title, artist=row.artist, year=row.year, artist_died=row.artist_died,
        genre=row.genre, style=row.style, image_path=Path(row.image_path), tags=row.tags,
        description=row.description,
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
    ) -> None:
        self.store = store
        self.settings = settings
        self.roles = roles or Roles(settings)
        self.bus = bus or EventBus()
        self.steps = tuple(steps)
        self.sleep = sleep
        self.monotonic = monotonic
        self._per_language = frozenset(s.name for s in self.steps if s.per_language)

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
        n = self.store.interrupt_running(batch_id)
        removed = self._clean_tmp(batch_id)
        if n or removed:
            log.info("batch %d: %d interrupted attempt(s) will run again; %d temporary folder(s) removed",
                     batch_id, n, removed)  # fmt: skip
            self._emit("recovered", batch_id, interrupted=n, tmp_removed=removed)
        return n

    def languages(self, batch_id: int) -> list[Language]:
        langs: list[Language] = []
        for lang in self.store.batch(batch_id).languages:
            if lang not in ("fr", "en"):
                raise VivantError(f"batch {batch_id}: unknown language {lang!r}")
            langs.append(lang)  # type: ignore[arg-type]
        return langs

    def run(self, batch_id: int) -> BatchSummary:
        """Run (or continue) a batch until every item is COMPLETE, FAILED or ABORTED."""
        store = self.store
        self.recover(batch_id)
        langs = self.languages(batch_id)
        items = store.items(batch_id)
        store.set_batch_status(batch_id, "RUNNING")
        self._emit("batch_started", batch_id, items=len(items), languages=langs,
                   steps=[s.name for s in self.steps])  # fmt: skip
        paintings = {i.painting_id: store.painting(i.painting_id) for i in items}
        try:
            for step in self.steps:
                self._run_step(batch_id, step, langs, paintings)
            for item in store.items(batch_id):
                if item.state in RUNNABLE:
                    self._complete_if_done(item, langs)
        except BaseException as e:
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
        for step in self.steps:
            for lang in self._units(step, langs):
                if not self.store.succeeded(item.id, step.number, lang):
                    return
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
        self._emit("step_started", batch_id, step=step, units=len(todo))
        t0 = self.monotonic()
        for n, (stale, lang) in enumerate(todo):
            item = store.item(stale.id)
            if item.state not in RUNNABLE:
                continue  # aborted or failed by an earlier language of this step
            painting = paintings[item.painting_id]
            if item.state in (ItemState.PENDING, ItemState.REDO):
                store.set_state(item.id, ItemState.PROCESSING)
            outcome = self._run_unit(batch_id, item, painting, step, lang, position=(n, len(todo)))
            if outcome.refused:
                reason = "; ".join(outcome.refused)
                store.set_state(item.id, ItemState.ABORTED, f"step {step.label}: {reason}")
                self._emit("item_state", batch_id, item=item, painting=painting.key, step=step,
                           state=ItemState.ABORTED.value, reason=reason)  # fmt: skip
            elif not outcome.ok:
                where = f"step {step.label}" + (f" [{lang}]" if lang else "")
                store.set_state(item.id, ItemState.FAILED, f"{where}: {outcome.error}")
                self._emit("item_state", batch_id, item=item, painting=painting.key, step=step, language=lang,
                           state=ItemState.FAILED.value, reason=outcome.error)  # fmt: skip
        self._emit("step_finished", batch_id, step=step, seconds=round(self.monotonic() - t0, 3))

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

    def _run_unit(self, batch_id: int, item: ItemRow, painting: PaintingRow, step: Step, lang: str, *,
                  position: tuple[int, int]) -> UnitOutcome:  # fmt: skip
        store = self.store
        max_attempts = self.settings.retries.attempts
        final_dir = self.unit_dir(batch_id, painting, step, lang)
        language: Language | None = lang or None  # type: ignore[assignment]
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
            backend = self._backend_name(step)
            resource = "cpu" if backend == "local" else step.resource
            attempt = store.start_attempt(item.id, step.number, lang, backend=backend, resource=resource)
            tmp = final_dir.parent / f"{TMP_PREFIX}{final_dir.name}-{attempt.id}"
            self._emit("unit_started", batch_id, item=item, painting=painting.key, step=step, language=lang,
                       attempt=attempt.number, index=position[0], total=position[1])  # fmt: skip

            def progress(fraction: float, _step: Step = step, _lang: str = lang) -> None:
                self._emit("unit_progress", batch_id, item=item, painting=painting.key, step=_step,
                           language=_lang, fraction=max(0.0, min(1.0, fraction)))  # fmt: skip

            t0 = self.monotonic()
            try:
                tmp.mkdir(parents=True, exist_ok=False)
                ctx = StepContext(
                    painting=to_painting(painting), language=language, out=tmp, settings=self.settings,
                    roles=self.roles, lookup=self._lookup(item), per_language_steps=self._per_language,
                    progress=progress,
                )  # fmt: skip
                result = step.run(ctx)
                artifacts = self._commit_files(tmp, final_dir, result)
            except BaseException as e:
                shutil.rmtree(tmp, ignore_errors=True)
                compute = self.monotonic() - t0
                fatal = _as_workspace_error(e)
                if fatal is not None or not isinstance(e, Exception):
                    status = AttemptStatus.FAILED if fatal is not None else AttemptStatus.INTERRUPTED
                    store.finish_attempt(attempt.id, status, error=str(fatal or "interrupted"), compute=compute)
                    if fatal is not None:
                        raise fatal from e
                    raise
                last_error = _describe(e)
                if not isinstance(e, VivantError):
                    log.error("%s: step %s%s: unexpected error", painting.key, step.label,
                              f" [{lang}]" if lang else "", exc_info=e)  # fmt: skip
                store.finish_attempt(attempt.id, AttemptStatus.FAILED, error=last_error, compute=compute)
                self._emit("unit_failed", batch_id, item=item, painting=painting.key, step=step, language=lang,
                           attempt=attempt.number, error=last_error)  # fmt: skip
                if isinstance(e, InputError) or (isinstance(e, StepError) and not e.retryable):
                    return UnitOutcome(ok=False, error=last_error)
                retried_here = True
                continue
            compute = self.monotonic() - t0
            status = AttemptStatus.REFUSED if result.refused else AttemptStatus.SUCCEEDED
            store.finish_attempt(
                attempt.id, status, backend=result.backend, degraded=result.degraded, queue_wait=0.0,
                compute=compute, artifacts=artifacts, error="; ".join(result.refused),
            )  # fmt: skip
            self._emit("unit_succeeded", batch_id, item=item, painting=painting.key, step=step, language=lang,
                       attempt=attempt.number, seconds=round(compute, 3), backend=result.backend,
                       degraded=result.degraded, refused=result.refused, status=status.value)  # fmt: skip
            if step is self.steps[-1] and not result.refused:
                self._pool(batch_id, painting, lang, artifacts)
            return UnitOutcome(ok=True, refused=result.refused)

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

    def _pool(self, batch_id: int, painting: PaintingRow, lang: str, artifacts: list[NewArtifact]) -> None:
        """Copy the finished video and thumbnail into ``pool/`` (temporary name, then rename)."""
        pool = self.settings.pool_dir
        pool.mkdir(parents=True, exist_ok=True)
        suffix = {"video": ".mp4", "thumbnail": ".jpg"}
        for a in artifacts:
            if a.kind not in suffix:
                continue
            dest = pool / f"{file_stem(painting.key)}.{lang}{suffix[a.kind]}"
            tmp = dest.with_name(f"{TMP_PREFIX}{dest.name}")
            try:
                shutil.copyfile(self.settings.workspace / a.path, tmp)
                os.replace(tmp, dest)
            except OSError as e:
                tmp.unlink(missing_ok=True)
                raise WorkspaceError(f"{dest}: cannot copy into the pool: {e.strerror or e}") from None
            self._emit("pooled", batch_id, painting=painting.key, language=lang, path=str(dest))

    # -- redo ---------------------------------------------------------------------------------------------------
    def redo(self, item_id: int, from_step: Step) -> None:
        """Send an item back through the engine from ``from_step`` (its later results are superseded)."""
        item = self.store.item(item_id)
        with self.store.atomic():
            self.store.supersede_from(item.id, from_step.number)
            self.store.set_state(item.id, ItemState.REDO, f"redo from step {from_step.label}",
                                 redo_from=from_step.number)  # fmt: skip
        self._emit("item_state", item.batch_id, item=item, step=from_step, state=ItemState.REDO.value)


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
