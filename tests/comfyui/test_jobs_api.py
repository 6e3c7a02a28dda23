"""ComfyUI after 0.3.64: the version from /system_stats, the jobs API for status, its cancel route, and the
fall back to /history + /queue + /interrupt on the recorded 0.3.64 protocol (both flavours of the stand-in)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from vivant.backends.comfyui.errors import ComfyExecutionError, ComfyTimeout, ComfyValidationError
from vivant.backends.comfyui.jobs import Job, JobHooks, JobResult
from vivant.backends.comfyui.pool import ComfyPool
from vivant.backends.comfyui.protocol import Capabilities, parse_version
from vivant.backends.comfyui.workflow import Workflow

from .conftest import STANDIN
from .server import ComfyTestServer

MakePool = Callable[..., ComfyPool]


@pytest.fixture(params=["0.3.64", "2026"])
def flavoured(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[ComfyTestServer]:
    with ComfyTestServer(tmp_path / "comfy", flavour=request.param) as srv:
        yield srv


def restore_job(image: Path, out: Path) -> Job:
    return Job(Workflow.load(STANDIN / "restore.json"), {"image": image, "width": 96, "height": 120}, out)


def video_job(image: Path, out: Path) -> Job:
    return Job(Workflow.load(STANDIN / "transition.json"), {"image": image, "end_image": image, "width": 64,
               "height": 64, "frames": 8, "frames_4n1": 9, "frames_8n1": 9, "fps": 8, "seconds": 1.0,
               "prompt": "", "negative_prompt": "", "seed": 1}, out)  # fmt: skip


def test_versions_compare_as_numbers() -> None:
    assert parse_version("0.3.64") == (0, 3, 64)
    assert parse_version("0.10.0") > parse_version("0.9.12")  # type: ignore[operator]
    assert parse_version("v0.36.1-rc2") == (0, 36, 1)
    assert parse_version("0.3.64") < parse_version("0.18")  # type: ignore[operator]
    assert parse_version("") is None and parse_version(None) is None and parse_version("dev") is None


def test_capabilities_follow_the_server(flavoured: ComfyTestServer, make_pool: MakePool) -> None:
    pool = make_pool(flavoured.url)
    caps = pool.call(pool.endpoints[0].client.capabilities())
    if flavoured.flavour == "0.3.64":
        assert caps == Capabilities((0, 3, 64), jobs=False, cancel=False)
        assert flavoured.route_count("GET /api/jobs") == 0, "0.3.64 is known: nothing is probed"
    else:
        assert caps == Capabilities((0, 36, 0), jobs=True, cancel=True)
        assert flavoured.stats.interrupts == ["00000000-0000-0000-0000-000000000000"]  # the harmless probe


def test_status_comes_from_the_jobs_api_where_the_server_has_it(flavoured: ComfyTestServer, make_pool: MakePool,
                                                                 image: Path, tmp_path: Path) -> None:  # fmt: skip
    flavoured.faults.silent = True  # no socket messages: every status comes from polling
    pool = make_pool(flavoured.url)
    got = pool.run(video_job(image, tmp_path))
    assert got.path.suffix == ".mp4" and got.path.stat().st_size > 0  # SaveVideo's file listed under "images"
    jobs = flavoured.route_count("GET /api/jobs/{job_id}")
    old = flavoured.route_count("GET /history/{pid}", "GET /queue")
    if flavoured.flavour == "2026":
        assert jobs >= 1 and old == 0
    else:
        assert jobs == 0 and old >= 1
    # a finished job is found again (adoption after a crash) by the same route
    again = pool.run(video_job(image, tmp_path), JobHooks(previous_remote_ids=(got.prompt_id,)))
    assert again.prompt_id == got.prompt_id


def test_a_stuck_job_is_cancelled_through_the_jobs_api_or_interrupted(flavoured: ComfyTestServer,
                                                                      make_pool: MakePool, image: Path,
                                                                      tmp_path: Path) -> None:  # fmt: skip
    flavoured.faults.hang_class = "ImageSharpen"
    pool = make_pool(flavoured.url, job_timeout=1.0)
    ids: list[str] = []
    t0 = time.monotonic()
    with pytest.raises(ComfyTimeout):
        pool.run(restore_job(image, tmp_path), JobHooks(set_remote_id=ids.append))
    assert time.monotonic() - t0 < 10
    cancels = flavoured.route_count("POST /api/jobs/{job_id}/cancel")
    interrupts = flavoured.route_count("POST /interrupt", "POST /queue")
    if flavoured.flavour == "2026":
        assert cancels >= 2 and interrupts == 0  # the probe, then the job
    else:
        assert cancels == 0 and interrupts >= 1
    deadline = time.monotonic() + 5
    while flavoured.running is not None and time.monotonic() < deadline:
        time.sleep(0.02)
    assert ids[0] in flavoured.history and flavoured.history[ids[0]]["status"]["status_str"] == "error"


def test_errors_read_the_same_on_both_flavours(flavoured: ComfyTestServer, make_pool: MakePool, image: Path,
                                               tmp_path: Path) -> None:  # fmt: skip
    flavoured.faults.silent = True
    flavoured.faults.fail_class = "ImageSharpen"
    pool = make_pool(flavoured.url)
    with pytest.raises(ComfyExecutionError, match=r"node 3 \(ImageSharpen\) failed: RuntimeError"):
        pool.run(restore_job(image, tmp_path))
    flavoured.faults.fail_class = None
    graph = Workflow.load(STANDIN / "restore.json").graph
    graph["9"] = {"class_type": "LoadImage", "inputs": {"image": "does_not_exist.png"}}
    graph["10"] = {"class_type": "SaveImage", "inputs": {"images": ["9", 0], "filename_prefix": "bad"}}
    with pytest.raises(ComfyValidationError, match=r"node 9 \(LoadImage\)"):  # node_errors in a 200 answer
        pool.run(Job(Workflow.from_graph(graph, name="two.json"), {"image": image, "width": 64, "height": 64},
                     tmp_path))  # fmt: skip


def test_restart_loses_the_job_on_both_flavours(flavoured: ComfyTestServer, make_pool: MakePool, image: Path,
                                                tmp_path: Path) -> None:  # fmt: skip
    """A job gone from the server (jobs API: 404; old routes: in neither queue nor history) is submitted again."""
    flavoured.faults.node_seconds = 0.3
    pool = make_pool(flavoured.url)
    box: list[object] = []
    t = threading.Thread(target=lambda: box.append(pool.run(restore_job(image, tmp_path))))
    t.start()
    deadline = time.monotonic() + 10
    while flavoured.running is None and time.monotonic() < deadline:
        time.sleep(0.01)
    flavoured.restart(0.1)
    t.join(30)
    assert box and isinstance(box[0], JobResult) and box[0].path.is_file(), box
    assert pool.stats.counts["resubmitted"] == 1
