"""Step 7: word-timed subtitles (an ASS file) for the narration; burned in by step 9."""

from __future__ import annotations

from pydantic import TypeAdapter

from vivant.roles import Script, WordTiming
from vivant.steps.base import Step, StepContext, StepResult

_words = TypeAdapter(list[WordTiming])


def run(ctx: StepContext) -> StepResult:
    from vivant.backends.local.fonts import find_fonts_dir, font_family
    from vivant.subtitles import build_ass

    transcriber = ctx.roles.transcriber
    script = ctx.input_model("script", "script", Script)
    voice_timings = _words.validate_json(ctx.input("audio", "timings").read_bytes())
    words = transcriber.align(ctx.input("audio", "audio"), script.script, ctx.lang, voice_timings)
    r = ctx.settings.render
    fonts = find_fonts_dir(r.fonts_dir)  # fail here, not at render time, when no font can be found
    ass = build_ass(words, width=r.width, height=r.height, offset=r.transition_seconds, font=font_family(fonts))
    (ctx.out / "subtitles.ass").write_text(ass, encoding="utf-8")
    backend, degraded = ctx.ran(transcriber.name, transcriber.degraded)  # Whisper may hand over to the voice's times
    return StepResult(
        artifacts={
            "subtitles": "subtitles.ass",
            "words": ctx.write_json("words.json", [w.model_dump() for w in words]),
        },
        backend=backend,
        degraded=degraded,
    )


STEP = Step(7, "subtitles", run, per_language=True, resource="llm", needs=("audio", "script"))
