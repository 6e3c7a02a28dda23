"""Step 2: the narration, spoken in one language by a voice that fits the sitter, with the time of every word.

The sitter's gender comes from the catalog (``Painting.gender``), else from step 0's verdict (``sitter``), else it
is "unclear". The voice for (language, gender) comes from the registry (``[voice]``, ``[speech]`` or ComfyUI).
The attempt's backend names the voice that spoke (``local:pico:fr-FR``, ``local:mbrola:fr1``...); ``voice.json``
records the choice. The narration is degraded when espeak-ng (or another degraded voice) speaks, when the
voice is of the other gender, or when the word times had to be estimated.
"""

from __future__ import annotations

import logging

from vivant.errors import VivantError
from vivant.roles import Gender, Script, Verdict, WordTiming
from vivant.steps.base import Step, StepContext, StepResult

log = logging.getLogger(__name__)


def sitter_gender(ctx: StepContext) -> tuple[Gender, str]:
    """(gender, where it came from): the catalog's column, else step 0's verdict, else ("unclear", "none")."""
    if ctx.painting.gender is not None:
        return ctx.painting.gender, "catalog"
    try:
        verdict = ctx.input_model("prepare", "verdict", Verdict)
    except VivantError as e:  # no verdict (a step run alone): the voice for an unclear sitter
        log.info("%s: no sitter in step 0's verdict (%s); voice for an unclear gender", ctx.painting.key, e)
        return "unclear", "none"
    return verdict.sitter.gender, verdict.sitter.source if verdict.sitter.gender != "unclear" else "none"


def run(ctx: StepContext) -> StepResult:
    script = ctx.input_model("script", "script", Script)
    gender, source = sitter_gender(ctx)
    voice = ctx.roles.voice_for(ctx.lang, gender)
    timings = voice.speak(script.script, ctx.lang, ctx.out / "narration.wav")
    words = [WordTiming.model_validate(t).model_dump() for t in timings]
    voice_gender: Gender | None = getattr(voice, "gender", None)
    timing_source = str(getattr(voice, "timing_source", "") or "engine")
    reasons: list[str] = []
    if gender != "unclear" and voice_gender is not None and voice_gender != gender:
        reasons.append(f"a {voice_gender} voice speaks for a {gender} sitter")
    if timing_source == "estimate":
        reasons.append("word times estimated")
    if voice.degraded and not reasons:
        reasons.append("a degraded voice (espeak-ng)")
    record = {
        "voice": voice.name,
        "voice_gender": voice_gender,
        "sitter_gender": gender,
        "sitter_source": source,
        "timings": timing_source,
        "degraded": reasons,
        "voice_degraded": bool(voice.degraded),
    }
    return StepResult(
        artifacts={
            "audio": "narration.wav",
            "timings": ctx.write_json("timings.json", words),
            "voice": ctx.write_json("voice.json", record),
        },
        backend=voice.name,
        degraded=bool(voice.degraded or reasons),
    )


STEP = Step(2, "audio", run, per_language=True, resource="gpu", needs=("script", "prepare"))
