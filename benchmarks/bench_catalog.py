"""Benchmark of the catalog: import the 65k-row WikiArt genre lists, then draw 20 portraits.

    .venv/bin/python benchmarks/bench_catalog.py [--data ../shared/data] [--draws 200]

Prints: the import time into a fresh database (and its rate), the draw time (median and 95th percentile over many
draws) with every image present and with none present (the worst case: every candidate's file is looked for), and
peak memory (the Python heap during the import by tracemalloc, and the process's peak resident size).
"""

from __future__ import annotations

import argparse
import logging
import resource
import statistics
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

from vivant.catalog import draw, import_catalog
from vivant.config import CatalogSettings
from vivant.store import Store

ROOT = Path(__file__).resolve().parents[1]


def import_once(db: Path, folder: Path, settings: CatalogSettings) -> tuple[float, int, int, int]:
    with Store.open(db) as store:
        start = time.perf_counter()
        report = import_catalog(store, folder, settings)
        took = time.perf_counter() - start
    return took, report.read, report.kept, report.portraits


def time_draws(store: Store, n: int, rounds: int) -> tuple[float, float, int]:
    times = []
    got = 0
    for seed in range(rounds):
        start = time.perf_counter()
        got = len(draw(store, n, seed=seed))
        times.append((time.perf_counter() - start) * 1000)
    times.sort()
    return statistics.median(times), times[int(0.95 * (len(times) - 1))], got


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data")
    ap.add_argument("--draws", type=int, default=200)
    args = ap.parse_args()
    logging.basicConfig(level=logging.ERROR)  # the no-image draws warn on every round
    folder = args.data / "catalog" / "wikiart_artgan"
    if not (folder / "genre_train.csv").is_file():
        print(f"no WikiArt lists in {folder}", file=sys.stderr)
        return 1

    with tempfile.TemporaryDirectory(prefix="bench-catalog-") as tmp:
        work = Path(tmp)
        # Images "present": an empty file for every path of the lists, under images_dir.
        images = work / "images"
        for csv_name in ("genre_train.csv", "genre_val.csv"):
            for line in (folder / csv_name).read_text(encoding="utf-8").splitlines():
                rel = line.rsplit(",", 1)[0].strip()
                if rel:
                    (images / rel).parent.mkdir(parents=True, exist_ok=True)
                    (images / rel).touch()

        runs = []
        for i in range(3):
            runs.append(import_once(work / f"run{i}.db", folder, CatalogSettings(images_dir=images)))
        took = [r[0] for r in runs]
        _, read, kept, portraits = runs[0]
        print(f"import  WikiArt genre_train.csv + genre_val.csv into a fresh database: {read:,} rows read, "
              f"{kept:,} kept, {portraits:,} portraits")  # fmt: skip
        print(f"        {min(took):.2f} s best of 3 ({', '.join(f'{t:.2f}' for t in took)} s); "
              f"{read / min(took):,.0f} rows/s")  # fmt: skip

        with Store.open(work / "run0.db") as store:
            med, p95, got = time_draws(store, 20, args.draws)
            print(f"draw 20 (images present, {portraits:,} candidates): median {med:.2f} ms, p95 {p95:.2f} ms "
                  f"over {args.draws} seeds; got {got}")  # fmt: skip

        with Store.open(work / "noimages.db") as store:
            import_catalog(store, folder, CatalogSettings(images_dir=work / "nowhere"))
            rounds = max(10, args.draws // 10)
            med, p95, got = time_draws(store, 20, rounds)
            print(f"draw 20 (no image present: every candidate looked for): median {med:.2f} ms, p95 {p95:.2f} ms "
                  f"over {rounds} seeds; got {got}")  # fmt: skip

        tracemalloc.start()
        took_traced, *_ = import_once(work / "traced.db", folder, CatalogSettings(images_dir=images))
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        print(f"memory  Python heap peak during the import (tracemalloc): {peak / 2**20:.1f} MiB "
              f"(traced import took {took_traced:.2f} s)")  # fmt: skip
    rss_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(f"        process peak resident size (whole benchmark): {rss_kib / 1024:.1f} MiB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
