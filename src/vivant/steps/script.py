"""Step 1: research the painting offline, then write the first-person script in one language."""

from __future__ import annotations

from vivant.steps.base import Step, StepContext, StepResult


def run(ctx: StepContext) -> StepResult:
    researcher, writer = ctx.roles.researcher, ctx.roles.writer
    notes = researcher.research(ctx.painting)
    ctx.progress(0.5)
    script = writer.write(ctx.painting, notes, ctx.lang)
    (ctx.out / "script.txt").write_text(script.script + "\n", encoding="utf-8")
    return StepResult(
        artifacts={
            "research": ctx.write_json("research.json", notes),
            "script": ctx.write_json("script.json", script),
            "text": "script.txt",
        },
        backend=f"{researcher.name}+{writer.name}",
        degraded=writer.degraded or researcher.degraded,
    )


STEP = Step(1, "script", run, per_language=True, resource="llm", needs=("prepare",))
