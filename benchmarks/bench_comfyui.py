"""ComfyUI client speed on loopback, against the test server of tests/comfyui (real HTTP, WebSocket, ffmpeg).

Prints two figures for 50 jobs of the model-free restore workflow:
- the client's overhead per job: round trip (upload, submit, wait, history, download) minus the server's own
  execution time, measured one job at a time;
- the idle gap on the server between consecutive jobs of one step when all 50 are queued at once (the GPU
  waiting for us), as the engine does it.

Run: .venv/bin/python benchmarks/bench_comfyui.py [--jobs 50]
"""

from __future__ import annotations

import argparse
import itertools
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.comfyui.server import ComfyTestServer  # noqa: E402

from vivant.backends.comfyui.jobs import Job  # noqa: E402
from vivant.backends.comfyui.pool import ComfyPool  # noqa: E402
from vivant.backends.comfyui.workflow import Workflow  # noqa: E402
from vivant.backends.ffmpeg import ffmpeg_exe  # noqa: E402
from vivant.config import ComfySettings  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--jobs", type=int, default=50)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        image = tmp / "in.png"
        subprocess.run([ffmpeg_exe(), "-y", "-loglevel", "error", "-f", "lavfi", "-i", "testsrc=s=320x400:d=1",
                        "-frames:v", "1", str(image)], check=True)  # fmt: skip
        wf = Workflow.load(ROOT / "src" / "vivant" / "workflows" / "standin" / "restore.json")
        with ComfyTestServer(tmp / "server") as srv:
            pool = ComfyPool(ComfySettings(endpoints=[srv.url]), client_id="bench")
            try:
                pool.run(Job(wf, {"image": image, "width": 96, "height": 120}, tmp / "warm"))  # warm-up
                srv.stats.runs.clear()
                overheads = []
                for i in range(args.jobs):
                    t0 = time.monotonic()
                    pool.run(Job(wf, {"image": image, "width": 96, "height": 120}, tmp / f"s{i}"))
                    total = time.monotonic() - t0
                    _, start, end = srv.stats.runs[-1]
                    overheads.append(total - (end - start))
                srv.stats.runs.clear()
                t0 = time.monotonic()
                threads = [threading.Thread(target=pool.run, args=(Job(wf, {"image": image, "width": 96, "height": 120},
                                                                       tmp / f"q{i}"),))
                           for i in range(args.jobs)]  # fmt: skip
                for t in threads:
                    t.start()
                for t in threads:
                    t.join()
                wall = time.monotonic() - t0
                runs = sorted(srv.stats.runs, key=lambda r: r[1])
                gaps = [b[1] - a[2] for a, b in itertools.pairwise(runs)]
                busy = sum(r[2] - r[1] for r in runs)
            finally:
                pool.close()
    ms = [o * 1000 for o in overheads]
    print(f"ComfyUI client on loopback, {args.jobs} jobs (restore stand-in: upload PNG, 4 nodes, ffmpeg, download)")
    print(
        f"  overhead per job, one at a time: median {statistics.median(ms):.1f} ms, "
        f"p90 {sorted(ms)[int(len(ms) * 0.9) - 1]:.1f} ms, max {max(ms):.1f} ms"
    )
    print(
        f"  all queued at once: server busy {busy:.2f} s of {wall:.2f} s wall; idle gap between jobs: "
        f"median {statistics.median(gaps) * 1000:.2f} ms, max {max(gaps) * 1000:.2f} ms, "
        f"total {sum(gaps) * 1000:.1f} ms"
    )


if __name__ == "__main__":
    main()
