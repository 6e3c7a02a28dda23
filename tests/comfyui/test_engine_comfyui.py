"""The engine with a ComfyUI step: queue-ahead, the server's timing in the attempts, resume without resubmit."""

from __future__ import annotations

import itertools
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from vivant.backends.comfyui.roles import ComfyBackends
from vivant.backends.registry import Roles
from vivant.config import Settings
from vivant.engine import Engine
from vivant.states import AttemptStatus
from vivant.steps.base import Step, StepContext, StepResult
from vivant.store import NewPainting, Store

from .conftest import STANDIN, fast_settings
from .server import ComfyTestServer


def _restore(ctx: StepContext) -> StepResult:
    editor = ctx.roles.image_editor("restore")
    editor.edit(ctx.painting.image_path, ctx.out / "restored.png", task="restore")
    return StepResult(artifacts={"image": "restored.png"}, backend=editor.name)


STEPS = [Step(0, "restore", _restore, resource="gpu")]


def _setup(tmp_path: Path, url: str, image: Path, n: int, **comfy: object) -> tuple[Store, int, Roles, Settings]:
    settings = Settings().resolved(tmp_path)
    settings.backends.restore = "comfyui"
    settings.retries.backoff_seconds = 0.0
    settings.comfyui = fast_settings(url, workflows={"restore": STANDIN / "restore.json"}, **comfy)
    store = Store.open(tmp_path / "vivant.db")
    for i in range(n):
        shutil.copy(image, tmp_path / f"p{i}.png")
    store.add_paintings(NewPainting(key=f"p{i}", title=f"P{i}", artist="A", image_path=str(tmp_path / f"p{i}.png"))
                        for i in range(n))  # fmt: skip
    batch = store.create_batch([pid for pid, _ in store.painting_genres()], languages=["en"], seed=1)
    return store, batch, Roles(settings), settings


@pytest.fixture
def closing() -> Callable[[Roles], Roles]:
    made: list[Roles] = []

    def keep(r: Roles) -> Roles:
        made.append(r)
        return r

    yield keep
    for r in made:
        r.comfyui.close()


def test_every_job_of_a_step_is_queued_at_once_and_timed_by_the_server(
    server: ComfyTestServer, tmp_path: Path, image: Path, closing: Callable[[Roles], Roles]
) -> None:
    server.faults.node_seconds = 0.05
    store, batch, roles, settings = _setup(tmp_path, server.url, image, 6)
    summary = Engine(store, settings, roles=closing(roles), steps=STEPS, sleep=lambda s: None).run(batch)
    assert summary.states == {"COMPLETE": 6}
    assert server.stats.max_queue == 6, "all six prompts were waiting on the server together"
    runs = sorted(server.stats.runs, key=lambda r: r[1])
    # the server never waited for us: each prompt started after the one before it ended, none idle in between
    # that waited on this process (all six were queued together, above); no wall-clock bound on a loaded machine
    assert all(b[1] >= a[2] for a, b in itertools.pairwise(runs))
    attempts = store.attempts(batch_id=batch)
    assert len(attempts) == 6 and all(a.status == AttemptStatus.SUCCEEDED for a in attempts)
    assert {a.remote_id for a in attempts} == {r[0] for r in runs}
    waits = sorted(a.queue_wait or 0 for a in attempts)
    assert waits[-1] > 0.5, "the last job waited behind five others (about 0.2 s each)"
    assert all(a.compute is not None and a.compute > 0.1 for a in attempts)  # the server's time, not ours


def test_failed_job_is_retried_in_the_next_round(server: ComfyTestServer, tmp_path: Path, image: Path,
                                                 closing: Callable[[Roles], Roles]) -> None:  # fmt: skip
    server.faults.fail_class = "ImageSharpen"
    store, batch, roles, settings = _setup(tmp_path, server.url, image, 3)
    settings.retries.attempts = 2
    engine = Engine(store, settings, roles=closing(roles), steps=STEPS, sleep=lambda s: None)
    summary = engine.run(batch)
    assert summary.states == {"FAILED": 3}
    failed = store.attempts(batch_id=batch)
    assert len(failed) == 6 and all("node 3 (ImageSharpen) failed" in a.error for a in failed)
    server.faults.fail_class = None


def test_resume_adopts_the_prompt_of_an_interrupted_attempt(server: ComfyTestServer, tmp_path: Path, image: Path,
                                                            closing: Callable[[Roles], Roles]) -> None:  # fmt: skip
    store, batch, roles, settings = _setup(tmp_path, server.url, image, 1)
    roles = closing(roles)
    comfy: ComfyBackends = roles.comfyui
    # a run that crashed right after POST /prompt: the attempt holds the prompt id, the server ran it
    from vivant.backends.comfyui.jobs import Job, JobHooks

    item = store.items(batch)[0]
    attempt = store.start_attempt(item.id, 0, "", backend="comfyui", resource="gpu")
    done = comfy.pool.run(Job(comfy.workflow("restore"), {"image": image, "width": 64, "height": 80}, tmp_path),
                          JobHooks(set_remote_id=lambda rid: store.set_remote_id(attempt.id, rid)))  # fmt: skip
    posts = server.stats.posts
    summary = Engine(store, settings, roles=roles, steps=STEPS, sleep=lambda s: None).run(batch)
    assert summary.states == {"COMPLETE": 1}
    assert server.stats.posts == posts, "no second submission"
    rows = store.attempts(batch_id=batch)
    assert [a.status for a in rows] == [AttemptStatus.INTERRUPTED, AttemptStatus.SUCCEEDED]
    assert rows[1].remote_id == done.prompt_id


def test_preflight_stops_the_batch_before_any_work(server: ComfyTestServer, tmp_path: Path, image: Path,
                                                   closing: Callable[[Roles], Roles]) -> None:  # fmt: skip
    from vivant.backends.comfyui.errors import WorkflowError

    bad = tmp_path / "bad.json"
    bad.write_text((STANDIN / "restore.json").read_text().replace('"bicubic"', '"superres"'))
    store, batch, roles, settings = _setup(tmp_path, server.url, image, 2)
    settings.comfyui.workflows["restore"] = bad
    with pytest.raises(WorkflowError, match=r"workflow bad.json: node 2 \(ImageScale\) input 'upscale_method'"):
        Engine(store, settings, roles=closing(roles), steps=STEPS, sleep=lambda s: None).run(batch)
    assert server.stats.posts == 0 and store.attempts(batch_id=batch) == []
