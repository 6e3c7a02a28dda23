"""Step 8: the clip back from the photo to the painting, ending on the video's first frame (a seamless loop)."""

from __future__ import annotations

from vivant.steps.base import Step, StepContext, StepResult
from vivant.steps.transition import first_last_clip


def run(ctx: StepContext) -> StepResult:
    return first_last_clip(ctx, "outro", "realistic", "restore", ctx.settings.render.outro_seconds)


STEP = Step(8, "outro", run, resource="gpu", needs=("realistic", "restore"))
