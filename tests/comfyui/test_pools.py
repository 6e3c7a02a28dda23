"""Endpoint pools: work goes to whichever server frees a place first, steps go to their resource's servers."""

from __future__ import annotations

import shutil
import threading
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

from vivant.backends.balance import Balancer
from vivant.backends.comfyui.jobs import Job, JobHooks, JobResult
from vivant.backends.comfyui.roles import ComfyBackends
from vivant.backends.ffmpeg import probe
from vivant.backends.registry import Roles
from vivant.batch import describe
from vivant.config import Settings
from vivant.engine import BatchSummary, Engine
from vivant.report import build_report
from vivant.steps.base import Step, StepContext, StepResult
from vivant.store import AttemptRow, NewPainting, Store

from .conftest import STANDIN, fast_settings
from .server import ComfyTestServer
from .test_client import MakePool, restore_job, run_many
from .test_engine_comfyui import STEPS


def test_a_faster_endpoint_takes_more_jobs_and_none_holds_more_than_its_depth(
    tmp_path: Path, make_pool: MakePool, image: Path
) -> None:
    with ComfyTestServer(tmp_path / "fast") as fast, ComfyTestServer(tmp_path / "slow") as slow:
        fast.faults.node_seconds, slow.faults.node_seconds = 0.01, 0.25
        pool = make_pool(fast.url, slow.url, queue_depth=2)
        results = run_many(pool, [restore_job(image, tmp_path / f"o{i}") for i in range(12)])
        assert all(isinstance(r, JobResult) for r in results), results
        by = Counter(r.endpoint for r in results if isinstance(r, JobResult))
        assert by[fast.url] >= 8 and by[slow.url] >= 1, by
        assert fast.stats.max_queue <= 2 and slow.stats.max_queue <= 2
        assert [s.peak for s in pool.balancer.slots] == [2, 2]
        assert all(s.in_flight == 0 and s.work == 0 for s in pool.balancer.slots)


def test_without_depth_every_job_is_queued_at_once_split_by_estimated_work(
    tmp_path: Path, make_pool: MakePool, image: Path
) -> None:
    with ComfyTestServer(tmp_path / "a") as a, ComfyTestServer(tmp_path / "b") as b:
        a.faults.node_seconds = b.faults.node_seconds = 0.3  # the long job is still running when the rest arrive
        pool = make_pool(a.url, b.url, queue_depth=0)
        # one long job (cost 5) and five short ones: the long one's server gets fewer of the others
        jobs = [restore_job(image, tmp_path / "o0")] + [restore_job(image, tmp_path / f"o{i}") for i in range(1, 6)]
        jobs[0].cost = 5.0
        first = pool.balancer.slots
        results: list[JobResult] = []
        long = threading.Thread(target=lambda: results.append(pool.run(jobs[0])))
        long.start()
        deadline = time.monotonic() + 5
        while sum(s.in_flight for s in first) == 0 and time.monotonic() < deadline:
            time.sleep(0.005)
        rest = run_many(pool, jobs[1:])
        long.join(30)
        assert all(isinstance(r, JobResult) for r in rest)
        long_url = results[0].endpoint
        by = Counter(r.endpoint for r in rest if isinstance(r, JobResult))
        assert by[long_url] == 0, by  # its 5 units of work weigh as much as the five 1-unit jobs together
        assert max(a.stats.max_queue, b.stats.max_queue) >= 5


def test_waiting_behind_other_jobs_is_not_held_against_the_job_timeout(
    server: ComfyTestServer, make_pool: MakePool, image: Path, tmp_path: Path
) -> None:
    # a job runs ~0.9-1.2 s (twice as long would still be within its timeout on a loaded machine); the fifth
    # waits ~4 s in the queue, longer than the timeout
    server.faults.node_seconds = 0.3
    pool = make_pool(server.url, job_timeout=2.5)
    results = run_many(pool, [restore_job(image, tmp_path / f"o{i}") for i in range(5)])
    assert all(isinstance(r, JobResult) for r in results), results
    assert server.stats.max_queue == 5
    waits = sorted(r.queue_wait or 0.0 for r in results if isinstance(r, JobResult))
    assert waits[-1] > 2.5, waits


def test_each_step_goes_to_its_resource_pool(tmp_path: Path, image: Path, wav: Path) -> None:
    with ComfyTestServer(tmp_path / "gpu") as gpu, ComfyTestServer(tmp_path / "llm") as llm_box:
        settings = Settings().resolved(tmp_path)
        settings.backends.audio = settings.backends.restore = "comfyui"
        settings.scheduler.resources = {"audio": "llm"}
        settings.comfyui = fast_settings(gpu.url, pools={"llm": [llm_box.url]},
                                         workflows={"audio": STANDIN / "audio.json",
                                                    "restore": STANDIN / "restore.json"})  # fmt: skip
        backends = ComfyBackends(settings)
        try:
            assert backends.pool_key("audio") == "llm" and backends.pool_key("restore") == "gpu"
            report = backends.preflight()
            assert set(report) == {f"{llm_box.url} audio", f"{gpu.url} restore"}
            assert not any(report.values())
            words = backends.voice("en").speak("I was painted by a patient man.", "en", tmp_path / "voice.wav")
            assert len(words) == 7 and probe(tmp_path / "voice.wav").duration > 0.5
            backends.image_editor("restore").edit(image, tmp_path / "restored.png", task="restore")
            assert (tmp_path / "restored.png").is_file()
            assert len(llm_box.stats.runs) == 1 and len(gpu.stats.runs) == 1
            assert llm_box.stats.submitted.keys().isdisjoint(gpu.stats.submitted.keys())
            assert backends.pool_for("audio").client_id != backends.pool_for("restore").client_id
        finally:
            backends.close()


def test_a_resource_without_its_own_servers_uses_the_endpoints(tmp_path: Path) -> None:
    settings = Settings().resolved(tmp_path)
    settings.scheduler.resources = {"audio": "llm"}
    settings.comfyui = fast_settings("http://127.0.0.1:9")
    backends = ComfyBackends(settings)
    try:
        assert backends.pool_key("audio") == "gpu" and backends.pool_for("audio") is backends.pool
    finally:
        backends.close()


def test_balancer_serves_waiters_in_order_and_skips_a_server_marked_down() -> None:
    now = [0.0]
    bal = Balancer(["a", "b"], depth=1, clock=lambda: now[0])
    first, second = bal.acquire(), bal.acquire()
    assert {first, second} == {0, 1}
    got: list[tuple[str, int]] = []

    def wait(name: str) -> None:
        got.append((name, bal.acquire()))

    def queued(n: int) -> None:  # wait for the n-th waiter to be in line (however slow the machine is)
        deadline = time.monotonic() + 60
        while len(bal.waiting) < n:
            assert time.monotonic() < deadline, "the waiter never queued"
            time.sleep(0.01)

    t1 = threading.Thread(target=wait, args=("early",))
    t1.start()
    queued(1)
    t2 = threading.Thread(target=wait, args=("late",))
    t2.start()
    queued(2)
    assert got == []  # both servers hold their one job
    bal.release(1)
    t1.join(60)
    assert got == [("early", 1)]
    bal.down(0, 30)  # a's job fails and a goes down: the late one must not get it...
    bal.release(0, ok=False)
    time.sleep(0.05)
    assert len(got) == 1
    bal.release(1)  # ...but b's free place
    t2.join(60)
    assert got == [("early", 1), ("late", 1)]
    assert bal.slots[0].failed == 1 and bal.slots[1].done == 2 and bal.slots[1].in_flight == 1
    now[0] = 31.0  # a is back after its time
    assert bal.choose() == 0


def _run_night(tmp_path: Path, image: Path, settings: Settings, steps: list[Step],
               n: int) -> tuple[Store, int, BatchSummary]:  # fmt: skip
    """``n`` copies of ``image`` as paintings, one English batch, run to the end with real roles."""
    store = Store.open(tmp_path / "vivant.db")
    for i in range(n):
        shutil.copy(image, tmp_path / f"p{i}.png")
    store.add_paintings(NewPainting(key=f"p{i}", title=f"P{i}", artist="A", image_path=str(tmp_path / f"p{i}.png"))
                        for i in range(n))  # fmt: skip
    batch = store.create_batch([pid for pid, _ in store.painting_genres()], languages=["en"], seed=1)
    roles = Roles(settings)
    try:
        summary = Engine(store, settings, roles=roles, steps=steps, sleep=lambda s: None).run(batch)
    finally:
        roles.comfyui.close()
    return store, batch, summary


def test_a_night_on_two_endpoints_records_which_one_ran_each_attempt(tmp_path: Path, image: Path) -> None:
    with ComfyTestServer(tmp_path / "a") as a, ComfyTestServer(tmp_path / "b") as b:
        a.faults.node_seconds = b.faults.node_seconds = 0.05
        settings = Settings().resolved(tmp_path)
        settings.backends.restore = "comfyui"
        settings.retries.backoff_seconds = 0.0
        settings.comfyui = fast_settings(a.url, b.url.replace("http://", "http://user:secret@"),
                                         workflows={"restore": STANDIN / "restore.json"})  # fmt: skip
        store, batch, summary = _run_night(tmp_path, image, settings, STEPS, 6)
        assert summary.states == {"COMPLETE": 6}
        attempts = store.attempts(batch_id=batch)
        assert {x.endpoint for x in attempts} == {a.url, b.url} and len(attempts) == 6  # no credentials stored
        report = build_report(store, settings, batch)
        lanes = {lane.endpoint for lane in report.figures.lanes if lane.resource == "gpu"}
        assert lanes == {a.url, b.url} and report.figures.headline.gpu_units == 2
        assert "secret" not in report.model_dump_json()
        store.close()


def test_status_shows_the_server_a_running_attempt_was_sent_to(tmp_path: Path, image: Path) -> None:
    with ComfyTestServer(tmp_path / "a") as a:
        a.faults.node_seconds = 0.3
        settings = Settings().resolved(tmp_path)
        settings.backends.restore = "comfyui"
        settings.comfyui = fast_settings(a.url, workflows={"restore": STANDIN / "restore.json"})
        store = Store.open(tmp_path / "vivant.db")
        shutil.copy(image, tmp_path / "p.png")
        store.add_paintings([NewPainting(key="p", title="P", artist="A", image_path=str(tmp_path / "p.png"))])
        batch = store.create_batch([pid for pid, _ in store.painting_genres()], languages=["en"], seed=1)
        store.close()
        roles = Roles(settings)
        done = threading.Event()

        def night() -> None:
            own = Store.open(tmp_path / "vivant.db")
            try:
                Engine(own, settings, roles=roles, steps=STEPS, sleep=lambda s: None).run(batch)
            finally:
                own.close()
                roles.comfyui.close()
                done.set()

        threading.Thread(target=night, daemon=True).start()
        watcher = Store.open(tmp_path / "vivant.db")
        seen: list[dict[str, object]] = []
        while not done.is_set() and not seen:
            seen = [r for r in describe(watcher, batch)["running"] if r["endpoint"]]
            time.sleep(0.02)
        done.wait(30)
        assert seen and seen[0]["endpoint"] == a.url and seen[0]["resource"] == "gpu"
        assert describe(watcher, batch)["counts"] == {"COMPLETE": 1}
        watcher.close()


def _family_night(tmp_path: Path, image: Path, urls: list[str], *,
                  handover: bool) -> tuple[BatchSummary, list[AttemptRow]]:  # fmt: skip
    """Five paintings through two ComfyUI steps of the GPU lane in overlap mode, each step loading its own
    (named) model files; returns the store's attempts once the night is over."""

    def family_step(name: str, models: frozenset[str]) -> Callable[[StepContext], StepResult]:
        def run(ctx: StepContext) -> StepResult:
            comfy = ctx.roles.comfyui
            hooks = JobHooks(ctx.previous_remote_ids, ctx.set_remote_id, ctx.progress)
            job = Job(comfy.workflow("restore"), {"image": ctx.painting.image_path, "width": 64, "height": 80},
                      ctx.out, label=f"{ctx.painting.key} {name}", models=models)  # fmt: skip
            got = comfy.pool_for(name).run(job, hooks)
            got.path.rename(ctx.out / "out.png")
            return StepResult(artifacts={"image": "out.png"}, backend="comfyui:test")

        return run

    steps = [Step(0, "restore", family_step("restore", frozenset({"flux.safetensors"})), resource="gpu"),
             Step(1, "realistic", family_step("realistic", frozenset({"wan.safetensors"})), resource="gpu",
                  needs=("restore",))]  # fmt: skip
    settings = Settings().resolved(tmp_path)
    settings.backends.restore = settings.backends.realistic = "comfyui"
    settings.scheduler.mode = "overlap"
    settings.retries.backoff_seconds = 0.0
    settings.comfyui = fast_settings(*urls, queue_depth=2, restart_between_steps=not handover,
                                     workflows={"restore": STANDIN / "restore.json",
                                                "realistic": STANDIN / "realistic.json"})  # fmt: skip
    store, batch, summary = _run_night(tmp_path, image, settings, steps, 5)
    attempts = store.attempts(batch_id=batch)
    store.close()
    return summary, attempts


def test_overlap_hands_a_step_over_while_its_last_jobs_run_and_each_server_switches_models_once(
    tmp_path: Path, image: Path
) -> None:
    with ComfyTestServer(tmp_path / "a") as a, ComfyTestServer(tmp_path / "b") as b:
        a.faults.node_seconds = b.faults.node_seconds = 0.1
        summary, attempts = _family_night(tmp_path, image, [a.url, b.url], handover=True)
        assert summary.states == {"COMPLETE": 5}
        step_of = {x.remote_id: x.step for x in attempts}
        last_restore_end = max(end for srv in (a, b) for pid, _s, end in srv.stats.runs if step_of[pid] == 0)
        first_realistic = min(start for srv in (a, b) for pid, start, _e in srv.stats.runs if step_of[pid] == 1)
        assert first_realistic < last_restore_end, "a server took the next step while the other finished its last"
        for srv in (a, b):
            order = [step_of[pid] for pid, _s, _e in sorted(srv.stats.runs, key=lambda r: r[1])]
            assert order == sorted(order), "each server: every restore before any realistic (models loaded once)"
            assert srv.stats.frees == (1 if set(order) == {0, 1} else 0)
            for _when, queued in srv.stats.free_at:
                assert queued <= 1  # freed while its last old job ran (or idle)


def test_without_hand_over_the_lane_waits_for_the_step_to_end(tmp_path: Path, image: Path) -> None:
    with ComfyTestServer(tmp_path / "a") as a, ComfyTestServer(tmp_path / "b") as b:
        a.faults.node_seconds = b.faults.node_seconds = 0.1
        summary, attempts = _family_night(tmp_path, image, [a.url, b.url], handover=False)
        assert summary.states == {"COMPLETE": 5}
        step_of = {x.remote_id: x.step for x in attempts}
        last_restore_end = max(end for srv in (a, b) for pid, _s, end in srv.stats.runs if step_of[pid] == 0)
        first_realistic = min(start for srv in (a, b) for pid, start, _e in srv.stats.runs if step_of[pid] == 1)
        assert first_realistic >= last_restore_end
