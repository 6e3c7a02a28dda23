"""The client and the pool against the loopback ComfyUI stand-in, including its failures."""

from __future__ import annotations

import sys
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from vivant.backends.comfyui.client import ComfyClient
from vivant.backends.comfyui.errors import (
    ComfyExecutionError,
    ComfyTimeout,
    ComfyValidationError,
)
from vivant.backends.comfyui.jobs import Job, JobHooks, JobResult
from vivant.backends.comfyui.pool import ComfyPool
from vivant.backends.comfyui.workflow import Workflow
from vivant.backends.ffmpeg import probe

from .conftest import STANDIN
from .server import ComfyTestServer

MakePool = Callable[..., ComfyPool]


def restore_job(image: Path, out: Path, **values: Any) -> Job:
    return Job(Workflow.load(STANDIN / "restore.json"), {"image": image, "width": 96, "height": 120, **values}, out)


def lipsync_job(image: Path, wav: Path, out: Path) -> Job:
    wf = Workflow.load(STANDIN / "lipsync.json")
    return Job(wf, {"image": image, "audio": wav, "width": 96, "height": 160, "frames": 32, "fps": 16}, out)


def run_many(pool: ComfyPool, jobs: list[Job]) -> list[JobResult | BaseException]:
    results: list[JobResult | BaseException] = [RuntimeError("not run")] * len(jobs)

    def one(i: int) -> None:
        try:
            results[i] = pool.run(jobs[i])
        except BaseException as e:
            results[i] = e

    threads = [threading.Thread(target=one, args=(i,)) for i in range(len(jobs))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    return results


def test_job_uploads_records_id_first_reports_progress_and_downloads(
    server: ComfyTestServer, make_pool: MakePool, image: Path, wav: Path, tmp_path: Path
) -> None:
    pool = make_pool(server.url)
    order: list[str] = []
    events: list[dict[str, Any]] = []

    def record(rid: str) -> None:
        assert server.stats.posts == 0, "the prompt id must be stored before POST /prompt"
        order.append(rid)

    hooks = JobHooks(set_remote_id=record, progress=lambda f, **d: events.append({"fraction": f, **d}))
    result = pool.run(restore_job(image, tmp_path / "out"), hooks)
    assert order == [result.prompt_id] and server.stats.submitted == {result.prompt_id: 1}
    assert probe(result.path).width == 96
    assert result.compute is not None and result.queue_wait is not None and result.queue_wait >= 0
    assert {"node", "running", "queued"} <= {e.get("phase") for e in events}
    assert any(e.get("node_class") == "ImageSharpen" for e in events)
    video = pool.run(lipsync_job(image, wav, tmp_path / "out"))
    info = probe(video.path)
    assert video.path.suffix == ".mp4" and info.video_codec == "h264" and info.audio_codec == "aac"
    assert abs(info.duration - 2.0) < 0.1  # 32 frames at 16 fps; the 2 s audio is cut to the video


def test_socket_dropped_mid_job_reconnects(server: ComfyTestServer, make_pool: MakePool, image: Path,
                                           tmp_path: Path) -> None:  # fmt: skip
    server.faults.node_seconds = 0.1
    server.faults.drop_socket_after_nodes = 1
    pool = make_pool(server.url)
    result = pool.run(restore_job(image, tmp_path))
    assert result.path.is_file()
    assert pool.endpoints[0].client.reconnects >= 1


def test_silent_socket_falls_back_to_polling(server: ComfyTestServer, make_pool: MakePool, image: Path,
                                             tmp_path: Path) -> None:  # fmt: skip
    server.faults.silent = True
    pool = make_pool(server.url)
    t0 = time.monotonic()
    result = pool.run(restore_job(image, tmp_path))
    assert result.path.is_file() and time.monotonic() - t0 < 5
    assert result.compute is not None  # from the history's own timestamps


def test_restart_with_three_prompts_queued_resubmits_them(server: ComfyTestServer, make_pool: MakePool,
                                                          image: Path, tmp_path: Path) -> None:  # fmt: skip
    server.faults.node_seconds = 0.15
    pool = make_pool(server.url)
    jobs = [restore_job(image, tmp_path / str(i)) for i in range(3)]
    box: list[list[JobResult | BaseException]] = []
    t = threading.Thread(target=lambda: box.append(run_many(pool, jobs)))
    t.start()
    deadline = time.monotonic() + 10
    while server.queue_size() < 3 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert server.queue_size() == 3
    server.restart()
    t.join(60)
    results = box[0]
    assert all(isinstance(r, JobResult) for r in results), results
    assert pool.stats.counts["resubmitted"] == 3
    assert all(r.submissions == 2 for r in results if isinstance(r, JobResult))


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"2": {"upscale_method": "superres"}}, "node 2 (ImageScale) input 'upscale_method': Value not in list"),
        ({"2": {"width": 99999}}, "node 2 (ImageScale) input 'width': Value 99999 bigger than max of 16384"),
    ],
)
def test_400_validation_error_is_readable_and_not_retried(server: ComfyTestServer, make_pool: MakePool,
                                                          image: Path, tmp_path: Path, change: dict[str, Any],
                                                          expected: str) -> None:  # fmt: skip
    wf = Workflow.load(STANDIN / "restore.json")
    graph = wf.graph
    for node, inputs in change.items():
        graph[node]["inputs"].update(inputs)
    pool = make_pool(server.url)
    job = Job(Workflow.from_graph(graph, name="bad.json"), {"image": image, "width": 64, "height": 64}, tmp_path)
    if "width" in change["2"]:
        job.workflow.graph["2"]["_meta"]["title"] = ""
        job = Job(Workflow.from_graph(job.workflow.graph, name="bad.json"), {"image": image}, tmp_path)
    with pytest.raises(ComfyValidationError) as err:
        pool.run(job)
    assert expected in str(err.value)
    assert err.value.retryable is False


def test_200_with_node_errors_is_a_failure_and_the_rest_is_cancelled(server: ComfyTestServer, make_pool: MakePool,
                                                                     image: Path, tmp_path: Path) -> None:  # fmt: skip
    graph = Workflow.load(STANDIN / "restore.json").graph
    graph["9"] = {"class_type": "LoadImage", "inputs": {"image": "does_not_exist.png"}}
    graph["10"] = {"class_type": "SaveImage", "inputs": {"images": ["9", 0], "filename_prefix": "bad"}}
    server.faults.node_seconds = 0.2
    pool = make_pool(server.url)
    with pytest.raises(ComfyValidationError, match=r"node 9 \(LoadImage\) input 'image'.*Invalid image file"):
        pool.run(Job(Workflow.from_graph(graph, name="two.json"), {"image": image, "width": 64, "height": 64},
                     tmp_path))  # fmt: skip
    assert server.stats.interrupts, "the valid half must not keep the GPU busy"


def test_execution_error_names_the_node(server: ComfyTestServer, make_pool: MakePool, image: Path,
                                        tmp_path: Path) -> None:  # fmt: skip
    server.faults.fail_class = "ImageSharpen"
    pool = make_pool(server.url)
    with pytest.raises(ComfyExecutionError, match=r"node 3 \(ImageSharpen\) failed: RuntimeError"):
        pool.run(restore_job(image, tmp_path))
    server.faults.fail_class = None
    assert pool.run(restore_job(image, tmp_path)).path.is_file()  # the next job runs normally


def test_job_that_never_ends_times_out_interrupts_and_restarts(server: ComfyTestServer, make_pool: MakePool,
                                                               image: Path, tmp_path: Path) -> None:  # fmt: skip
    server.faults.hang_class = "ImageSharpen"
    restart = (f"{sys.executable} -c \"import urllib.request as u; "
               f"u.urlopen(u.Request('{{url}}/_test/restart', method='POST'))\"")  # fmt: skip
    pool = make_pool(server.url, job_timeout=1.0, restart_command=restart)
    ids: list[str] = []
    t0 = time.monotonic()
    with pytest.raises(ComfyTimeout, match="did not finish within 1 s of starting"):
        pool.run(restore_job(image, tmp_path), JobHooks(set_remote_id=ids.append))
    assert time.monotonic() - t0 < 8
    assert ids[0] in server.stats.interrupts
    assert server.stats.restarts == 1 and pool.stats.counts["restarts"] == 1
    server.faults.hang_class = None
    assert pool.run(restore_job(image, tmp_path)).path.is_file()  # healthy again after the restart


def test_slow_download_completes_and_a_stalled_one_times_out(
    server: ComfyTestServer, make_pool: MakePool, image: Path, wav: Path, tmp_path: Path
) -> None:
    server.faults.view_chunk_delay = 0.02
    pool = make_pool(server.url, request=1.0, connect=1.0, download_stall=1.0)
    t0 = time.monotonic()
    result = pool.run(lipsync_job(image, wav, tmp_path))
    assert probe(result.path).video_codec == "h264"
    assert time.monotonic() - t0 > 0.02
    server.faults.view_chunk_delay = 0.0
    server.faults.view_stall = 2.5
    with pytest.raises(ComfyTimeout, match="stalled"):
        pool.run(lipsync_job(image, wav, tmp_path))
    assert not list(tmp_path.glob("*.part"))


def test_one_of_two_endpoints_dying_moves_its_jobs(tmp_path: Path, make_pool: MakePool, image: Path) -> None:
    with ComfyTestServer(tmp_path / "a") as a, ComfyTestServer(tmp_path / "b") as b:
        a.faults.node_seconds = b.faults.node_seconds = 0.1
        pool = make_pool(a.url, b.url, down_after=1.0)
        jobs = [restore_job(image, tmp_path / f"o{i}") for i in range(6)]
        box: list[list[JobResult | BaseException]] = []
        t = threading.Thread(target=lambda: box.append(run_many(pool, jobs)))
        t.start()
        deadline = time.monotonic() + 10
        while (a.queue_size() < 2 or b.queue_size() < 2) and time.monotonic() < deadline:
            time.sleep(0.01)
        assert a.queue_size() >= 2 and b.queue_size() >= 2, "jobs are shared between the endpoints"
        b.stop()
        t.join(60)
        results = box[0]
        assert all(isinstance(r, JobResult) for r in results), results
        assert {r.endpoint for r in results if isinstance(r, JobResult)} >= {a.url}
        assert pool.stats.counts["moved"] >= 1


def test_prompt_of_a_crashed_run_is_adopted_not_submitted_twice(server: ComfyTestServer, make_pool: MakePool,
                                                                image: Path, tmp_path: Path) -> None:  # fmt: skip
    server.faults.node_seconds = 0.1
    pool = make_pool(server.url)
    first = pool.run(restore_job(image, tmp_path))  # a finished prompt left in history
    posts = server.stats.posts
    again = pool.run(restore_job(image, tmp_path), JobHooks(previous_remote_ids=(first.prompt_id,)))
    assert again.prompt_id == first.prompt_id and server.stats.posts == posts
    assert pool.stats.counts["adopted"] == 1

    # a prompt still queued by a process that died: the new one waits for it instead of posting another
    async def post_orphan() -> str:
        client = ComfyClient(server.url, client_id="dead-process")
        await client.ensure_connected()
        pid = str(uuid.uuid4())
        ref = await client.upload(image, f"{pid[:8]}-image.png")
        graph = Workflow.load(STANDIN / "restore.json").render({"image": ref, "width": 64, "height": 80})
        await client.submit(graph, pid)
        await client.close()
        return pid

    orphan = pool.call(post_orphan())
    posts = server.stats.posts
    got = pool.run(restore_job(image, tmp_path), JobHooks(previous_remote_ids=(orphan,)))
    assert got.prompt_id == orphan and server.stats.posts == posts and probe(got.path).width == 64


def test_an_endpoint_frees_its_memory_when_its_jobs_change_models(server: ComfyTestServer, make_pool: MakePool,
                                                                   image: Path, tmp_path: Path) -> None:  # fmt: skip
    """The next step's jobs may reach the pool while the last step's still run: each waits until one old job is
    left on the server, then POST /free (carried out after that job) and the new models load once."""
    server.faults.node_seconds = 0.05
    pool = make_pool(server.url)
    flux, wan = frozenset({"flux.safetensors"}), frozenset({"wan.safetensors"})
    first = [restore_job(image, tmp_path / f"a{i}") for i in range(4)]
    same = [restore_job(image, tmp_path / f"s{i}") for i in range(2)]
    later = [restore_job(image, tmp_path / f"b{i}") for i in range(3)]
    for job in first + same:
        job.models = flux
    for job in later:
        job.models = wan
    box: list[list[JobResult | BaseException]] = []
    t = threading.Thread(target=lambda: box.append(run_many(pool, first + same)))
    t.start()
    deadline = time.monotonic() + 10
    while server.queue_size() < 6 and time.monotonic() < deadline:
        time.sleep(0.005)
    assert server.stats.frees == 0, "the same models: nothing to free"
    results = run_many(pool, later)  # queued while the first six run
    t.join(30)
    assert all(isinstance(r, JobResult) for r in results + box[0])
    assert server.stats.frees == 1 and pool.stats.counts["frees"] == 1
    ((when, queued),) = server.stats.free_at
    assert queued == 1, "freed while the last old job ran, with none of the new ones queued yet"
    old_ids = {r.prompt_id for r in box[0] if isinstance(r, JobResult)}
    runs = sorted(server.stats.runs, key=lambda r: r[1])
    assert {r[0] for r in runs[:6]} == old_ids, "no new job ran before the old ones"
    assert runs[5][1] <= when <= runs[5][2]
    slot = pool.balancer.slots[0]
    assert slot.models == wan and set(slot.held.values()) == {0} and slot.switches == 1 and not slot.switching


def test_a_model_free_workflow_never_frees(server: ComfyTestServer, make_pool: MakePool, image: Path,
                                           tmp_path: Path) -> None:  # fmt: skip
    pool = make_pool(server.url)
    pool.run(restore_job(image, tmp_path / "a"))
    job = restore_job(image, tmp_path / "b")
    job.models = frozenset({"flux.safetensors"})
    pool.run(job)
    pool.run(restore_job(image, tmp_path / "c"))  # stand-ins load nothing: nothing to free
    job = restore_job(image, tmp_path / "d")
    job.models = frozenset({"wan.safetensors"})
    pool.run(job)  # the endpoint is idle: freed at once, before the job
    assert server.stats.frees == 1 and server.stats.free_at[0][1] == 0
    assert set(pool.balancer.slots[0].held.values()) == {0}  # every job that went in came out
