"""The demo night on the embedded CPU backends: where the time goes, and the engine's memory.

Prints, for a night of N portraits x the languages (default 4 x fr,en, full 1080x1920 output):
- wall clock of the whole night and of each step (from the attempts table), and per painting;
- the final render's seconds of wall clock per second of video (step 9);
- the peak resident memory of the engine process with a tiny catalog and with the 65k-row WikiArt catalog
  imported beside it (each in its own process, same 1-painting night), and their ratio: the engine must not
  grow with the catalog.

Usage: python benchmarks/bench_night.py [--count 4] [--langs fr,en] [--skip-night] [--skip-memory]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data"
PORTRAITS = [
    "vermeer_girl-with-a-pearl-earring.jpg",
    "leonardo_mona-lisa.jpg",
    "rembrandt_self-portrait-with-two-circles.jpg",
    "sargent_lady-agnew-of-lochnaw.jpg",
    "rossetti_lady-lilith.jpg",
    "velazquez_portrait-of-pope-innocent-x.jpg",
]


def _workspace(folder: Path, files: list[str], *, small: bool) -> Path:
    from vivant import catalog
    from vivant.config import load
    from vivant.store import Store
    from vivant.workspace import init_workspace

    cfg = init_workspace(folder)
    if small:
        text = cfg.read_text()
        for old, new in [("width = 1080", "width = 360"), ("height = 1920", "height = 640"), ("fps = 25", "fps = 15")]:
            text = text.replace(old, new)
        cfg.write_text(text)
    listing = folder / "paintings.csv"
    rows = ["key,file,title,artist,year,kind"]
    import csv

    with (SHARED / "paintings" / "catalog.csv").open(encoding="utf-8") as f:
        meta = {r["file"]: r for r in csv.DictReader(f)}
    for name in files:
        m = meta[name]
        rows.append(
            f'{Path(name).stem},{SHARED / "paintings" / name},"{m["title"]}","{m["artist"]}",{m["year"]},portrait'
        )
    listing.write_text("\n".join(rows) + "\n", encoding="utf-8")
    settings = load(cfg)
    with Store.open(settings.database) as store:
        catalog.import_catalog(store, listing, settings.catalog, columns=catalog.ColumnMap(genre="kind"))
    return cfg


def night(count: int, langs: list[str]) -> None:
    from vivant.backends.ffmpeg import probe
    from vivant.config import load
    from vivant.engine import Engine
    from vivant.steps import STEPS
    from vivant.store import Store

    with tempfile.TemporaryDirectory() as tmp:
        cfg = _workspace(Path(tmp), PORTRAITS[:count], small=False)
        settings = load(cfg)
        with Store.open(settings.database) as store:
            ids = [pid for pid, _ in store.painting_genres()]
            batch = store.create_batch(ids, languages=langs, seed=0)
            t0 = time.perf_counter()
            summary = Engine(store, settings).run(batch)
            wall = time.perf_counter() - t0
            attempts = store.attempts(batch_id=batch)
            per_step: dict[int, float] = {}
            per_item: dict[int, float] = {}
            for a in attempts:
                seconds = (a.finished_at or a.started_at) - a.started_at
                per_step[a.step] = per_step.get(a.step, 0.0) + seconds
                per_item[a.item_id] = per_item.get(a.item_id, 0.0) + seconds
            finals = [store.artifacts(i.id, step=9, kind="video") for i in store.items(batch)]
            video_seconds = sum(probe(settings.workspace / a.path).duration for arts in finals for a in arts)
            n_videos = sum(len(arts) for arts in finals)
        print(f"night: {count} paintings x {len(langs)} languages ({','.join(langs)}), 1080x1920, "
              f"{os.cpu_count()} cores: {summary.states}")  # fmt: skip
        print(f"  wall clock {wall:.1f} s; {n_videos} videos, {video_seconds:.1f} s of video in all")
        for step in STEPS:
            s = per_step.get(step.number, 0.0)
            print(f"  step {step.number} {step.name:<10} {s:7.1f} s  {s / wall:6.1%}")
        for item_id, s in per_item.items():
            print(f"  item {item_id}: {s:.1f} s")
        print(f"  final render (step 9): {per_step.get(9, 0.0) / video_seconds:.3f} s of wall clock per s of video")
        print(f"  whole night: {wall / video_seconds:.2f} s of wall clock per s of finished video")


def _child_peak(catalog_rows: str) -> float:
    """Run a 1-painting night in a fresh process; return its peak RSS in MiB."""
    code = f"""
import resource, sys, tempfile
from pathlib import Path
sys.path.insert(0, {str(ROOT / "benchmarks")!r})
import bench_night as b
from vivant import catalog
from vivant.config import load
from vivant.engine import Engine
from vivant.store import Store
with tempfile.TemporaryDirectory() as tmp:
    cfg = b._workspace(Path(tmp), b.PORTRAITS[:1], small=True)
    settings = load(cfg)
    with Store.open(settings.database) as store:
        if {catalog_rows!r} == "wikiart":
            folder = b.SHARED / "catalog" / "wikiart_artgan"
            for name in ("genre_train.csv", "genre_val.csv"):
                catalog.import_catalog(store, folder / name, settings.catalog)
        n = store.catalog_stats()["paintings"]
        before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        ids = [pid for pid, _ in store.painting_genres() if store.painting(pid).key == Path(b.PORTRAITS[0]).stem]
        batch = store.create_batch(ids, languages=["en"], seed=0)
        Engine(store, settings).run(batch)
    print(n, before, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    n, before, peak = (int(x) for x in out.split()[-3:])
    print(f"  catalog of {n:>6} paintings: peak RSS {peak / 1024:.0f} MiB (after the import: {before / 1024:.0f} MiB)")
    return peak / 1024


def memory() -> None:
    print("engine peak memory, same 1-painting night, 360x640 (each in a fresh process):")
    small = _child_peak("tiny")
    large = _child_peak("wikiart")
    print(f"  ratio with the 65k-row catalog / with the tiny one: {large / small:.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--count", type=int, default=4)
    parser.add_argument("--langs", default="fr,en")
    parser.add_argument("--skip-night", action="store_true")
    parser.add_argument("--skip-memory", action="store_true")
    args = parser.parse_args()
    if not SHARED.is_dir():
        sys.exit(f"{SHARED} is missing: the benchmark uses the shared sample paintings")
    if not args.skip_night:
        night(args.count, args.langs.split(","))
    if not args.skip_memory:
        memory()
    print(json.dumps({"maxrss_self_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))


if __name__ == "__main__":
    main()
