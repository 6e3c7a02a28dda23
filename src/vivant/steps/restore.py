"""Step 3: restore the painting (cracks, dirt, faded colours), same pose and size."""

from __future__ import annotations

from vivant.steps.base import Step, StepContext, StepResult


def run(ctx: StepContext) -> StepResult:
    editor = ctx.roles.image_editor("restore")
    editor.edit(ctx.input("prepare", "image"), ctx.out / "restored.png", task="restore")
    return StepResult(artifacts={"image": "restored.png"}, backend=editor.name, degraded=editor.degraded)


STEP = Step(3, "restore", run, resource="gpu", needs=("prepare",))
