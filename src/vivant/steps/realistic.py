"""Step 4: a photo-realistic version of the portrait, same pose."""

from __future__ import annotations

from vivant.steps.base import Step, StepContext, StepResult


def run(ctx: StepContext) -> StepResult:
    editor = ctx.roles.image_editor("realistic")
    editor.edit(ctx.input("prepare", "image"), ctx.out / "realistic.png", task="realistic")
    return StepResult(artifacts={"image": "realistic.png"}, backend=editor.name, degraded=editor.degraded)


STEP = Step(4, "realistic", run, resource="gpu", needs=("prepare",))
