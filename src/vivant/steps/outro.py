"""Step 8: the clip back from the photo to the painting, ending on the video's first frame (a seamless loop)."""

from __future__ import annotations

from vivant.steps.base import Step, StepContext, StepResult


def run(ctx: StepContext) -> StepResult:
    maker = ctx.roles.video_maker("outro")
    r = ctx.settings.render
    maker.first_last(
        ctx.input("realistic", "image"),
        ctx.input("restore", "image"),
        ctx.out / "outro.mp4",
        seconds=r.outro_seconds,
        style="outro",
        width=r.width,
        height=r.height,
        fps=r.fps,
    )
    return StepResult(artifacts={"video": "outro.mp4"}, backend=maker.name, degraded=maker.degraded)


STEP = Step(8, "outro", run, resource="gpu", needs=("realistic", "restore"))
