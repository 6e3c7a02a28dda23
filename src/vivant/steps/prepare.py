"""Step 0: vision checks (one person, SFW, no child, sharp, big enough face) and the 1280 px copy."""

from __future__ import annotations

from vivant.errors import InputError
from vivant.roles import Box
from vivant.steps.base import Step, StepContext, StepResult

PREPARED_LONG_SIDE = 1280
"""Pixels on the long side of the image the later steps work from."""


def _scale(box: Box, factor: float) -> Box:
    return box.model_copy(
        update={"x": round(box.x * factor), "y": round(box.y * factor),
                "w": round(box.w * factor), "h": round(box.h * factor)}
    )  # fmt: skip


def run(ctx: StepContext) -> StepResult:
    from vivant.backends.local.vision import resize_long_side

    image = ctx.painting.image_path
    if not image.is_file():
        raise InputError(f"{ctx.painting.key}: image {image} is missing")
    inspector = ctx.roles.inspector
    verdict = inspector.inspect(image, ctx.painting, ctx.settings.checks)
    artifacts = {}
    if verdict.accepted:
        width, _height = resize_long_side(image, ctx.out / "prepared.png", PREPARED_LONG_SIDE)
        factor = width / verdict.width
        verdict = verdict.model_copy(
            update={
                "faces": [_scale(b, factor) for b in verdict.faces],
                "main_face": _scale(verdict.main_face, factor) if verdict.main_face else None,
            }
        )
        artifacts["image"] = "prepared.png"
    artifacts["verdict"] = ctx.write_json("verdict.json", verdict)
    return StepResult(
        artifacts=artifacts,
        backend=inspector.name,
        degraded=inspector.degraded,
        refused=[] if verdict.accepted else (verdict.reasons or ["refused"]),
    )


STEP = Step(0, "prepare", run, resource="llm")
