"""Step 1: research the painting offline, then write the first-person script in one language.

The writer is told where the painting sits in its night (:func:`~vivant.backends.local.writer.night_slot`:
its place among the batch's painting folders, the batch folder naming the night), so the template writer can
spread its openings and closings over the night, and the sitter's gender step 0 found when the catalog gives
none (the catalog's column wins).
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

from vivant.roles import Painting
from vivant.steps.base import Step, StepContext, StepResult

log = logging.getLogger(__name__)


def night_position(out: Path) -> tuple[int, str]:
    """(position of this painting among the night's painting folders, the night's name) from the unit's folder
    ``batches/NNNN/<painting>/.tmp-...``; (0, "") when the layout is not that."""
    painting_dir = out.parent
    night = painting_dir.parent
    try:
        names = sorted(p.name for p in night.iterdir() if p.is_dir() and not p.name.startswith("."))
    except OSError:
        return 0, ""
    if painting_dir.name not in names:
        return 0, ""
    return names.index(painting_dir.name), night.name


def _with_sitter(ctx: StepContext) -> Painting:
    painting = ctx.painting
    if painting.gender is not None:
        return painting
    try:
        verdict = json.loads(ctx.input("prepare", "verdict").read_text(encoding="utf-8"))
    except Exception as e:  # no verdict (a test without step 0) or an unreadable one: the title words decide
        log.debug("%s: no verdict for the sitter's gender: %s", painting.key, e)
        return painting
    gender = (verdict.get("sitter") or {}).get("gender")
    if gender in ("female", "male"):
        return painting.model_copy(update={"gender": gender})
    return painting


def run(ctx: StepContext) -> StepResult:
    from vivant.backends.local.writer import night_slot

    researcher, writer = ctx.roles.researcher, ctx.roles.writer
    notes = researcher.research(ctx.painting)
    ctx.progress(0.5)
    position, night = night_position(ctx.out)
    with night_slot(position, night or ctx.painting.key):
        script = writer.write(_with_sitter(ctx), notes, ctx.lang)
    (ctx.out / "script.txt").write_text(script.script + "\n", encoding="utf-8")
    wrote, degraded = ctx.ran(writer.name, writer.degraded)  # a writer that fell back names its stand-in
    return StepResult(
        artifacts={
            "research": ctx.write_json("research.json", notes),
            "script": ctx.write_json("script.json", script),
            "text": "script.txt",
        },
        backend=f"{researcher.name}+{wrote}",
        degraded=degraded or researcher.degraded,
    )


STEP = Step(1, "script", run, per_language=True, resource="llm", needs=("prepare",))
