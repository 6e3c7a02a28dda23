"""Starting a night and describing a batch: the glue between catalog, store and engine that the CLI and the
web page share."""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from vivant import catalog
from vivant.errors import BatchBusy, VivantError
from vivant.events import NOTICES
from vivant.states import ItemState
from vivant.steps import STEPS
from vivant.store import Store, busy_message
from vivant.workspace import Workspace

if TYPE_CHECKING:
    from vivant.backends.registry import Roles

log = logging.getLogger(__name__)


def start_night(ws: Workspace, *, count: int, seed: int | None, languages: Sequence[str],
                include_used: bool = False, roles: Roles | None = None, preflight: bool = True) -> int:  # fmt: skip
    """Check the configuration and the backends (``roles``), then draw ``count`` portraits and create a batch
    for them; return its id. A failed preflight raises before anything is drawn."""
    if count < 1:
        raise VivantError("--count must be at least 1")
    if preflight:
        from vivant.preflight import before_night

        before_night(ws.settings, roles)
    ids = catalog.draw(ws.store, count, seed=seed, include_used=include_used)
    if not ids:
        candidates = ws.store.portrait_ids(include_used=include_used)
        if candidates:
            example = next(iter(ws.store.image_paths(candidates[:1]).values()))
            raise VivantError(
                f"{len(candidates)} portrait(s) to draw from, but none of their image files exists"
                f" (for example {example}): set catalog.images_dir, or import again"
            )
        raise VivantError("no portrait left to draw: import a catalog (`vivant catalog import`) or pass --include-used")
    if len(ids) < count:
        log.warning("only %d portrait(s) available, %d asked", len(ids), count)
    from vivant.engine import this_process

    return ws.store.create_batch(ids, languages=languages, seed=seed, note=f"night of {len(ids)}",
                                 owner=this_process())  # fmt: skip


def describe(store: Store, batch_id: int) -> dict[str, Any]:
    """A batch as plain data: states, reasons, the final videos' paths. Used by ``vivant status --json``."""
    batch = store.batch(batch_id)
    items = []
    for item in store.items(batch_id):
        p = store.painting(item.painting_id)
        finals = store.artifacts(item.id, step=9, kind="video")
        thumbs = store.artifacts(item.id, step=9, kind="thumbnail")
        attempts = store.attempts(item_id=item.id, include_superseded=False)
        degraded = sorted({a.step for a in attempts if a.degraded and a.status == "SUCCEEDED"})
        done = sorted({a.step for a in attempts if a.status in ("SUCCEEDED", "REFUSED")})
        items.append(
            {
                "item": item.id,
                "painting": p.key,
                "title": p.title,
                "artist": p.artist,
                "state": item.state.value,
                "reason": item.reason,
                "sitter": _sitter(store, item.id, p.gender),
                "steps_done": done,
                "degraded_steps": degraded,
                "voices": {a.language: a.backend for a in attempts if a.step == 2 and a.status == "SUCCEEDED"},
                "videos": {a.language: str(store.path.parent / a.path) for a in finals},
                "thumbnails": {a.language: str(store.path.parent / a.path) for a in thumbs},
            }
        )
    counts: dict[str, int] = {}
    for i in items:
        state = str(i["state"])
        counts[state] = counts.get(state, 0) + 1
    names = {s.number: s.name for s in STEPS}
    running = [
        {"painting": store.painting(store.item(a.item_id).painting_id).key, "step": a.step,
         "step_name": names.get(a.step, ""), "language": a.language, "resource": a.resource, "backend": a.backend,
         "endpoint": a.endpoint, "started_at": a.started_at}
        for a in store.attempts(batch_id=batch_id, include_superseded=False)
        if a.status == "RUNNING"
    ]  # fmt: skip
    from vivant.engine import LEASE_STALE

    lease = store.lease(batch_id)
    owner = (
        {"pid": lease.pid, "host": lease.host, "command": lease.command, "since": lease.started_at,
         "heartbeat_at": lease.heartbeat_at}
        if lease is not None and store.lease_alive(lease, stale_after=LEASE_STALE) else None
    )  # fmt: skip
    incidents = [
        {"at": float(data.get("at", at)), "kind": kind, "step": data.get("step"),
         "painting": str(data.get("painting", "")), "language": str(data.get("language", "")),
         "endpoint": str(data.get("endpoint", "")), "detail": str(data.get("reason") or data.get("why") or ""),
         "old_remote_id": str(data.get("old_remote_id", "")), "remote_id": str(data.get("remote_id", "")),
         "lost_seconds": float(data.get("lost_seconds") or 0.0)}
        for at, kind, _item, data in store.events(batch_id, kinds=NOTICES)
    ]  # fmt: skip
    return {
        "batch": batch.id,
        "status": batch.status,
        "created_at": batch.created_at,
        "finished_at": batch.finished_at,
        "languages": list(batch.languages),
        "seed": batch.seed,
        "counts": counts,
        "items": items,
        "running": running,
        "incidents": incidents,
        "owner": owner,
    }


def _sitter(store: Store, item_id: int, catalog_gender: str | None) -> dict[str, Any] | None:
    """Step 0's ``sitter`` (gender, source, confidence, note), or the catalog's gender before step 0 ran."""
    rows = store.artifacts(item_id, step=0, kind="verdict")
    if rows:
        try:
            data = json.loads((store.path.parent / rows[-1].path).read_text(encoding="utf-8"))
        except (OSError, ValueError) as e:
            log.warning("item %d: cannot read step 0's verdict: %s", item_id, e)
        else:
            sitter = data.get("sitter") if isinstance(data, dict) else None
            if isinstance(sitter, dict):
                return sitter
    if catalog_gender:
        return {"gender": catalog_gender, "source": "catalog", "confidence": 1.0, "note": "catalog column"}
    return None


def find_item_for_redo(store: Store, painting_ref: str, batch_id: int | None = None) -> int:
    """The item to redo: the painting's item in ``batch_id``, or in its latest batch."""
    p = store.find_painting(painting_ref)
    items = store.items_of_painting(p.id)
    if batch_id is not None:
        items = [i for i in items if i.batch_id == batch_id]
    if not items:
        where = f" in batch {batch_id}" if batch_id is not None else ""
        raise VivantError(f"painting {p.key!r} has not been in a batch{where}: nothing to redo")
    item = items[-1]
    from vivant.engine import LEASE_STALE, this_process

    lease = store.busy(item.batch_id, this_process(), stale_after=LEASE_STALE)
    if lease is not None:
        raise BatchBusy(item.batch_id, busy_message(item.batch_id, lease, store.clock()))
    if item.state == ItemState.PROCESSING:
        raise VivantError(f"painting {p.key!r} is being processed (batch {item.batch_id}); run `vivant resume` first")
    return item.id
