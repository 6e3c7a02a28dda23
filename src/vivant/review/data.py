"""What the review page shows of one painting, read from the store and the step artifacts (plain data)."""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from vivant.states import ItemState
from vivant.steps import BY_NAME, STEPS
from vivant.store import ArtifactRow, Store

log = logging.getLogger(__name__)

FINAL_STEP = BY_NAME["final"].number
MEDIA_KINDS = {"video": "video/mp4", "thumbnail": "image/jpeg", "qa": "image/png"}
"""``qa``: the picture of the first problem QA found (step 10)."""
LANGUAGE_NAMES = {"fr": "Français", "en": "English"}


@dataclass
class LanguageView:
    language: str
    has_video: bool
    has_thumbnail: bool
    title: str = ""
    hook: str = ""
    script: str = ""
    hashtags: list[str] = field(default_factory=list)
    sources: list[dict[str, str]] = field(default_factory=list)
    searched: list[str] = field(default_factory=list)
    qa_failed: list[str] = field(default_factory=list)
    """The failed QA checks, one readable line each (empty: QA passed or has not run)."""
    qa_picture: bool = False


@dataclass
class Card:
    item_id: int
    batch_id: int
    key: str
    title: str
    artist: str
    year: int | None
    state: str
    reason: str
    languages: list[LanguageView]
    verdict: dict[str, Any] | None
    cpu_steps: list[dict[str, Any]]
    decisions: list[dict[str, Any]]
    qa_suggest: str = ""
    """The step QA suggests redoing from ("6 lipsync"), when a video failed QA."""

    @property
    def qa_failed(self) -> bool:
        return any(lang.qa_failed for lang in self.languages)

    @property
    def reviewable(self) -> bool:
        return self.state in (ItemState.COMPLETE, ItemState.APPROVED, ItemState.REJECTED)


def _read_json(store: Store, rows: list[ArtifactRow]) -> dict[str, Any] | None:
    if not rows:
        return None
    path = store.path.parent / rows[-1].path
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as e:
        log.warning("%s: cannot read: %s", path, e)
        return None
    return data if isinstance(data, dict) else None


def card(store: Store, item_id: int) -> Card:
    """Everything the page shows of one item (raise StoreError when there is no such item)."""
    item = store.item(item_id)
    painting = store.painting(item.painting_id)
    batch = store.batch(item.batch_id)
    from vivant.qa import results

    workspace = store.path.parent
    qa = results.reports(store, workspace, item.id)
    languages = []
    for lang in batch.languages:
        script = _read_json(store, store.artifacts(item.id, step=1, language=lang, kind="script")) or {}
        research = _read_json(store, store.artifacts(item.id, step=1, language=lang, kind="research")) or {}
        sources = [
            {
                "title": str(s.get("title", "")),
                "archive": Path(str(s.get("archive", ""))).name,
                "path": str(s.get("path", "")),
            }
            for s in [*script.get("sources", []), *research.get("sources", [])]
            if isinstance(s, dict)
        ]
        unique = list({(s["archive"], s["path"]): s for s in sources}.values())
        languages.append(
            LanguageView(
                language=lang,
                has_video=bool(store.artifacts(item.id, step=FINAL_STEP, language=lang, kind="video")),
                has_thumbnail=bool(store.artifacts(item.id, step=FINAL_STEP, language=lang, kind="thumbnail")),
                title=str(script.get("title", "")),
                hook=str(script.get("hook", "")),
                script=str(script.get("script", "")),
                hashtags=[str(h) for h in script.get("hashtags", [])],
                sources=unique,
                searched=[str(s) for s in research.get("searched", [])],
                qa_failed=[c.line() for c in qa[lang].failed] if lang in qa else [],
                qa_picture=bool(store.artifacts(item.id, step=results.QA_STEP, language=lang, kind="picture")),
            )
        )
    verdict = _read_json(store, store.artifacts(item.id, step=0, kind="verdict"))
    redo = results.suggested_step(store, workspace, item.id)
    by_number = {s.number: s for s in STEPS}
    cpu: dict[int, dict[str, Any]] = {}
    for a in store.attempts(item_id=item.id, include_superseded=False):
        step = by_number.get(a.step)
        if step is None or a.status != "SUCCEEDED":
            continue
        substitute = a.resource == "cpu" and step.resource != "cpu"
        if substitute or a.degraded:
            entry = cpu.setdefault(a.step, {"step": step.label, "backend": a.backend, "production": step.resource,
                                            "degraded": False, "languages": []})  # fmt: skip
            entry["degraded"] = entry["degraded"] or a.degraded
            if a.language:
                entry["languages"].append(a.language)
    decisions = [
        {"decision": r.decision, "reasons": list(r.reasons), "note": r.note, "redo_from": r.redo_from, "at": r.at}
        for r in store.reviews(item.id)
    ]
    return Card(
        item_id=item.id, batch_id=item.batch_id, key=painting.key, title=painting.title, artist=painting.artist,
        year=painting.year, state=item.state.value, reason=item.reason, languages=languages, verdict=verdict,
        cpu_steps=[cpu[k] for k in sorted(cpu)], decisions=decisions,
        qa_suggest=by_number[redo].label if redo is not None else "",
    )  # fmt: skip


def cards(store: Store, *, show_all: bool = False) -> list[Card]:
    """Paintings waiting for a decision (COMPLETE) first, then, with ``show_all``, those already decided or sent
    back (newest first)."""
    todo = [card(store, i.id) for i in store.items_in_states([ItemState.COMPLETE])]
    todo.sort(key=lambda c: not c.qa_failed)  # videos that failed QA first (a stable sort keeps the order)
    if not show_all:
        return todo
    done = store.items_in_states([ItemState.APPROVED, ItemState.REJECTED, ItemState.REDO])
    return todo + [card(store, i.id) for i in sorted(done, key=lambda i: -i.updated_at)]


def media_path(store: Store, workspace: Path, item_id: int, language: str, kind: str) -> Path | None:
    """The file of one final video or thumbnail, looked up in the store (never built from the request), and only
    if it lies inside the workspace; None otherwise."""
    if kind not in MEDIA_KINDS:
        return None
    if kind == "qa":
        rows = store.artifacts(item_id, step=BY_NAME["qa"].number, language=language, kind="picture")
    else:
        rows = store.artifacts(item_id, step=FINAL_STEP, language=language, kind=kind)
    if not rows:
        return None
    root = workspace.resolve()
    path = (root / rows[-1].path).resolve()
    if not path.is_relative_to(root) or not path.is_file():
        log.warning("item %d: %s %s outside the workspace or missing; not served", item_id, language, kind)
        return None
    return path
