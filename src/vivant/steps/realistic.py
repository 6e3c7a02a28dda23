"""Step 4: a photo-realistic version of the portrait, same pose."""

from __future__ import annotations

from vivant.steps.base import Step, StepContext, StepResult


def run(ctx: StepContext) -> StepResult:
    editor = ctx.roles.image_editor("realistic")
    editor.edit(ctx.input("prepare", "image"), ctx.out / "realistic.png", task="realistic")
    artifacts = {"image": "realistic.png"}
    if editor.degraded:
        # the label travels with the file, so whoever opens the folder knows this is not a photo-real model's work
        artifacts["label"] = ctx.write_json(
            "realistic.json",
            {
                "backend": editor.name,
                "degraded": True,
                "note": "CPU approximation (smoothed brush texture, natural grade): not a photo-real model",
            },
        )
    return StepResult(artifacts=artifacts, backend=editor.name, degraded=editor.degraded)


STEP = Step(4, "realistic", run, resource="gpu", needs=("prepare",))
