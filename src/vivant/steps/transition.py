"""Step 5: the clip where the painting turns into the photo-real portrait."""

from __future__ import annotations

from vivant.steps.base import Step, StepContext, StepResult


def run(ctx: StepContext) -> StepResult:
    maker = ctx.roles.video_maker("transition")
    r = ctx.settings.render
    maker.first_last(
        ctx.input("restore", "image"),
        ctx.input("realistic", "image"),
        ctx.out / "transition.mp4",
        seconds=r.transition_seconds,
        style="transition",
        width=r.width,
        height=r.height,
        fps=r.fps,
    )
    return StepResult(artifacts={"video": "transition.mp4"}, backend=maker.name, degraded=maker.degraded)


STEP = Step(5, "transition", run, resource="gpu", needs=("restore", "realistic"))
