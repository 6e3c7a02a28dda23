"""Running a batch and what goes around it, for any front end (the command line, the review page).

:func:`run_batch` runs the engine on a batch with the events recorded in the database and the night's report
written at the end; :func:`batches_to_resume`, :func:`busy` and :func:`latest_batch` decide which batches a
``resume`` or a ``status`` is about; :func:`import_samples` and :func:`demo_batch` make the demo's batch;
:func:`plan_redo` finds the step to redo a painting from (asked for, or suggested by QA).
Nothing here prints: the caller shows what it returns.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from vivant.errors import BatchBusy, VivantError
from vivant.events import PERSISTED, Event, EventBus
from vivant.workspace import Workspace

if TYPE_CHECKING:
    from vivant.backends.registry import Roles
    from vivant.steps.base import Step
    from vivant.store import Store

Watch = Callable[[EventBus], AbstractContextManager[Any]]
"""Something that follows a run's events while the run lasts (the CLI's progress bars)."""


def event_recorder(store: Store) -> Callable[[Event], None]:
    """An event subscriber that stores the events worth keeping (:data:`vivant.events.PERSISTED`)."""

    def record(e: Event) -> None:
        if e.kind in PERSISTED:
            data = dict(e.data)
            if e.step is not None:
                data.setdefault("step", e.step)
            if e.language:
                data.setdefault("language", e.language)
            if e.painting:
                data.setdefault("painting", e.painting)
            store.add_event(e.kind, data, batch_id=e.batch_id, item_id=e.item_id)

    return record


@dataclass(frozen=True)
class Ran:
    """A batch after its run: its description (:func:`vivant.batch.describe`) and the report's page, if any."""

    description: dict[str, Any]
    report: Path | None


def run_batch(ws: Workspace, batch_id: int, *, roles: Roles | None = None, watch: Watch | None = None) -> Ran:
    """Run the engine on a batch (events stored; ``watch`` follows them), then write the night's report."""
    from vivant.batch import describe
    from vivant.engine import Engine
    from vivant.report import start_meter, write_night_report

    bus = EventBus()
    bus.subscribe(event_recorder(ws.store))
    engine = Engine(ws.store, ws.settings, bus=bus, roles=roles)
    meter = start_meter(ws.settings)
    with watch(bus) if watch is not None else nullcontext():
        engine.run(batch_id)
    report_path = write_night_report(ws.store, ws.settings, batch_id, meter)
    return Ran(describe(ws.store, batch_id), report_path)


def latest_batch(store: Store, batch: int | None) -> int:
    """The batch asked for, or the latest one; one clear line when there is none yet."""
    if batch is not None:
        return batch
    latest = store.latest_batch()
    if latest is None:
        raise VivantError("no batch yet: run `vivant night` or `vivant demo`")
    return int(latest.id)


def batches_to_resume(store: Store, batch: int | None) -> list[int]:
    """The batch asked for, or every batch with work left or still marked RUNNING, in order."""
    ids = [batch] if batch is not None else store.batches_with_work()
    if batch is None:
        ids += [b.id for b in store.batches() if b.status == "RUNNING" and b.id not in ids]
    store.check()  # a damaged database is one line, never "nothing to resume"
    return sorted(set(ids))


def busy(store: Store, batch_id: int, *, explicit: bool) -> str | None:
    """Why a batch is another live process's (None when it is free); :class:`BatchBusy` when it was asked for
    by id (``explicit``)."""
    from vivant.engine import LEASE_STALE, this_process
    from vivant.store import busy_message

    store.batch(batch_id)  # an unknown id is one clear line
    lease = store.busy(batch_id, this_process(), stale_after=LEASE_STALE)
    if lease is None:
        return None
    message = busy_message(batch_id, lease, store.clock())
    if explicit:
        raise BatchBusy(batch_id, message)
    return message


def import_samples(ws: Workspace, source: Path) -> list[str]:
    """Import the demo's sample paintings of ``source`` (its ``catalog.csv``, else its images); the import's
    report lines."""
    from vivant import catalog

    listed = (source / "catalog.csv").is_file()
    report = catalog.import_catalog(
        ws.store,
        source / "catalog.csv" if listed else source,
        ws.settings.catalog,
        fmt="csv" if listed else "folder",
        columns=catalog.ColumnMap(genre="kind") if listed else None,
        keep_unknown_dates=not listed,
    )
    return list(report.lines())


def demo_batch(
    ws: Workspace, source: Path, *, count: int, seed: int, languages: Sequence[str]
) -> tuple[int, list[int]]:  # fmt: skip
    """Draw the demo's ``count`` portraits by ``seed`` (imported from ``source``) into a new batch: its id, and
    the paintings drawn."""
    from vivant import demo as demo_mod

    rows = [(pid, genre, ws.store.painting(pid).key) for pid, genre in ws.store.painting_genres()]
    chosen = demo_mod.choose(rows, portraits=count, seed=seed)
    if not chosen:
        raise VivantError(f"{source}: no painting to run the demo on")
    return ws.store.create_batch(chosen, languages=languages, seed=seed, note="demo"), chosen


@dataclass(frozen=True)
class Redo:
    """Where a painting is sent back from: the step, and what QA found (its causes and suggested step)."""

    item_id: int
    step: Step
    qa_causes: list[str]
    suggested: Step | None


def plan_redo(ws: Workspace, painting: str, from_step: Step | None, batch: int | None) -> Redo:
    """The item of ``painting`` (in ``batch``, default its latest) and the step to redo it from: ``from_step``,
    else the one QA suggests; a clear error when neither is known."""
    from vivant.batch import find_item_for_redo
    from vivant.qa import results
    from vivant.steps import find_step

    item_id = find_item_for_redo(ws.store, painting, batch)
    failed = results.failed(ws.store, ws.settings.workspace, item_id)
    number = results.suggested_step(ws.store, ws.settings.workspace, item_id)
    suggested = find_step(number) if number is not None else None
    causes = sorted({c for r in failed.values() for c in r.causes()})
    step = from_step if from_step is not None else suggested
    if step is None:
        raise VivantError(f"{painting}: --from is needed (QA found nothing to suggest a step from)")
    return Redo(item_id, step, causes, suggested)
