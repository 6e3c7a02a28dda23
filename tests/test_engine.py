"""The engine's policy, with small in-process steps standing in for the ten real ones (real SQLite file)."""

from __future__ import annotations

import errno
from collections.abc import Callable
from pathlib import Path

import pytest

from vivant.config import Settings
from vivant.engine import Engine
from vivant.errors import InputError, StepError, WorkspaceError
from vivant.events import Event, EventBus
from vivant.states import AttemptStatus, ItemState
from vivant.steps.base import Step, StepContext, StepResult
from vivant.store import NewPainting, Store


def _settings(tmp_path: Path, attempts: int = 3) -> Settings:
    s = Settings().resolved(tmp_path)
    s.retries.attempts = attempts
    return s


def _store(tmp_path: Path, n: int = 3) -> tuple[Store, int]:
    store = Store.open(tmp_path / "vivant.db")
    store.add_paintings(
        NewPainting(key=f"p{i}", title=f"Painting {i}", artist="A. Painter", image_path=str(tmp_path / f"p{i}.jpg"))
        for i in range(n)
    )
    ids = [pid for pid, _ in store.painting_genres()]
    return store, store.create_batch(ids, languages=["fr", "en"], seed=1)


def _writer(name: str, fn: Callable[[StepContext], None] | None = None) -> Callable[[StepContext], StepResult]:
    def run(ctx: StepContext) -> StepResult:
        if fn:
            fn(ctx)
        (ctx.out / f"{name}.txt").write_text(f"{ctx.painting.key} {ctx.language}")
        return StepResult(artifacts={"out": f"{name}.txt"}, backend=f"test:{name}")

    return run


def _steps(**overrides: Callable[[StepContext], StepResult]) -> list[Step]:
    names = ["a", "b", "c"]
    per_lang = {"b"}
    return [
        Step(i, n, overrides.get(n, _writer(n)), per_language=n in per_lang, needs=tuple(names[:i]))
        for i, n in enumerate(names)
    ]


def test_step_major_order_and_per_language_fan_out(tmp_path: Path) -> None:
    store, batch = _store(tmp_path)
    engine = Engine(store, _settings(tmp_path), steps=_steps(), sleep=lambda s: None)
    summary = engine.run(batch)
    assert summary.states == {"COMPLETE": 3}
    attempts = store.attempts(batch_id=batch)
    steps_in_order = [a.step for a in attempts]
    assert steps_in_order == sorted(steps_in_order), "an item started step k+1 before all finished step k"
    assert [a.language for a in attempts if a.step == 1] == ["fr", "en"] * 3
    assert all(a.status == AttemptStatus.SUCCEEDED for a in attempts)
    # outputs moved into place, no temporary folder left, artifacts hashed
    item = store.items(batch)[0]
    arts = store.artifacts(item.id)
    assert len(arts) == 4
    for a in arts:
        assert (tmp_path / a.path).is_file() and len(a.sha256) == 64
    assert not list((tmp_path / "batches").rglob(".tmp-*"))


def test_retries_with_backoff_then_success(tmp_path: Path) -> None:
    store, batch = _store(tmp_path, 1)
    calls: list[str] = []
    sleeps: list[float] = []

    def flaky(ctx: StepContext) -> None:
        calls.append(ctx.language or "")
        if len(calls) < 3:
            raise StepError("server hiccup")

    engine = Engine(store, _settings(tmp_path), steps=_steps(b=_writer("b", flaky)), sleep=sleeps.append)
    assert engine.run(batch).states == {"COMPLETE": 1}
    b = [a for a in store.attempts(batch_id=batch) if a.step == 1 and a.language == "fr"]
    assert [a.status for a in b] == [AttemptStatus.FAILED, AttemptStatus.FAILED, AttemptStatus.SUCCEEDED]
    assert [a.number for a in b] == [1, 2, 3]
    assert sleeps == [2.0, 4.0]


def test_exhausted_retries_fail_the_item_and_the_batch_goes_on(tmp_path: Path) -> None:
    store, batch = _store(tmp_path, 3)

    def boom(ctx: StepContext) -> None:
        if ctx.painting.key == "p1":
            raise RuntimeError("the step raised")

    events: list[Event] = []
    bus = EventBus()
    bus.subscribe(events.append)
    engine = Engine(store, _settings(tmp_path), steps=_steps(a=_writer("a", boom)), sleep=lambda s: None, bus=bus)
    summary = engine.run(batch)
    assert summary.states == {"COMPLETE": 2, "FAILED": 1}
    failed = next(i for i in store.items(batch) if i.state == ItemState.FAILED)
    assert "RuntimeError: the step raised" in failed.reason and "step 0 a" in failed.reason
    assert len([a for a in store.attempts(item_id=failed.id)]) == 3
    assert any(e.kind == "unit_retry" for e in events)


def test_input_error_is_not_retried(tmp_path: Path) -> None:
    store, batch = _store(tmp_path, 1)

    def bad(ctx: StepContext) -> None:
        raise InputError(f"{ctx.painting.image_path}: not an image")

    engine = Engine(store, _settings(tmp_path), steps=_steps(a=_writer("a", bad)), sleep=lambda s: None)
    assert engine.run(batch).states == {"FAILED": 1}
    assert len(store.attempts(batch_id=batch)) == 1
    assert "not an image" in store.items(batch)[0].reason


def test_refusal_aborts_with_reasons_and_keeps_the_verdict(tmp_path: Path) -> None:
    store, batch = _store(tmp_path, 2)

    def refuse(ctx: StepContext) -> StepResult:
        (ctx.out / "verdict.json").write_text("{}")
        reasons = ["3 people (max 1)"] if ctx.painting.key == "p0" else []
        return StepResult(artifacts={"verdict": "verdict.json"}, backend="test", refused=reasons)

    engine = Engine(store, _settings(tmp_path), steps=_steps(a=refuse), sleep=lambda s: None)
    assert engine.run(batch).states == {"ABORTED": 1, "COMPLETE": 1}
    aborted = store.items(batch)[0]
    assert aborted.state == ItemState.ABORTED and "3 people" in aborted.reason
    assert store.artifacts(aborted.id, kind="verdict")
    assert {a.step for a in store.attempts(item_id=aborted.id)} == {0}


def test_resume_reruns_interrupted_and_never_a_finished_unit(tmp_path: Path) -> None:
    store, batch = _store(tmp_path, 2)
    state = {"crash": True}

    def crash_once(ctx: StepContext) -> None:
        if state["crash"] and ctx.painting.key == "p1":
            raise KeyboardInterrupt

    engine = Engine(store, _settings(tmp_path), steps=_steps(c=_writer("c", crash_once)), sleep=lambda s: None)
    with pytest.raises(KeyboardInterrupt):
        engine.run(batch)
    assert store.batch(batch).status == "INTERRUPTED"
    interrupted = [a for a in store.attempts(batch_id=batch) if a.status == AttemptStatus.INTERRUPTED]
    assert len(interrupted) == 1
    before = len(store.attempts(batch_id=batch))
    state["crash"] = False
    assert Engine(store, _settings(tmp_path), steps=_steps(), sleep=lambda s: None).run(batch).finished
    after = store.attempts(batch_id=batch)
    assert len(after) == before + 1  # only the interrupted unit ran again
    ok = [(a.item_id, a.step, a.language) for a in after if a.status == AttemptStatus.SUCCEEDED]
    assert len(ok) == len(set(ok)) == 2 * 4


def test_stale_running_attempt_and_tmp_folder_are_recovered(tmp_path: Path) -> None:
    store, batch = _store(tmp_path, 1)
    item = store.items(batch)[0]
    store.set_state(item.id, ItemState.PROCESSING)
    store.start_attempt(item.id, 0, "", backend="local", resource="cpu")  # left RUNNING by a "crash"
    stale = tmp_path / "batches" / f"{batch:04d}" / "p0" / ".tmp-0-a-99"
    stale.mkdir(parents=True)
    engine = Engine(store, _settings(tmp_path), steps=_steps(), sleep=lambda s: None)
    assert engine.run(batch).states == {"COMPLETE": 1}
    assert not stale.exists()
    assert [a.status for a in store.attempts(batch_id=batch) if a.step == 0] == [
        AttemptStatus.INTERRUPTED,
        AttemptStatus.SUCCEEDED,
    ]


def test_disk_full_stops_the_batch_and_keeps_what_is_done(tmp_path: Path) -> None:
    store, batch = _store(tmp_path, 2)

    def full(ctx: StepContext) -> None:
        if ctx.painting.key == "p1":
            raise OSError(errno.ENOSPC, "No space left on device", str(ctx.out / "c.txt"))

    engine = Engine(store, _settings(tmp_path), steps=_steps(c=_writer("c", full)), sleep=lambda s: None)
    with pytest.raises(WorkspaceError, match="cannot be written"):
        engine.run(batch)
    done = store.items(batch)[0]
    outputs = store.artifacts(done.id, step=2)
    assert outputs and (tmp_path / outputs[0].path).is_file()
    assert len(store.attempts(batch_id=batch)) == 2 + 4 + 2  # no retry loop on a full disk
    assert Engine(store, _settings(tmp_path), steps=_steps(), sleep=lambda s: None).run(batch).states == {"COMPLETE": 2}


def test_redo_supersedes_from_the_step_and_runs_again(tmp_path: Path) -> None:
    store, batch = _store(tmp_path, 1)
    engine = Engine(store, _settings(tmp_path), steps=_steps(), sleep=lambda s: None)
    engine.run(batch)
    item = store.items(batch)[0]
    engine.redo(item.id, engine.steps[1])
    assert store.item(item.id).state == ItemState.REDO
    assert engine.run(batch).states == {"COMPLETE": 1}
    current = store.attempts(item_id=item.id, include_superseded=False)
    assert sorted((a.step, a.language) for a in current) == [(0, ""), (1, "en"), (1, "fr"), (2, "")]
    assert len(store.attempts(item_id=item.id)) == 4 + 3
    assert [t[1] for t in store.transitions(item.id)] == ["PROCESSING", "COMPLETE", "REDO", "PROCESSING", "COMPLETE"]


def test_a_step_that_forgets_its_artifact_fails(tmp_path: Path) -> None:
    store, batch = _store(tmp_path, 1)

    def liar(ctx: StepContext) -> StepResult:
        return StepResult(artifacts={"video": "missing.mp4"}, backend="test")

    engine = Engine(store, _settings(tmp_path, attempts=1), steps=_steps(a=liar), sleep=lambda s: None)
    assert engine.run(batch).states == {"FAILED": 1}
    assert "did not write it" in store.items(batch)[0].reason


def _final(ctx: StepContext) -> StepResult:
    (ctx.out / "final.mp4").write_bytes(f"video {ctx.painting.key} {ctx.language}".encode())
    (ctx.out / "thumb.jpg").write_bytes(b"jpeg")
    return StepResult(artifacts={"video": "final.mp4", "thumbnail": "thumb.jpg"}, backend="test:final")


def test_the_pool_copy_is_part_of_finishing_and_resume_does_it_again(tmp_path: Path) -> None:
    store, batch = _store(tmp_path, 1)
    settings = _settings(tmp_path)
    settings.pool_dir.parent.mkdir(parents=True, exist_ok=True)
    settings.pool_dir.write_text("not a folder")  # the copy into pool/ fails after the last step is committed
    steps = [Step(0, "a", _writer("a")), Step(1, "c", _final, per_language=True, needs=("a",))]
    engine = Engine(store, settings, steps=steps, sleep=lambda s: None)
    with pytest.raises(WorkspaceError) as err:
        engine.run(batch)
    assert "cannot copy p0's video into the pool" in str(err.value) and str(settings.pool_dir) in str(err.value)
    assert "\n" not in str(err.value)
    assert store.succeeded(store.items(batch)[0].id, 1, "fr")
    assert store.items(batch)[0].state == ItemState.PROCESSING and store.batch(batch).status != "FINISHED"

    settings.pool_dir.unlink()
    assert engine.run(batch).states == {"COMPLETE": 1}  # resume: nothing runs again, the copy is done
    assert store.batch(batch).status == "FINISHED"
    for lang in ("fr", "en"):
        assert (settings.pool_dir / f"p0.{lang}.mp4").read_bytes() == b"video p0 " + lang.encode()
        assert (settings.pool_dir / f"p0.{lang}.jpg").is_file()
    assert len([a for a in store.attempts(batch_id=batch) if a.step == 1]) == 2  # fr and en, once each


def test_a_pool_file_lost_before_completion_is_copied_again(tmp_path: Path) -> None:
    store, batch = _store(tmp_path, 1)
    settings = _settings(tmp_path)

    def final(ctx: StepContext) -> StepResult:
        if ctx.language == "en":  # fr was pooled a moment ago; its copy is lost (as by a crash before the copy)
            (settings.pool_dir / "p0.fr.mp4").unlink()
        return _final(ctx)

    steps = [Step(0, "a", _writer("a")), Step(1, "c", final, per_language=True, needs=("a",))]
    engine = Engine(store, settings, steps=steps, sleep=lambda s: None)
    assert engine.run(batch).states == {"COMPLETE": 1}
    assert (settings.pool_dir / "p0.fr.mp4").read_bytes() == b"video p0 fr"
    assert (settings.pool_dir / "p0.en.mp4").is_file()


def test_resume_says_it_follows_a_remote_job_instead_of_running_it_again(tmp_path: Path) -> None:
    from rich.console import Console

    from vivant.cli import ProgressView

    store, batch = _store(tmp_path, 2)
    first, second = store.items(batch)
    with_job = store.start_attempt(first.id, 0, "", backend="comfyui", resource="gpu")
    store.set_remote_id(with_job.id, "prompt-1", "http://gpu:8188")  # still on the server, maybe
    store.start_attempt(second.id, 0, "", backend="local", resource="cpu")  # nothing remote: runs again
    events: list[Event] = []
    bus = EventBus()
    bus.subscribe(events.append)
    Engine(store, _settings(tmp_path), steps=_steps(), sleep=lambda s: None, bus=bus).run(batch)
    (recovered,) = [e for e in events if e.kind == "recovered"]
    assert recovered.data["interrupted"] == 2 and recovered.data["followed"] == 1
    console = Console(record=True, width=200)
    ProgressView(console, quiet=True).on_event(recovered)
    text = console.export_text()
    assert "1 interrupted attempt(s) will run again" in text and "1 will follow its job still on the server" in text
