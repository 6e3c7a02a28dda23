"""Step 10: automatic QA of each final video (format, picture, sound, sync, speech, subtitles).

The step succeeds whenever it could measure: a video that fails a check is not an error to retry but a finding,
stored as the ``qa`` artifact (a :class:`~vivant.qa.QAReport`, each check with value, threshold and verdict)
with a picture of the first problem. The review page shows such a video first, the batch report counts it, the
publisher refuses it and ``vivant redo`` suggests the step to run again.
"""

from __future__ import annotations

import json

from vivant.errors import StepError
from vivant.roles import Script
from vivant.steps.base import Step, StepContext, StepResult


def run(ctx: StepContext) -> StepResult:
    from vivant.qa import Check, QAInputs, QAReport, run_qa

    video = ctx.input("final", "video")
    if not ctx.settings.qa.enabled:
        report = QAReport(
            video=video.name,
            language=ctx.lang,
            checks=[Check(name="qa", group="format", verdict="skip", detail="qa.enabled is off")],
        )
    else:
        script = ctx.input_model("script", "script", Script)
        inputs = QAInputs(
            language=ctx.lang,
            script=script.script,
            subtitles=ctx.input("subtitles", "subtitles"),
            degraded_voice=_degraded_voice(ctx),
        )
        report = run_qa(video, ctx.settings, inputs, out_dir=ctx.out)
        report.video = video.name
    artifacts = {"qa": ctx.write_json("qa.json", report)}
    if report.picture:
        artifacts["picture"] = report.picture
    return StepResult(artifacts=artifacts, backend="local:qa")


def _degraded_voice(ctx: StepContext) -> bool:
    """Whether step 2 spoke with a degraded voice (its ``voice`` record; an older record without it: no)."""
    try:
        record = json.loads(ctx.input("audio", "voice").read_text(encoding="utf-8"))
    except (StepError, OSError, ValueError):
        return False
    return bool(record.get("voice_degraded", False)) if isinstance(record, dict) else False


STEP = Step(10, "qa", run, per_language=True, resource="cpu", needs=("script", "audio", "subtitles", "final"))
