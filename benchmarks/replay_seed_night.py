"""Replay of the seed's night (20 paintings, 5 refused at step 0, 15 made into FR + EN shorts) against the engine.

Every resource is a test server on loopback (``http.server``) that runs one job at a time, first come first
served, like a ComfyUI queue: ``POST /job {"model", "seconds", "load"}`` sleeps ``load`` when the requested model
is not the one loaded, then ``seconds``, and answers the server's own queue wait and compute. The engine runs
the real batch machinery (SQLite store, attempts, artifacts, retries) with ten stand-in steps whose ``run()``
posts one job to the least loaded server of the step's resource.

Job times are the seed's per-step table scaled down (1 minute -> ``--ms-per-min`` ms, 10 by default): each
step's GPU compute is spread over the 15 paintings in proportion to their lip-sync times in the seed's
per-painting table (and evenly over FR and EN), as ``tests/test_report.py`` rebuilds the night; step 0 over all
20. The seed's per-step queue wait (wall clock minus compute, 0.7-0.8 min on each ComfyUI step) is taken to be
the model load a server pays when it switches to that step's models.

Scenarios: (a) the seed's order, strict step-major, one step after another; (b) overlap scheduling with speech
(step 2) and Whisper (step 7) on the ComfyUI GPU, as in the seed; (c) speech and Whisper on the LLM box; (d) as
(b) with two ComfyUI endpoints; (e) two unequal ones (one takes 1.6x as long), jobs dispatched with the pool's
queue depth, and (e0) the same with every job queued up front. For each: the makespan scaled back to hours, each
resource's busy share, and the ratio to the lower bound = the busiest resource's work (compute plus one load of
each of its models, shared over its servers) plus the unavoidable dependency gaps before its first job and after
its last (the shortest chain of other resources' jobs that must precede / follow). A second bound counts compute
only.

    .venv/bin/python benchmarks/replay_seed_night.py [--ms-per-min 10] [--only b,c]
"""

from __future__ import annotations

import argparse
import http.client
import json
import multiprocessing
import queue
import sys
import tempfile
import threading
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from vivant.backends.balance import Balancer
from vivant.config import Settings
from vivant.engine import Engine
from vivant.languages import LANGUAGES
from vivant.steps.base import Step, StepContext, StepResult
from vivant.store import NewPainting, Store

# (step, name, seed resource, per language, wall minutes, compute minutes, needs): the seed's per-step table
# with this project's dependencies. Step 7 ran on the ComfyUI GPU in the seed.
SEED = [
    (0, "prepare", "llm", False, 0.9, 0.9, ()),
    (1, "script", "llm", True, 21.6, 21.6, ("prepare",)),
    (2, "audio", "gpu", True, 28.2, 27.5, ("script",)),
    (3, "restore", "gpu", False, 2.3, 1.5, ("prepare",)),
    (4, "realistic", "gpu", False, 1.6, 0.8, ("prepare",)),
    (5, "transition", "gpu", False, 22.5, 21.8, ("restore", "realistic")),
    (6, "lipsync", "gpu", True, 164.1, 163.3, ("audio", "realistic")),
    (7, "subtitles", "gpu", True, 7.5, 6.7, ("audio",)),
    (8, "outro", "gpu", False, 42.8, 42.0, ("realistic",)),
    (9, "final", "cpu", True, 3.4, 3.4, ("script", "transition", "lipsync", "subtitles", "outro")),
]
LIPSYNC_MIN = [7.6, 7.9, 10.0, 10.3, 10.6, 10.8, 10.9, 11.1, 11.2, 11.3, 11.4, 12.2, 12.5, 12.7, 13.6]
REFUSED_AT = {3, 7, 11, 15, 19}  # positions of the five paintings refused at step 0 (the seed names none)
LANGS = LANGUAGES
SEED_NIGHT_MIN = 4 * 60 + 56  # the seed's report: 02:58 -> 07:54


# -- the job table ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Job:
    step: str
    painting: int
    lang: str
    minutes: float


def job_table() -> dict[tuple[str, int, str], float]:
    """(step, painting index, language) -> compute minutes."""
    jobs: dict[tuple[str, int, str], float] = {}
    made = [p for p in range(20) if p not in REFUSED_AT]
    weight = {p: LIPSYNC_MIN[k] / sum(LIPSYNC_MIN) for k, p in enumerate(made)}
    for _n, name, _res, per_lang, _wall, compute, _needs in SEED:
        if name == "prepare":
            for p in range(20):
                jobs[(name, p, "")] = compute / 20
            continue
        for p in made:
            for lang in LANGS if per_lang else ("",):
                jobs[(name, p, lang)] = compute * weight[p] / (2 if per_lang else 1)
    return jobs


LOAD_MIN = {name: round(wall - compute, 3) for _n, name, _r, _pl, wall, compute, _nd in SEED}


# -- loopback servers ------------------------------------------------------------------------------------------
class _Box:
    """Runs inside a server's own process: one job at a time, FIFO, swapping models when a job needs another."""

    def __init__(self, scale: float) -> None:
        self.scale = scale
        self.jobs: queue.Queue[tuple[dict[str, Any], dict[str, Any], threading.Event]] = queue.Queue()
        self.loaded = ""
        self.busy = 0.0
        self.loads = 0
        self.spans: list[tuple[float, float, str]] = []

    def work(self) -> None:
        while True:
            body, answer, done = self.jobs.get()
            t0 = time.time()
            if body["model"] != self.loaded:
                time.sleep(body["load"] * self.scale)
                self.loaded = body["model"]
                self.loads += 1
            t1 = time.time()
            time.sleep(body["seconds"] * self.scale)
            t2 = time.time()
            self.busy += t2 - t0
            self.spans.append((t0, t2, body["model"]))
            answer.update(load=t1 - t0, compute=t2 - t1, queue_wait=max(0.0, t0 - body["sent"]))
            done.set()


def _serve(scale: float, conn: Connection) -> None:
    box = _Box(scale)

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        disable_nagle_algorithm = True  # headers and body leave in two writes: no delayed-ACK stall

        def _answer(self, answer: dict[str, Any]) -> None:
            data = json.dumps(answer).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self) -> None:
            self._answer({"busy": box.busy, "loads": box.loads, "spans": box.spans})

        def do_POST(self) -> None:
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            answer: dict[str, Any] = {}
            done = threading.Event()
            box.jobs.put((body, answer, done))
            done.wait()
            self._answer(answer)

        def log_message(self, *args: object) -> None:
            pass

    class HTTPServer(ThreadingHTTPServer):
        request_queue_size = 256  # the whole queue-ahead connects at once
        daemon_threads = True

    httpd = HTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=box.work, daemon=True).start()
    conn.send(httpd.server_address[1])
    httpd.serve_forever()


@dataclass
class Server:
    """A test server on loopback, in its own process (so the engine's threads never delay its clock)."""

    name: str
    scale: float  # seconds per minute
    busy: float = 0.0
    loads: int = 0
    spans: list[tuple[float, float, str]] = field(default_factory=list)
    proc: multiprocessing.process.BaseProcess | None = None

    def start(self) -> str:
        ctx = multiprocessing.get_context("fork")
        ours, theirs = ctx.Pipe()
        self.proc = ctx.Process(target=_serve, args=(self.scale, theirs), daemon=True, name=self.name)
        self.proc.start()
        self.url = f"http://127.0.0.1:{ours.recv()}"
        return self.url

    def stop(self) -> None:
        if self.proc is None:
            return
        with urllib.request.urlopen(self.url + "/stats", timeout=10) as r:
            stats = json.loads(r.read())
        self.busy, self.loads, self.spans = stats["busy"], stats["loads"], stats["spans"]
        self.proc.terminate()
        self.proc.join()


class Pool:
    """A resource's servers, balanced by the engine's own policy (:class:`vivant.backends.balance.Balancer`, as
    the ComfyUI and LLM pools use it): the least estimated work outstanding, and with several servers at most
    ``depth`` jobs each (``comfyui.queue_depth``), the rest waiting for the first server to free a place.

    ``local``: the CPU of the machine running the engine (step 9 is a local ffmpeg render, no server): jobs run
    in-process, one at a time."""

    def __init__(self, servers: list[Server], *, local: bool = False, depth: int = 2) -> None:
        self.servers = servers
        self.local = local
        self.urls = [] if local else [s.start() for s in servers]
        self.balancer = Balancer([s.name for s in servers], depth=depth)
        self.cpu = threading.Lock()
        self.conns = threading.local()

    def post(self, body: dict[str, Any], placed: Callable[[], None] = lambda: None) -> dict[str, Any]:
        """Run one job; ``placed`` is called once it has a place on a server (the ComfyUI pool records the
        prompt id then, which tells the scheduler the job is queued there)."""
        if self.local:
            server = self.servers[0]
            with self.cpu:
                t0 = time.time()
                time.sleep(body["seconds"] * server.scale)
                t1 = time.time()
                server.busy += t1 - t0
            return {"queue_wait": t0 - body["sent"], "compute": t1 - t0}
        # the job's cost is its compute, as the roles estimate it; as in the ComfyUI pool, a job of other models
        # waits until one job of the old ones is left on its server (the replay's servers load on demand, so
        # there is nothing to free), and never sends a server back to older models another server still has
        with self.balancer.lease(body["seconds"], family=body["model"]) as k:
            if self.balancer.enter_models(k, body["model"]):
                self.balancer.switched(k)
            try:
                placed()
                return self._post(k, body)
            finally:
                self.balancer.leave_models(k, body["model"])

    def _post(self, k: int, body: dict[str, Any]) -> dict[str, Any]:
        conns = self.conns.__dict__.setdefault("by_url", {})
        url = self.urls[k]
        if url not in conns:  # one kept-alive connection per worker thread and server
            conns[url] = http.client.HTTPConnection(url.removeprefix("http://"), timeout=600)
        conn = conns[url]
        conn.request("POST", "/job", body=json.dumps(body), headers={"Content-Type": "application/json"})
        answer: dict[str, Any] = json.loads(conn.getresponse().read())
        return answer


# -- scenarios -------------------------------------------------------------------------------------------------
@dataclass
class Scenario:
    key: str
    title: str
    mode: str
    resources: dict[str, str]
    endpoints: dict[str, int]
    slow: dict[str, tuple[float, ...]] = field(default_factory=dict)
    """Per resource, each server's time factor (1.5: a GPU taking 1.5x as long); default 1 for all."""
    depth: int | None = None
    """Jobs held by each server of a pool of several; None: the --depth option."""

    def factors(self, res: str) -> tuple[float, ...]:
        return self.slow.get(res) or (1.0,) * self.endpoints[res]


SPEECH_ON_GPU = {name: res for _n, name, res, *_ in SEED}
SPEECH_ON_LLM = {**SPEECH_ON_GPU, "audio": "llm", "subtitles": "llm"}
ONE_EACH = {"gpu": 1, "llm": 1, "cpu": 1}
SCENARIOS = [
    Scenario("a", "seed's order (strict step-major)", "step", SPEECH_ON_GPU, ONE_EACH),
    Scenario("b", "overlap, speech on the ComfyUI GPU", "overlap", SPEECH_ON_GPU, ONE_EACH),
    Scenario("c", "overlap, speech + Whisper on the LLM box", "overlap", SPEECH_ON_LLM, ONE_EACH),
    Scenario("d", "overlap, two ComfyUI endpoints", "overlap", SPEECH_ON_GPU, {**ONE_EACH, "gpu": 2}),
    # two unequal GPUs (one takes 1.6x as long, say a 4090 beside a 3090), with the pool's queue depth and with
    # every job queued up front (split by estimated work, as a fixed round-robin or least-jobs split would)
    Scenario(
        "e",
        "overlap, two unequal ComfyUI endpoints (1x, 1.6x), queue depth",
        "overlap",
        SPEECH_ON_GPU,
        {**ONE_EACH, "gpu": 2},
        slow={"gpu": (1.0, 1.6)},
    ),
    Scenario(
        "e0",
        "overlap, two unequal ComfyUI endpoints (1x, 1.6x), all queued at once",
        "overlap",
        SPEECH_ON_GPU,
        {**ONE_EACH, "gpu": 2},
        slow={"gpu": (1.0, 1.6)},
        depth=0,
    ),
]


class FakeRoles:
    """What the engine asks of the roles, as the real registry answers: ComfyUI steps queue ``width`` units
    ahead (``families.COMFY_IN_FLIGHT``) and may be handed over to the lane's next step while their last jobs run,
    every other backend runs one unit at a time."""

    def __init__(self, width: int) -> None:
        self.width = width

    def parallel_units(self, backend: str) -> int:
        return self.width if backend == "comfyui" else 1

    def early_handover(self, backend: str) -> bool:
        return backend == "comfyui"

    def preflight(self, steps: list[str]) -> None:
        pass

    def enter_step(self, step: str, backend: str) -> None:
        pass

    def close(self) -> None:
        pass


def make_steps(sc: Scenario, pools: dict[str, Pool], jobs: dict[tuple[str, int, str], float],
               index: dict[str, int]) -> list[Step]:  # fmt: skip
    def make(name: str) -> Step:
        n, _name, _res, per_lang, _wall, _compute, needs = SEED[[s[1] for s in SEED].index(name)]

        def run(ctx: StepContext) -> StepResult:
            p = index[ctx.painting.key]
            refused = ["blurry painting"] if name == "prepare" and p in REFUSED_AT else []
            answer = pools[sc.resources[name]].post({
                "model": name, "seconds": jobs[(name, p, ctx.language or "")], "load": LOAD_MIN[name],
                "sent": time.time(),
            }, placed=lambda: ctx.set_remote_id(f"{name}-{p}-{ctx.language}"))  # fmt: skip
            (ctx.out / "out.txt").write_text(f"{name} {ctx.painting.key} {ctx.language}")
            return StepResult(artifacts={"out": "out.txt"}, backend=f"replay:{sc.resources[name]}", refused=refused,
                              queue_wait=answer["queue_wait"], compute=answer["compute"])  # fmt: skip

        return Step(n, name, run, per_language=per_lang, needs=needs)

    return [make(s[1]) for s in SEED]


def settings_for(sc: Scenario, root: Path) -> Settings:
    s = Settings().resolved(root)
    s.scheduler.mode = sc.mode  # type: ignore[assignment]
    s.scheduler.resources = dict(sc.resources)  # type: ignore[arg-type]
    # on the ComfyUI GPU the subtitles are a ComfyUI workflow, as in the seed; on the LLM box, faster-whisper
    remote = {"prepare": "openai", "script": "openai", "final": "local",
              "subtitles": "comfyui" if sc.resources["subtitles"] == "gpu" else "whisper"}  # fmt: skip
    for _n, name, *_ in SEED:
        setattr(s.backends, name, remote.get(name, "comfyui"))
    s.retries.backoff_seconds = 0.0
    return s


# -- the lower bound -------------------------------------------------------------------------------------------
def lower_bound(sc: Scenario, jobs: dict[tuple[str, int, str], float], *, loads: bool) -> tuple[float, str]:
    """Minutes no schedule can beat on these resources, and the resource that sets it."""
    steps = {s[1]: s for s in SEED}
    made = sorted({p for (name, p, _l) in jobs if name != "prepare"})
    # shortest head (work that must end before a step's first job) and tail (after its last job), per step
    unit_min = {name: min(m for (st, _p, _l), m in jobs.items() if st == name) for name in steps}
    head: dict[str, float] = {}
    for _n, name, *_rest in SEED:
        needs = steps[name][6]
        head[name] = max((head[nd] + unit_min[nd] for nd in needs), default=0.0)
    tail: dict[str, float] = {}
    for _n, name, *_rest in reversed(SEED):
        after = [s[1] for s in SEED if name in s[6]]
        tail[name] = max((unit_min[a] + tail[a] for a in after), default=0.0)
    best, where = 0.0, ""
    for res, k in sc.endpoints.items():
        mine = [name for name in steps if sc.resources[name] == res]
        work = sum(m for (st, _p, _l), m in jobs.items() if st in mine)
        if loads:
            work += sum(LOAD_MIN[name] for name in mine)
        gap_in = min((head[n] for n in mine if all(sc.resources[d] != res for d in steps[n][6])), default=0.0)
        # the last job on this resource is of a step none of whose successors runs here
        last = [n for n in mine if all(sc.resources[a] != res for a in steps if n in steps[a][6])]
        gap_out = min((tail[n] for n in last), default=0.0)
        capacity = sum(1 / f for f in sc.factors(res)) if res in sc.slow else k
        bound = gap_in + work / capacity + gap_out
        if bound > best:
            best, where = bound, res
    # and no painting can be faster than its own chain
    for p in made:
        chain: dict[str, float] = {}
        for _n, name, _r, per_lang, *_x in SEED:
            own = max(jobs.get((name, p, lg), 0.0) for lg in (LANGS if per_lang else ("",)))
            chain[name] = own + max((chain[nd] for nd in steps[name][6]), default=0.0)
        if chain["final"] > best:
            best, where = chain["final"], f"painting {p}"
    return best, where


# -- running ---------------------------------------------------------------------------------------------------
@dataclass
class Outcome:
    sc: Scenario
    minutes: float
    busy: dict[str, float]
    states: dict[str, int]
    swaps: dict[str, int]
    lb: float
    lb_where: str
    lb_compute: float


def run_scenario(sc: Scenario, scale_s: float, jobs: dict[tuple[str, int, str], float], width: int,
                 depth: int = 2) -> Outcome:  # fmt: skip
    servers = {res: [Server(f"{res}{i}", scale_s * f) for i, f in enumerate(sc.factors(res))]
               for res in sc.endpoints}  # fmt: skip
    depth = depth if sc.depth is None else sc.depth
    pools = {res: Pool(ss, local=res == "cpu", depth=depth) for res, ss in servers.items()}
    shm = Path("/dev/shm")
    with tempfile.TemporaryDirectory(prefix="vivant-replay-", dir=shm if shm.is_dir() else None) as tmp:
        root = Path(tmp)
        store = Store.open(root / "vivant.db")
        store.add_paintings(
            NewPainting(key=f"p{i:02d}", title=f"Painting {i}", artist="A. Painter", image_path=str(root / "p.jpg"))
            for i in range(20)
        )
        ids = [pid for pid, _ in store.painting_genres()]
        batch = store.create_batch(ids, languages=list(LANGS), seed=1)
        index = {store.painting(i.painting_id).key: int(store.painting(i.painting_id).key[1:])
                 for i in store.items(batch)}  # fmt: skip
        engine = Engine(store, settings_for(sc, root), roles=FakeRoles(width),  # type: ignore[arg-type]
                        steps=make_steps(sc, pools, jobs, index))  # fmt: skip
        t0 = time.perf_counter()
        summary = engine.run(batch)
        wall = time.perf_counter() - t0
        store.close()
    for pool in pools.values():
        for s in pool.servers:
            if not pool.local:
                s.stop()
    minutes = wall / scale_s
    busy = {res: sum(s.busy for s in ss) / (wall * len(ss)) for res, ss in servers.items()}
    swaps = {res: sum(s.loads for s in ss) for res, ss in servers.items()}
    lb, where = lower_bound(sc, jobs, loads=True)
    lb_c, _ = lower_bound(sc, jobs, loads=False)
    return Outcome(sc, minutes, busy, summary.states, swaps, lb, where, lb_c)


def hm(minutes: float) -> str:
    return f"{int(minutes // 60)}h{round(minutes % 60):02d}m"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--ms-per-min", type=float, default=10.0, help="real milliseconds per seed minute")
    ap.add_argument("--width", type=int, default=64, help="ComfyUI units kept in flight (families.COMFY_IN_FLIGHT)")
    ap.add_argument(
        "--depth",
        type=int,
        default=2,
        help="jobs held by each server of a pool of several (comfyui.queue_depth); 0: all at once",
    )
    ap.add_argument("--only", default="a,b,c,d,e,e0")
    args = ap.parse_args()
    sys.setswitchinterval(0.0002)  # threads waiting on a server's answer get the GIL back quickly
    scale = args.ms_per_min / 1000
    jobs = job_table()
    print(f"seed night: {hm(SEED_NIGHT_MIN)} measured; {len(jobs)} jobs, "
          f"{sum(jobs.values()):.1f} min of compute; 1 min -> {args.ms_per_min:g} ms; "
          f"queue depth {args.depth or 'unlimited'} per server of a pool of several")  # fmt: skip
    results: dict[str, Outcome] = {}
    for sc in SCENARIOS:
        if sc.key not in args.only.split(","):
            continue
        o = run_scenario(sc, scale, jobs, args.width, args.depth)
        results[sc.key] = o
        busy = ", ".join(f"{r} {b:.0%}" for r, b in o.busy.items())
        swaps = ", ".join(f"{r} {n}" for r, n in o.swaps.items())
        print(f"({sc.key}) {sc.title}: makespan {hm(o.minutes)} ({o.minutes:.1f} min); busy {busy}; "
              f"model loads {swaps}; states {o.states}")  # fmt: skip
        print(f"    lower bound {hm(o.lb)} ({o.lb:.1f} min, set by {o.lb_where}): ratio {o.minutes / o.lb:.3f}; "
              f"compute-only bound {o.lb_compute:.1f} min: ratio {o.minutes / o.lb_compute:.3f}")  # fmt: skip
    if "a" in results:
        a = results["a"]
        for key in ("b", "c"):
            if key in results:
                o = results[key]
                print(f"seed's order vs ({key})'s bounds: {a.minutes / o.lb - 1:+.1%} "
                      f"(compute-only {a.minutes / o.lb_compute - 1:+.1%}); vs ({key})'s makespan: "
                      f"{a.minutes / o.minutes - 1:+.1%}")  # fmt: skip
    for key in ("b", "c"):
        if key in results:
            o = results[key]
            night = SEED_NIGHT_MIN
            print(f"the seed's measured night ({hm(night)}) vs ({key})'s bounds: "
                  f"{night / o.lb - 1:+.1%} (compute-only {night / o.lb_compute - 1:+.1%})")  # fmt: skip
    if "b" in results and "d" in results:
        print(f"(d) / (b) = {results['d'].minutes / results['b'].minutes:.3f}")
    if "e" in results and "e0" in results:
        print(f"unequal GPUs, queue depth vs all queued at once: (e) / (e0) = "
              f"{results['e'].minutes / results['e0'].minutes:.3f}")  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
