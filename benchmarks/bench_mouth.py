"""Benchmark of the CPU lip-sync: does the mouth follow the narration, and at what cost?

One English narration is spoken by the local piper voice (audio + word timings); every single portrait of
``../shared/data/paintings`` (catalog kind ``portrait``) is animated with it twice: the landmark-driven mesh
mouth and the box warp it falls back to. The output frames are decoded and the lips' opening is measured in
each with dlib's 68 landmarks (inner-lip gap over mouth width), followed from the first frame's face. Prints
per portrait which rig ran, the Pearson correlation between the wanted opening (the viseme track) and the
measured one, the mean measured opening on open-vowel frames, on m/b/p closures and in silences (minus the
painting's own), and CPU seconds (this process and the encoder) per second of video; then the share of
portraits with a mesh and medians.

    .venv/bin/python benchmarks/bench_mouth.py [--size 540x960] [--only NAME ...] [--keep DIR]
"""

from __future__ import annotations

import argparse
import csv
import json
import statistics
import sys
import tempfile
from pathlib import Path

import numpy as np

from vivant.backends.ffmpeg import run
from vivant.backends.local.canvas import canvas_transform, load_bgr
from vivant.backends.local.mouth import LocalLipSyncer, cpu_seconds
from vivant.backends.local.mouth_landmarks import measure_openings
from vivant.backends.local.voice import PiperVoice

FPS = 25
PAINTINGS = Path(__file__).resolve().parents[2] / "shared/data/paintings"
TEXT = (
    "Mama made a map of Rome for me. Look at her eyes: she is happy, but she keeps a secret. "
    "Bob, the painter, put a blue robe upon her, and we all wait for her to speak."
)


def decode(path: Path, width: int, height: int) -> np.ndarray:
    raw = path.with_suffix(".bgr")
    run(["-i", path, "-map", "0:v:0", "-f", "rawvideo", "-pix_fmt", "bgr24", raw])
    data = np.fromfile(raw, np.uint8).reshape(-1, height, width, 3)
    raw.unlink()
    return data


def corr(a: np.ndarray, b: np.ndarray) -> float:
    ok = ~np.isnan(b)
    if ok.sum() < 3 or np.std(a[ok]) == 0 or np.std(b[ok]) == 0:
        return float("nan")
    return float(np.corrcoef(a[ok], b[ok])[0, 1])


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--size", default="540x960", help="video size WxH (default 540x960)")
    ap.add_argument("--only", nargs="*", help="painting files to run (default: every catalog portrait)")
    ap.add_argument("--keep", type=Path, help="keep the clips in this folder")
    args = ap.parse_args()
    width, height = (int(x) for x in args.size.split("x"))
    with (PAINTINGS / "catalog.csv").open(encoding="utf-8") as f:
        files = [r["file"] for r in csv.DictReader(f) if r["kind"] == "portrait"]
    if args.only:
        files = [f for f in files if f in args.only]
    with tempfile.TemporaryDirectory(prefix="bench-mouth-") as tmp:
        work = args.keep or Path(tmp)
        work.mkdir(parents=True, exist_ok=True)
        wav = work / "narration.wav"
        words = PiperVoice().speak(TEXT, "en", wav)
        (work / "timings.json").write_text(json.dumps([w.model_dump() for w in words]), encoding="utf-8")
        print(f"narration: {len(words)} words, {words[-1].end:.1f} s; video {width}x{height} at {FPS} fps")
        print(f"{'painting':46} {'rig':17} {'corr':>5} {'vowel':>6} {'m/b/p':>6} {'rest':>6} {'lost':>5} "
              f"{'cpu/s':>6} {'warp cpu/s':>10} {'warp corr':>9}")  # fmt: skip
        rows = []
        for name in files:
            result = {}
            for rig in ("mesh", "warp"):
                syncer = LocalLipSyncer(landmarks=rig == "mesh")
                out = work / f"{Path(name).stem}.{rig}.mp4"
                c0 = cpu_seconds()
                syncer.animate(PAINTINGS / name, wav, out, face=None, width=width, height=height, fps=FPS)
                used = cpu_seconds() - c0
                assert syncer.last is not None
                track = syncer.last.track
                # Measured from the first frame's face (the rig's landmarks moved onto the canvas, where the
                # zoom starts at 1) or, for the box warp, from dlib's detector on the frames.
                img = load_bgr(PAINTINGS / name)
                start = None
                if syncer.last.landmarks is not None:
                    scale, ox, oy = canvas_transform(img.shape[1], img.shape[0], width, height)
                    start = syncer.last.landmarks.moved(scale, ox, oy)
                measured = measure_openings(decode(out, width, height), start=start)
                rest_level = np.nanmedian(measured[np.array(track.viseme) == "rest"])
                m = measured - rest_level
                labels = np.array(track.viseme)
                vowel = (track.opening > 0.5) & ~np.isnan(m)
                closed = (labels == "closed") & (track.opening < 0.05) & ~np.isnan(m)
                rest = (labels == "rest") & ~np.isnan(m)
                result[rig] = {
                    "backend": syncer.name,
                    "corr": corr(track.opening.astype(np.float64), measured),
                    "vowel": float(np.mean(m[vowel])) if vowel.any() else float("nan"),
                    "closed": float(np.mean(m[closed])) if closed.any() else float("nan"),
                    "rest": float(np.mean(m[rest])) if rest.any() else float("nan"),
                    "lost": float(np.isnan(measured).mean()),
                    "cpu": used / (syncer.last.frames / FPS),
                }
                if not args.keep:
                    out.unlink()
            r, w = result["mesh"], result["warp"]
            rows.append((name, r, w))
            print(f"{name:46} {r['backend']:17} {r['corr']:5.2f} {r['vowel']:6.3f} {r['closed']:6.3f} "
                  f"{r['rest']:6.3f} {r['lost']:5.0%} {r['cpu']:6.2f} {w['cpu']:10.2f} {w['corr']:9.2f}")  # fmt: skip
            sys.stdout.flush()
    meshed = [r for _, r, _ in rows if r["backend"] == "local:mesh-mouth"]
    print(f"mesh found: {len(meshed)}/{len(rows)} portraits ({len(meshed) / max(1, len(rows)):.0%})")
    if meshed:
        print(f"median correlation (mesh portraits): {statistics.median(r['corr'] for r in meshed):.2f}")
    print(f"median CPU s per s of video: mesh rig {statistics.median(r['cpu'] for _, r, _ in rows):.2f}, "
          f"box warp {statistics.median(w['cpu'] for _, _, w in rows):.2f}")  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
