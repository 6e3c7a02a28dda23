"""Step 2: the narration, spoken in one language, with the time of every word."""

from __future__ import annotations

from vivant.roles import Script, WordTiming
from vivant.steps.base import Step, StepContext, StepResult


def run(ctx: StepContext) -> StepResult:
    script = ctx.input_model("script", "script", Script)
    voice = ctx.roles.voice_for(ctx.lang)
    timings = voice.speak(script.script, ctx.lang, ctx.out / "narration.wav")
    words = [WordTiming.model_validate(t).model_dump() for t in timings]
    return StepResult(
        artifacts={"audio": "narration.wav", "timings": ctx.write_json("timings.json", words)},
        backend=voice.name,
        degraded=voice.degraded,
    )


STEP = Step(2, "audio", run, per_language=True, resource="gpu", needs=("script",))
