"""The stored QA verdicts of a painting (step 10's ``qa`` artifacts), as the review page, the batch report, the
publisher and ``vivant redo`` read them. No SQL here: rows come from :class:`~vivant.store.Store`."""

from __future__ import annotations

import logging
from pathlib import Path

from vivant.qa.model import QAReport
from vivant.store import Store

log = logging.getLogger(__name__)

QA_STEP = 10


def reports(store: Store, workspace: Path, item_id: int) -> dict[str, QAReport]:
    """Language -> the latest QA report of an item (none for a language QA has not run on)."""
    out: dict[str, QAReport] = {}
    for row in store.artifacts(item_id, step=QA_STEP, kind="qa"):
        path = workspace / row.path
        try:
            out[row.language] = QAReport.model_validate_json(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as e:
            log.warning("%s: cannot read the QA report: %s", path, e)
    return out


def picture(store: Store, item_id: int, language: str) -> str | None:
    """Workspace-relative path of the picture of the first QA problem, if any."""
    rows = store.artifacts(item_id, step=QA_STEP, language=language, kind="picture")
    return rows[-1].path if rows else None


def failed(store: Store, workspace: Path, item_id: int) -> dict[str, QAReport]:
    """The languages whose video failed QA, with their reports."""
    return {lang: r for lang, r in reports(store, workspace, item_id).items() if not r.passed}


def suggested_step(store: Store, workspace: Path, item_id: int) -> int | None:
    """The step `vivant redo` should start from for an item that failed QA (None when it passed)."""
    steps = [s for r in failed(store, workspace, item_id).values() if (s := r.suggested_step()) is not None]
    return min(steps) if steps else None
