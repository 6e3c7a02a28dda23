"""The batch report: where the night's time, GPU and money went.

:func:`build_report` reads one batch through :class:`~vivant.store.Store` (never SQL) and computes its
figures (:mod:`vivant.report.metrics`) and cost (:mod:`vivant.report.energy`), beside the previous batch's.
:func:`write_report` writes ``reports/batch-NNNN.html`` (self-contained: inline CSS and SVG, no script, no
network) and ``reports/batch-NNNN.json``. :mod:`vivant.report.terminal` renders it with rich. Nothing here
prints.
"""

from __future__ import annotations

import logging
import os
import time
from pathlib import Path

from pydantic import BaseModel

from vivant.config import Settings
from vivant.events import NOTICES
from vivant.report.energy import Cost, Meter, cost_of, default_reader
from vivant.report.metrics import Figures, Headline, Inputs, StepInfo, compute_figures
from vivant.store import ItemRow, Store

log = logging.getLogger(__name__)

ENERGY_EVENT = "energy_measured"


class Previous(BaseModel):
    headline: Headline
    cost: Cost
    step_walls: dict[int, float]


class Report(BaseModel):
    generated_at: float
    figures: Figures
    cost: Cost
    previous: Previous | None


def _step_infos() -> list[StepInfo]:
    from vivant.steps import STEPS

    return [StepInfo(s.number, s.name, s.resource) for s in STEPS]


def measured_energy(store: Store, batch_id: int) -> dict[str, tuple[float, str]]:
    """Joules per resource measured during this batch's runs (added up over resumed runs)."""
    out: dict[str, tuple[float, str]] = {}
    for _at, _kind, _item, data in store.events(batch_id, ENERGY_EVENT):
        for res, (joules, source) in data.get("resources", {}).items():
            before = out.get(res, (0.0, source))[0]
            out[res] = (before + float(joules), str(source))
    return out


def _qa_failures(store: Store, settings: Settings, items: list[ItemRow]) -> dict[int, dict[str, list[str]]]:
    """Item -> language -> the QA checks its video failed (step 10), for the automatic rejections by cause."""
    from vivant.qa import results

    out: dict[int, dict[str, list[str]]] = {}
    for item in items:
        failed = results.failed(store, settings.workspace, item.id)
        if failed:
            out[item.id] = {lang: r.causes() for lang, r in failed.items()}
    return out


def _figures_and_cost(store: Store, settings: Settings, batch_id: int, now: float) -> tuple[Figures, Cost]:
    batch = store.batch(batch_id)
    items = store.items(batch_id)
    paintings = {i.painting_id: store.painting(i.painting_id) for i in items}
    steps = _step_infos()
    inputs = Inputs(
        batch=batch, items=items, paintings=paintings, attempts=store.attempts(batch_id=batch_id),
        transitions={i.id: store.transitions(i.id) for i in items}, steps=steps, now=now,
        incidents=[(at, kind, data) for at, kind, _item, data in store.events(batch_id, kinds=NOTICES)],
        qa_failures=_qa_failures(store, settings, items),
    )  # fmt: skip
    rs = settings.report
    final = next((s.number for s in steps if s.name == "final"), None)
    figures = compute_figures(inputs, gpu_resources=rs.gpu_resources, primary_resource=rs.primary_resource,
                              final_step=final)  # fmt: skip
    return figures, cost_of(figures, rs, measured_energy(store, batch_id))


def build_report(store: Store, settings: Settings, batch_id: int, *, now: float | None = None) -> Report:
    """The report of one batch, with the previous batch's headline beside it."""
    at = store.clock() if now is None else now
    figures, cost = _figures_and_cost(store, settings, batch_id, at)
    earlier = [b.id for b in store.batches() if b.id < batch_id]
    previous = None
    if earlier:
        pf, pc = _figures_and_cost(store, settings, max(earlier), at)
        previous = Previous(headline=pf.headline, cost=pc, step_walls={s.number: s.wall for s in pf.steps})
    return Report(generated_at=at, figures=figures, cost=cost, previous=previous)


def report_paths(settings: Settings, batch_id: int) -> tuple[Path, Path]:
    """(html, json) paths of a batch's report."""
    base = settings.reports_dir / f"batch-{batch_id:04d}"
    return base.with_suffix(".html"), base.with_suffix(".json")


def _write(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def write_report(
    store: Store,
    settings: Settings,
    batch_id: int,
    *,
    measured: dict[str, tuple[float, str]] | None = None,
    report: Report | None = None,
) -> Path:
    """Write ``reports/batch-NNNN.html`` and ``.json``; return the HTML path.

    ``measured`` (resource → (joules, source), from :class:`~vivant.report.energy.Meter`) is first recorded
    in the batch's events, so later reports of this batch keep it.
    """
    from vivant.report.html import render_html

    if measured:
        store.add_event(ENERGY_EVENT, {"resources": {r: [j, s] for r, (j, s) in measured.items()}},
                        batch_id=batch_id, item_id=None)  # fmt: skip
    if report is None or measured:
        report = build_report(store, settings, batch_id)
    html_path, json_path = report_paths(settings, batch_id)
    html_path.parent.mkdir(parents=True, exist_ok=True)
    _write(json_path, report.model_dump_json(indent=2))
    _write(html_path, render_html(report, settings))
    return html_path


def start_meter(settings: Settings) -> Meter:
    """Start measuring the GPU host's energy when it can be read (else the meter measures nothing)."""
    return Meter(default_reader(settings.report))


def write_night_report(
    store: Store, settings: Settings, batch_id: int, meter: Meter | None = None
) -> Path | None:  # fmt: skip
    """The end-of-night report; a failure is logged and never fails the night. Returns the HTML path."""
    t0 = time.monotonic()
    try:
        path = write_report(store, settings, batch_id, measured=meter.stop() if meter else None)
    except Exception as e:
        log.warning("batch %d: the report could not be written: %s", batch_id, e, exc_info=e)
        return None
    log.info("batch %d: report written in %.2fs", batch_id, time.monotonic() - t0)
    return path


__all__ = [
    "Meter",
    "Previous",
    "Report",
    "build_report",
    "report_paths",
    "start_meter",
    "write_night_report",
    "write_report",
]
