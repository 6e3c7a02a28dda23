"""Step 6: the portrait speaking the narration (one clip per language, as long as the narration)."""

from __future__ import annotations

from vivant.roles import Verdict
from vivant.steps.base import Step, StepContext, StepResult


def run(ctx: StepContext) -> StepResult:
    syncer = ctx.roles.lipsyncer
    verdict = ctx.input_model("prepare", "verdict", Verdict)
    r = ctx.settings.render
    syncer.animate(
        ctx.input("realistic", "image"),
        ctx.input("audio", "audio"),
        ctx.out / "lipsync.mp4",
        face=verdict.main_face,
        width=r.width,
        height=r.height,
        fps=r.fps,
    )
    return StepResult(artifacts={"video": "lipsync.mp4"}, backend=syncer.name, degraded=syncer.degraded)


STEP = Step(6, "lipsync", run, per_language=True, resource="gpu", needs=("audio", "realistic", "prepare"))
