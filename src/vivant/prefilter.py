"""Step 0 alone, as a dry run: what would be accepted and why, without making a batch.

``vivant prefilter`` draws portraits as ``vivant night`` would (or takes the whole catalog's portraits with
``--all``) and runs the configured inspector on each, so a user can tune ``[checks]`` before spending GPU time.
Nothing is written to the database: no batch, no item, no painting marked used.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable
from typing import Any

from vivant import catalog
from vivant.backends.registry import Roles
from vivant.engine import to_painting
from vivant.errors import InputError
from vivant.workspace import Workspace

log = logging.getLogger(__name__)


def pick(ws: Workspace, *, count: int, seed: int | None, include_used: bool, everything: bool) -> list[int]:
    """The portrait ids a night would draw (same seed, same ids), or every portrait with ``everything``."""
    if everything:
        return ws.store.portrait_ids(include_used=include_used)
    return catalog.draw(ws.store, count, seed=seed, include_used=include_used)


def dry_run(
    ws: Workspace,
    ids: Iterable[int],
    *,
    roles: Roles | None = None,
    on_result: Callable[[dict[str, Any]], None] | None = None,
) -> list[dict[str, Any]]:
    """Inspect each painting; one plain dict per painting (accepted, reasons, sitter, failed checks, seconds)."""
    roles = roles or Roles(ws.settings)
    inspector = roles.inspector
    out: list[dict[str, Any]] = []
    for painting_id in ids:
        painting = to_painting(ws.store.painting(painting_id))
        start = time.perf_counter()
        row: dict[str, Any] = {"painting": painting.key, "title": painting.title, "artist": painting.artist}
        try:
            if not painting.image_path.is_file():
                raise InputError(f"{painting.key}: image {painting.image_path} is missing")
            verdict = inspector.inspect(painting.image_path, painting, ws.settings.checks)
        except InputError as e:
            row.update(accepted=False, reasons=[str(e)], sitter=None, checks=[], people=0)
        else:
            row.update(
                accepted=verdict.accepted,
                reasons=verdict.reasons,
                people=verdict.people,
                sitter=verdict.sitter.model_dump(),
                checks=[c.model_dump() for c in verdict.checks],
            )
        row["seconds"] = round(time.perf_counter() - start, 3)
        row["backend"] = inspector.name
        out.append(row)
        if on_result is not None:
            on_result(row)
    return out
