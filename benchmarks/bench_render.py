"""Benchmark of the final render: a 45 s 1080x1920 short (5 s transition, 36 s narration, 4 s outro).

The clips are made here from one painting (a slow zoom for the transition, a still with a tone as the
"narration", a fade for the outro) and are not timed; then :func:`vivant.render.render_final` is timed with
subtitles from synthetic word timings, title, watermark and the generated ambient bed (and, with
``--music``, a music file). Prints seconds of wall clock per second of video.

    .venv/bin/python benchmarks/bench_render.py [--runs N] [--music] [--painting PATH] [--keep DIR]
"""

from __future__ import annotations

import argparse
import logging
import os
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path

from vivant.backends import ffmpeg
from vivant.backends.local.fonts import find_fonts_dir, font_family
from vivant.render import FinalSpec, make_thumbnail, render_final
from vivant.roles import WordTiming
from vivant.subtitles import build_ass

W, H, FPS = 1080, 1920, 25
INTRO, SPEECH, OUTRO = 5.0, 36.0, 4.0
DEFAULT_PAINTING = Path(__file__).resolve().parents[2] / "shared/data/paintings/vermeer_girl-with-a-pearl-earring.jpg"
TEXT = (
    "She turns toward us, lips parted, as if about to speak. Johannes Vermeer painted her around 1665 in "
    "Delft, and nobody knows who she was. She is not a portrait but a tronie, a study of a face, a costume, "
    "an expression. Look at the pearl: it is only two strokes of paint, one bright dot and a soft reflection "
    "of her white collar. The blue of her turban is ultramarine, ground from lapis lazuli, dearer than gold. "
    "For two centuries the painting was almost forgotten, sold in 1881 for two guilders and thirty cents. "
    "Today she lives in the Mauritshuis, in The Hague, and she still looks back at everyone who passes."
)


def make_clips(painting: Path, folder: Path) -> list[Path]:
    fit = f"scale={W}:{H}:force_original_aspect_ratio=increase,crop={W}:{H},setsar=1"
    enc = ["-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-r", str(FPS)]
    transition, lipsync, outro = folder / "transition.mp4", folder / "lipsync.mp4", folder / "outro.mp4"
    ffmpeg.run([
        "-loop", "1", "-t", str(INTRO), "-i", painting,
        "-vf", f"{fit},scale=iw*1.1:-2,crop={W}:{H}:(iw-{W})/2:(ih-{H})/2*(1-t/{INTRO}),fade=t=in:d=1", *enc,
        transition,
    ])  # fmt: skip
    ffmpeg.run([
        "-loop", "1", "-t", str(SPEECH), "-i", painting,
        "-f", "lavfi", "-t", str(SPEECH), "-i",
        "aevalsrc='0.3*sin(2*PI*180*t)*(0.5+0.5*sin(2*PI*3*t))':s=22050",
        "-vf", fit, *enc, "-c:a", "aac", "-shortest", lipsync,
    ])  # fmt: skip
    ffmpeg.run(["-loop", "1", "-t", str(OUTRO), "-i", painting, "-vf", f"{fit},fade=t=out:st=1:d=3", *enc, outro])
    return [transition, lipsync, outro]


def synthetic_words(text: str, seconds: float) -> list[WordTiming]:
    words = text.split()
    weights = [len(w) + 2 + (6 if w[-1] in ".,:;" else 0) for w in words]
    scale = (seconds - 0.6) / sum(weights)
    out, t = [], 0.3
    for w, k in zip(words, weights, strict=True):
        d = k * scale
        out.append(WordTiming(word=w, start=round(t, 3), end=round(t + d * 0.85, 3)))
        t += d
    return out


def _child_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--music", action="store_true", help="also time a render with a music file")
    ap.add_argument("--painting", type=Path, default=DEFAULT_PAINTING)
    ap.add_argument("--keep", type=Path, help="copy the rendered video and thumbnail here")
    ap.add_argument("-v", "--verbose", action="store_true", help="log the render's phases")
    args = ap.parse_args()
    if args.verbose:
        logging.basicConfig(level=logging.DEBUG, format="%(relativeCreated)8.0f ms %(name)s: %(message)s")
        logging.getLogger("vivant.backends.ffmpeg").setLevel(logging.INFO)
    if not args.painting.is_file():
        print(f"painting not found: {args.painting}", file=sys.stderr)
        return 2

    with tempfile.TemporaryDirectory(prefix="vivant-bench-") as tmp:
        folder = Path(tmp)
        t0 = time.perf_counter()
        clips = make_clips(args.painting, folder)
        print(f"inputs made in {time.perf_counter() - t0:.1f} s (not timed below)")
        fonts = find_fonts_dir(None)
        words = synthetic_words(TEXT, SPEECH)
        subs = folder / "subs.ass"
        subs.write_text(build_ass(words, width=W, height=H, offset=INTRO, font=font_family(fonts)), encoding="utf-8")
        music = None
        if args.music:
            music = folder / "music.wav"
            ffmpeg.run(["-f", "lavfi", "-i", "sine=f=196:d=20,volume=0.4", "-ac", "2", music])

        variants = [("ambient bed", None)] + ([("music file", music)] if music else [])
        out = folder / "final.mp4"
        video_seconds = INTRO + SPEECH + OUTRO
        print(f"cores: {os.cpu_count()}, video: {video_seconds:.0f} s {W}x{H} @ {FPS} fps, {len(words)} words")
        for label, m in variants:
            spec = FinalSpec(
                clips=clips,
                title="Girl with a Pearl Earring",
                artist="Johannes Vermeer",
                year=1665,
                subtitles=subs,
                music=m,
                fonts_dir=fonts,
            )
            walls, cpus = [], []
            for _ in range(args.runs):
                t = time.perf_counter()
                c = _child_cpu()
                render_final(spec, out)
                walls.append(time.perf_counter() - t)
                cpus.append(_child_cpu() - c)
            med = statistics.median(walls)
            info = ffmpeg.probe(out)
            lufs = ffmpeg.loudness(out)
            print(
                f"[{label}] runs: {', '.join(f'{w:.2f}' for w in walls)} s; median {med:.2f} s "
                f"= {med / video_seconds:.3f} s per s of video; output {info.width}x{info.height} "
                f"{info.video_codec}/{info.audio_codec} {info.duration:.2f} s, {out.stat().st_size / 1e6:.1f} MB, "
                f"{lufs:.1f} LUFS"
            )
            cpu = statistics.median(cpus)
            print(
                f"[{label}] ffmpeg CPU time (user+sys) median {cpu:.1f} s = {cpu / video_seconds:.3f} CPU-s per s "
                f"of video (a lower bound of wall = CPU / {os.cpu_count()} cores on an idle machine: "
                f"{cpu / video_seconds / (os.cpu_count() or 1):.3f})"
            )
        t = time.perf_counter()
        thumb = folder / "thumb.jpg"
        make_thumbnail(clips[1], thumb, title="Girl with a Pearl Earring", artist="Johannes Vermeer", fonts_dir=fonts)
        print(f"thumbnail: {time.perf_counter() - t:.2f} s")
        peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
        print(f"peak memory of a child process (ffmpeg): {peak:.0f} MB")
        if args.keep:
            args.keep.mkdir(parents=True, exist_ok=True)
            for p in (out, thumb, subs):
                (args.keep / p.name).write_bytes(p.read_bytes())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
