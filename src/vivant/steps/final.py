"""Step 9: the finished vertical video for one language, with its thumbnail."""

from __future__ import annotations

from dataclasses import replace

from vivant.roles import Script
from vivant.steps.base import Step, StepContext, StepResult


def run(ctx: StepContext) -> StepResult:
    from vivant.backends.local.fonts import find_fonts_dir
    from vivant.render import FinalSpec, make_thumbnail, pick_music, render_final

    r = ctx.settings.render
    script = ctx.input_model("script", "script", Script)
    fonts = find_fonts_dir(r.fonts_dir)
    painting = ctx.painting
    title = script.painting_title or painting.title  # the painting's title in this video's language
    spec = FinalSpec.from_settings(
        r,
        clips=[ctx.input("transition", "video"), ctx.input("lipsync", "video"), ctx.input("outro", "video")],
        subtitles=ctx.input("subtitles", "subtitles"),
        title=title,
        artist=painting.artist,
        year=painting.year,
        music=pick_music(r.music_dir, f"{painting.key}:{ctx.lang}"),
    )
    spec = replace(
        spec,
        fonts_dir=fonts,
        metadata={
            "title": script.title,
            "comment": " ".join(script.hashtags),
            "language": {"fr": "fra", "en": "eng"}[ctx.lang],
        },
    )
    out = ctx.out / "final.mp4"
    total = max(spec.duration_hint, 1.0)  # probes the clips: once, not at every progress tick
    render_final(spec, out, progress=lambda seconds: ctx.progress(seconds / total))
    make_thumbnail(
        ctx.input("lipsync", "video"),  # a clean frame: no subtitles or watermark on the cover
        ctx.out / "thumbnail.jpg",
        title=title,
        artist=painting.artist,
        fonts_dir=fonts,
        width=r.width,
        height=r.height,
    )
    return StepResult(artifacts={"video": "final.mp4", "thumbnail": "thumbnail.jpg"}, backend="local:ffmpeg")


STEP = Step(
    9, "final", run, per_language=True, resource="cpu",
    needs=("script", "transition", "lipsync", "subtitles", "outro"),
)  # fmt: skip
