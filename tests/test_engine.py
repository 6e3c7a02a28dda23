"""The engine's façade: recovery, the pool copy, a step's declared artifacts (real SQLite file).

The policy (retries, refusal, failure, interruption, redo, resume) in every mode is tests/test_policy.py's."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from vivant.config import Settings
from vivant.engine import Engine
from vivant.errors import WorkspaceError
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


def test_resume_copies_the_final_video_when_qa_runs_after_it(tmp_path: Path) -> None:
    store, batch = _store(tmp_path, 1)
    settings = _settings(tmp_path)
    settings.pool_dir.parent.mkdir(parents=True, exist_ok=True)
    settings.pool_dir.write_text("not a folder")  # the copy after step "final" fails; "qa" comes after it
    steps = [Step(0, "a", _writer("a")), Step(1, "final", _final, per_language=True, needs=("a",)),
             Step(2, "qa", _writer("qa"), per_language=True, needs=("final",))]  # fmt: skip
    engine = Engine(store, settings, steps=steps, sleep=lambda s: None)
    with pytest.raises(WorkspaceError, match="into the pool"):
        engine.run(batch)
    settings.pool_dir.unlink()
    assert engine.run(batch).states == {"COMPLETE": 1}
    for lang in ("fr", "en"):  # the resume copies the final step's files, not the last step's
        assert (settings.pool_dir / f"p0.{lang}.mp4").read_bytes() == b"video p0 " + lang.encode()
