"""Defect-injection benchmark of the automatic QA (issue 13).

    PYTHONPATH=src .venv/bin/python benchmarks/bench_qa.py --workspace /tmp/qa-demo [--per-strength 2]

Takes the demo's finished videos (``pool/*.mp4`` of a workspace made by ``vivant demo``, with their script and
subtitles from ``batches/``), checks each clean one (any failed check is a false alarm), then injects defects
with FFmpeg at several strengths into ``--per-strength`` videos each (rotating through the videos) and checks
them: a defect is detected when QA fails the video. Prints the detection rate per kind and strength, the checks
that caught it, the false alarms, and the QA time per minute of video.
"""

from __future__ import annotations

import argparse
import logging
import os
import re
import resource
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from vivant.backends import ffmpeg
from vivant.config import Settings, load
from vivant.qa import QAInputs, QAReport, run_qa
from vivant.qa.media import r128


@dataclass(frozen=True)
class Clean:
    video: Path
    language: str
    script: str
    subtitles: Path
    other: Path | None
    """The same painting's video in the other language (for the wrong-language defect)."""


def find_videos(ws: Path) -> list[Clean]:
    import json

    out = []
    for video in sorted((ws / "pool").glob("*.mp4")):
        stem, _, lang = video.stem.rpartition(".")
        folders = sorted(ws.glob(f"batches/*/{stem}"))
        if not folders:
            continue
        folder = folders[-1]
        script = json.loads((folder / f"1-script-{lang}" / "script.json").read_text(encoding="utf-8"))["script"]
        other = next((p for p in (ws / "pool").glob(f"{stem}.*.mp4") if p != video), None)
        out.append(Clean(video, lang, script, folder / f"7-subtitles-{lang}" / "subtitles.ass", other))
    return out


def duration(video: Path) -> float:
    return ffmpeg.probe(video).duration


def _audio_filter(src: Path, dest: Path, af: str) -> None:
    ffmpeg.run(
        ["-i", src, "-map", "0:v", "-map", "0:a", "-c:v", "copy", "-af", af, "-c:a", "aac", "-b:a", "160k", dest]
    )


def _video_filter(src: Path, dest: Path, graph: str) -> None:
    ffmpeg.run(["-i", src, "-filter_complex", graph, "-map", "[v]", "-map", "0:a", "-c:v", "libx264",
                "-preset", "veryfast", "-crf", "23", "-pix_fmt", "yuv420p", "-c:a", "copy", dest])  # fmt: skip


Injector = Callable[[Clean, float, Path, Path, Settings], tuple[Path, Path]]
"""(clean video, strength, work folder, output, settings) -> (video, subtitles) to check."""


def delay(c: Clean, ms: float, _w: Path, out: Path, _s: Settings) -> tuple[Path, Path]:
    d = duration(c.video)
    _audio_filter(c.video, out, f"adelay=delays={ms:g}:all=1,atrim=0:{d:.3f}")
    return out, c.subtitles


def black(c: Clean, seconds: float, _w: Path, out: Path, _s: Settings) -> tuple[Path, Path]:
    t0 = duration(c.video) * 0.45
    _video_filter(c.video, out, f"[0:v]drawbox=c=black@1:t=fill:enable='between(t,{t0:.3f},{t0 + seconds:.3f})'[v]")
    return out, c.subtitles


def frozen(c: Clean, seconds: float, _w: Path, out: Path, _s: Settings) -> tuple[Path, Path]:
    fps = 25
    first = int(duration(c.video) * 0.45 * fps)
    last = first + round(seconds * fps) - 1
    _video_filter(c.video, out, f"[0:v]split[a][b];[a][b]freezeframes=first={first}:last={last}:replace={first}[v]")
    return out, c.subtitles


def loudness(c: Clean, off_lu: float, _w: Path, out: Path, s: Settings) -> tuple[Path, Path]:
    """Loudness ``off_lu`` LU away from the render target (the gain is measured, then applied)."""
    gain = s.render.loudness_lufs + off_lu - r128(c.video).integrated
    _audio_filter(c.video, out, f"volume={gain:.2f}dB")
    return out, c.subtitles


def other_language(c: Clean, _x: float, _w: Path, out: Path, _s: Settings) -> tuple[Path, Path]:
    assert c.other is not None
    d = duration(c.video)
    ffmpeg.run(["-i", c.video, "-i", c.other, "-map", "0:v", "-map", "1:a", "-c:v", "copy", "-af",
                f"apad,atrim=0:{d:.3f}", "-c:a", "aac", "-b:a", "160k", out])  # fmt: skip
    return out, c.subtitles


def noise(c: Clean, _x: float, _w: Path, out: Path, s: Settings) -> tuple[Path, Path]:
    """The narration replaced by noise: pink noise at the target loudness over the whole track."""
    d = duration(c.video)
    ffmpeg.run(["-i", c.video, "-f", "lavfi", "-i", f"anoisesrc=c=pink:r=48000:a=0.2:d={d:.3f}:seed=3",
                "-map", "0:v", "-map", "1:a", "-c:v", "copy", "-af", f"loudnorm=I={s.render.loudness_lufs:g}",
                "-ar", "48000", "-ac", "2", "-c:a", "aac", "-b:a", "160k", out])  # fmt: skip
    return out, c.subtitles


def shift_subtitles(c: Clean, seconds: float, work: Path, out: Path, _s: Settings) -> tuple[Path, Path]:
    """The subtitles shifted by ``seconds`` (the video is the clean one; QA compares it with these subtitles)."""

    def move(m: re.Match[str]) -> str:
        h, mi, sec, cs = (int(g) for g in m.groups())
        t = max(0, round((h * 3600 + mi * 60 + sec + cs / 100 + seconds) * 100))
        h2, rest = divmod(t, 360000)
        m2, rest = divmod(rest, 6000)
        s2, c2 = divmod(rest, 100)
        return f"{h2}:{m2:02d}:{s2:02d}.{c2:02d}"

    lines = []
    for line in c.subtitles.read_text(encoding="utf-8").splitlines():
        if line.startswith("Dialogue:"):
            line = re.sub(r"(\d+):(\d{2}):(\d{2})\.(\d{2})", move, line, count=2)
        lines.append(line)
    ass = work / f"shifted{seconds:+g}.ass"
    ass.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return c.video, ass


def truncate(c: Clean, share: float, _w: Path, out: Path, _s: Settings) -> tuple[Path, Path]:
    """The file cut at ``share`` of its duration."""
    ffmpeg.run(["-i", c.video, "-t", f"{duration(c.video) * share:.3f}", "-c", "copy", out])
    return out, c.subtitles


def silence_gap(c: Clean, seconds: float, _w: Path, out: Path, _s: Settings) -> tuple[Path, Path]:
    t0 = duration(c.video) * 0.45
    _audio_filter(c.video, out, f"volume=0:enable='between(t,{t0:.3f},{t0 + seconds:.3f})'")
    return out, c.subtitles


KINDS: dict[str, tuple[Injector, list[float], str]] = {
    "audio delayed (ms)": (delay, [160, 250, 400], "ms"),
    "black (s)": (black, [0.5, 1.0, 2.0], "s"),
    "frozen (s)": (frozen, [0.5, 1.0, 2.0], "s"),
    "loudness off target (LU)": (loudness, [-8, -4, 4, 6], "LU"),
    "other language": (other_language, [1], ""),
    "noise instead of voice": (noise, [1], ""),
    "subtitles shifted (s)": (shift_subtitles, [-1.0, 1.0], "s"),
    "truncated (share kept)": (truncate, [0.5, 0.75, 0.9], ""),
    "silence gap (s)": (silence_gap, [1.5, 2.0, 3.0], "s"),
}
BELOW_TOLERANCE: dict[str, tuple[Injector, list[float]]] = {
    # under the thresholds, where passing is right: printed, not counted
    "audio delayed 80 ms (tolerance ±120 ms)": (delay, [80]),
    "silence gap 1 s (pauses up to 1.2 s allowed)": (silence_gap, [1.0]),
}


def check(c: Clean, video: Path, subtitles: Path, settings: Settings) -> QAReport:
    return run_qa(video, settings, QAInputs(language=c.language, script=c.script, subtitles=subtitles))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--workspace", type=Path, default=Path("/tmp/qa-demo"))
    parser.add_argument("--per-strength", type=int, default=2, help="videos each defect strength is injected in")
    parser.add_argument("--only", default="", help="inject only kinds containing one of these (comma-separated)")
    parser.add_argument("--no-clean", action="store_true", help="skip the clean videos (false alarms)")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    cfg = args.workspace / "vivant.toml"
    settings = load(cfg) if cfg.is_file() else Settings()
    videos = find_videos(args.workspace)
    if not videos:
        print(f"{args.workspace}: no finished videos in pool/ (run `vivant demo --workspace` first)")
        return 2
    qa_seconds = qa_cpu = video_seconds = 0.0

    def cpu() -> float:
        own, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
        return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime

    def timed(c: Clean, video: Path, subs: Path) -> QAReport:
        nonlocal qa_seconds, qa_cpu, video_seconds
        t, c0 = time.perf_counter(), cpu()
        r = check(c, video, subs, settings)
        qa_seconds += time.perf_counter() - t
        qa_cpu += cpu() - c0
        video_seconds += r.duration
        return r

    print(f"{len(videos)} clean videos from {args.workspace / 'pool'}")
    false_alarms = 0
    if not args.no_clean:
        for c in videos:
            r = timed(c, c.video, c.subtitles)
            false_alarms += not r.passed
            sync = r.check("sync")
            print(f"  clean {c.video.name}: {'PASS' if r.passed else 'FAIL ' + ', '.join(r.causes())}"
                  f"  (sync {sync.value if sync else '-'} ms, {r.seconds:.1f} s)", flush=True)  # fmt: skip
    total_detected = total = 0
    rotation = 0
    kinds = {**KINDS, **{k: (f, s, "") for k, (f, s) in BELOW_TOLERANCE.items()}}
    with tempfile.TemporaryDirectory(prefix="bench-qa-") as tmp:
        work = Path(tmp)
        print(f"\n{'defect':48} {'strength':>8} {'detected':>9}  caught by")
        for kind, (inject, strengths, unit) in kinds.items():
            if args.only and not any(o.strip() and o.strip() in kind for o in args.only.split(",")):
                continue
            for strength in strengths:
                detected, n, caught = 0, 0, set()
                for _ in range(args.per_strength):
                    pool = [c for c in videos if c.other is not None] if inject is other_language else videos
                    c = pool[rotation % len(pool)]
                    rotation += 1
                    out = work / f"defect-{rotation}.mp4"
                    video, subs = inject(c, strength, work, out, settings)
                    r = timed(c, video, subs)
                    n += 1
                    detected += not r.passed
                    caught.update(r.causes())
                    out.unlink(missing_ok=True)
                if kind not in BELOW_TOLERANCE:
                    total_detected += detected
                    total += n
                label = f"{strength:g} {unit}".strip() if len(strengths) > 1 or unit else "-"
                print(f"{kind:48} {label:>8} {detected:>4}/{n:<4}  {', '.join(sorted(caught)) or '-'}", flush=True)
    if total:
        print(f"\ndetected {total_detected}/{total} = {100 * total_detected / total:.1f}% of the injected defects "
              f"(kinds above the tolerances)")  # fmt: skip
    if not args.no_clean:
        print(f"false alarms: {false_alarms}/{len(videos)} clean videos")
    if video_seconds:
        print(f"QA time: {qa_seconds:.1f} s for {video_seconds:.1f} s of video = "
              f"{qa_seconds / video_seconds * 60:.1f} s of wall clock per minute of video, "
              f"{qa_cpu / video_seconds * 60:.1f} CPU-s per minute (load {os.getloadavg()[0]:.1f})")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
