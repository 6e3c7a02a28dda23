"""Step 5: the clip where the painting turns into the photo-real portrait."""

from __future__ import annotations

from typing import Literal

from vivant.steps.base import Step, StepContext, StepResult


def first_last_clip(
    ctx: StepContext, style: Literal["transition", "outro"], first: str, last: str, seconds: float
) -> StepResult:
    """A first/last-frame clip from the ``image`` of step ``first`` to the ``image`` of step ``last``."""
    maker = ctx.roles.video_maker(style)
    r = ctx.settings.render
    maker.first_last(
        ctx.input(first, "image"),
        ctx.input(last, "image"),
        ctx.out / f"{style}.mp4",
        seconds=seconds,
        style=style,
        width=r.width,
        height=r.height,
        fps=r.fps,
    )
    return StepResult(artifacts={"video": f"{style}.mp4"}, backend=maker.name, degraded=maker.degraded)


def run(ctx: StepContext) -> StepResult:
    return first_last_clip(ctx, "transition", "restore", "realistic", ctx.settings.render.transition_seconds)


STEP = Step(5, "transition", run, resource="gpu", needs=("restore", "realistic"))
