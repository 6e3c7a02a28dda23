"""The steps, in order (ten that make the video, then its QA). This list is the one place the order lives;
adding a step is one module and one line here."""

from __future__ import annotations

from vivant.steps import (
    audio,
    final,
    lipsync,
    outro,
    prepare,
    qa,
    realistic,
    restore,
    script,
    subtitles,
    transition,
)
from vivant.steps.base import Step, StepContext, StepResult

STEPS: tuple[Step, ...] = (
    prepare.STEP,
    script.STEP,
    audio.STEP,
    restore.STEP,
    realistic.STEP,
    transition.STEP,
    lipsync.STEP,
    subtitles.STEP,
    outro.STEP,
    final.STEP,
    qa.STEP,
)


def _check(steps: tuple[Step, ...]) -> None:
    names = [s.name for s in steps]
    if len(set(names)) != len(names):
        raise ValueError(f"duplicate step name in {names}")
    for i, s in enumerate(steps):
        if s.number != i:
            raise ValueError(f"step {s.name} has number {s.number}, expected {i}")
        for need in s.needs:
            if need not in names[:i]:
                raise ValueError(f"step {s.name} needs {need}, which does not run before it")


_check(STEPS)
BY_NAME = {s.name: s for s in STEPS}


def find_step(ref: str | int) -> Step:
    """A step by number or name ("6", 6, "lipsync")."""
    if isinstance(ref, int) or ref.isdigit():
        n = int(ref)
        if 0 <= n < len(STEPS):
            return STEPS[n]
    elif ref in BY_NAME:
        return BY_NAME[ref]
    raise KeyError(f"no step {ref!r}: choose one of " + ", ".join(s.label for s in STEPS))


__all__ = ["BY_NAME", "STEPS", "Step", "StepContext", "StepResult", "find_step"]
