"""Step 9 for a 45 s short: :func:`vivant.render.render_final` against a moviepy composition of the same layers.

moviepy is what the most popular peer project composes its shorts with. Both renders run in this process, one
after the other, on the inputs of ``bench_render.py`` (5 s transition, 36 s narration clip, 4 s outro, 1080x1920
at 25 fps): the three clips end to end, subtitles (2-4 words a line, as ours), the title and artist over the
first seconds, a watermark all along, an ambient bed under the narration, H.264 (veryfast, CRF 23) + AAC.
moviepy draws every layer in Python for every frame and pipes raw frames to ffmpeg; ours is one ffmpeg graph
(plus its loudness pass). Prints both wall clocks and the ratio. Needs the ``bench`` extra (moviepy).

    .venv/bin/pip install -e '.[bench]'
    .venv/bin/python benchmarks/bench_render_moviepy.py [--runs N]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from bench_render import DEFAULT_PAINTING, FPS, INTRO, SPEECH, TEXT, H, W, make_clips, synthetic_words

from vivant.backends import ffmpeg
from vivant.backends.local.fonts import find_fonts_dir, font_family
from vivant.render import FinalSpec, render_final
from vivant.roles import WordTiming
from vivant.subtitles import build_ass

TITLE, ARTIST, YEAR = "Girl with a Pearl Earring", "Johannes Vermeer", 1665


def lines_of(words: list[WordTiming], per_line: int = 3) -> list[tuple[str, float, float]]:
    out = []
    for k in range(0, len(words), per_line):
        chunk = words[k : k + per_line]
        out.append((" ".join(w.word for w in chunk), chunk[0].start, chunk[-1].end))
    return out


def render_moviepy(clips: list[Path], words: list[WordTiming], fonts: Path, out: Path) -> None:
    from moviepy import (
        AudioArrayClip,
        CompositeAudioClip,
        CompositeVideoClip,
        TextClip,
        VideoFileClip,
        concatenate_videoclips,
    )

    font = str(fonts / "DejaVuSans-Bold.ttf")
    parts = [VideoFileClip(str(p)) for p in clips]
    base = concatenate_videoclips(parts)
    total = base.duration
    layers = [base]
    layers.append(
        TextClip(font=font, text=TITLE, font_size=64, color="white", stroke_color="black", stroke_width=3)
        .with_start(0.3).with_duration(INTRO - 0.6).with_position(("center", int(H * 0.12)))
    )  # fmt: skip
    layers.append(
        TextClip(font=font, text=f"{ARTIST}, {YEAR}", font_size=44, color="white", stroke_color="black",
                 stroke_width=2)
        .with_start(0.6).with_duration(INTRO - 0.9).with_position(("center", int(H * 0.12) + 90))
    )  # fmt: skip
    layers.append(
        TextClip(font=font, text="Tableau Vivant", font_size=32, color="white")
        .with_opacity(0.6).with_duration(total).with_position((40, H - 90))
    )  # fmt: skip
    for text, start, end in lines_of(words):
        layers.append(
            TextClip(font=font, text=text, font_size=72, color="yellow", stroke_color="black", stroke_width=4,
                     method="caption", size=(W - 160, None))
            .with_start(INTRO + start).with_duration(max(0.2, end - start + 0.2))
            .with_position(("center", int(H * 0.68)))
        )  # fmt: skip
    video = CompositeVideoClip(layers, size=(W, H))
    # the ambient bed: two soft detuned tones with a slow swell, under everything
    sr = 44100
    t = np.arange(int(total * sr)) / sr
    bed = 0.05 * (np.sin(2 * np.pi * 110 * t) + np.sin(2 * np.pi * 164.8 * t)) * (0.6 + 0.4 * np.sin(2 * np.pi * t / 9))
    music = AudioArrayClip(np.stack([bed, bed], axis=1), fps=sr)
    voice = [p.audio.with_start(sum(c.duration for c in parts[:k])) for k, p in enumerate(parts) if p.audio]
    video = video.with_audio(CompositeAudioClip([music, *voice]).with_duration(total))
    video.write_videofile(str(out), fps=FPS, codec="libx264", preset="veryfast", ffmpeg_params=["-crf", "23"],
                          audio_codec="aac", threads=os.cpu_count(), logger=None)  # fmt: skip
    video.close()
    for p in parts:
        p.close()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=1)
    ap.add_argument("--painting", type=Path, default=DEFAULT_PAINTING)
    args = ap.parse_args()
    try:
        import moviepy
    except ImportError:
        print("moviepy is not installed: .venv/bin/pip install -e '.[bench]'", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory(prefix="vivant-bench-") as tmp:
        folder = Path(tmp)
        clips = make_clips(args.painting, folder)
        fonts = find_fonts_dir(None)
        words = synthetic_words(TEXT, SPEECH)
        subs = folder / "subs.ass"
        subs.write_text(build_ass(words, width=W, height=H, offset=INTRO, font=font_family(fonts)), encoding="utf-8")
        spec = FinalSpec(clips=clips, title=TITLE, artist=ARTIST, year=YEAR, subtitles=subs, fonts_dir=fonts)
        ours, theirs = [], []
        for _ in range(args.runs):
            t = time.perf_counter()
            render_final(spec, folder / "ours.mp4")
            ours.append(time.perf_counter() - t)
            t = time.perf_counter()
            render_moviepy(clips, words, fonts, folder / "moviepy.mp4")
            theirs.append(time.perf_counter() - t)
        a, b = statistics.median(ours), statistics.median(theirs)
        for name, f in (("ours", "ours.mp4"), ("moviepy", "moviepy.mp4")):
            info = ffmpeg.probe(folder / f)
            print(f"{name}: {info.width}x{info.height} {info.video_codec}/{info.audio_codec} {info.duration:.2f} s, "
                  f"{(folder / f).stat().st_size / 1e6:.1f} MB")  # fmt: skip
        print(f"cores: {os.cpu_count()}, moviepy {moviepy.__version__}, runs: {args.runs}")
        print(f"ours: {a:.1f} s; moviepy: {b:.1f} s; moviepy / ours = {b / a:.2f}x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
