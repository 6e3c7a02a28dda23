"""The engine's policy, once for every mode and width: retries with backoff, refusal, failure, interruption, redo
and resume, in step mode and overlap mode, one unit at a time (inline) and several in flight (worker threads).

Small in-process steps stand in for the real ones (real SQLite file, real folders). Time is an injected clock that
moves only when the engine sleeps, so the backoff is exact and no test waits or measures wall-clock time.
"""

from __future__ import annotations

import errno
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any, cast

import pytest

from vivant.backends.registry import Roles
from vivant.config import Settings
from vivant.engine import Engine
from vivant.errors import InputError, StepError, WorkspaceError
from vivant.events import Event, EventBus
from vivant.states import AttemptStatus, ItemState
from vivant.steps.base import Step, StepContext, StepResult
from vivant.store import NewPainting, Store
from vivant.unit import RetryPolicy

MODES = ["step-1", "step-3", "overlap-1", "overlap-3"]
"""Scheduler mode and how many units of a step may be in flight (``Roles.parallel_units``)."""
RESOURCES = {"a": "llm", "b": "gpu", "c": "cpu"}
"""Overlap mode: each step on its own lane."""


class Clock:
    """Monotonic time that moves only when the engine sleeps."""

    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def monotonic(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


class TestRoles(Roles):
    """The real registry with a chosen width for the test backend, recording the hooks the engine calls."""

    __test__ = False

    def __init__(self, settings: Settings, width: int) -> None:
        super().__init__(settings)
        self.width = width
        self.calls: list[str] = []

    def parallel_units(self, backend: str) -> int:
        return self.width

    def enter_step(self, step: str, backend: str) -> None:
        self.calls.append(f"enter {step}")

    def preflight(self, steps: list[str]) -> None:
        self.calls.append("preflight")

    def close(self) -> None:
        self.calls.append("close")
        super().close()


class Watched:
    """A store that records every call made to it from a thread other than the main one."""

    def __init__(self, store: Store) -> None:
        self._store = store
        self.off_main: list[tuple[str, str]] = []

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self._store, name)
        if not callable(attr) or name not in vars(Store):
            return attr

        def call(*args: Any, **kwargs: Any) -> Any:
            if threading.current_thread() is not threading.main_thread():
                self.off_main.append((name, threading.current_thread().name))
            return attr(*args, **kwargs)

        return call


class Night:
    """One batch of ``n`` paintings (fr + en) and an engine for it in one mode."""

    def __init__(self, tmp_path: Path, mode: str, n: int = 3, attempts: int = 3) -> None:
        self.root = tmp_path
        self.mode = mode
        self.store = Store.open(tmp_path / "vivant.db")
        self.store.add_paintings(
            NewPainting(key=f"p{i}", title=f"Painting {i}", artist="A. Painter", image_path=str(tmp_path / f"p{i}.jpg"))
            for i in range(n)
        )
        ids = [pid for pid, _ in self.store.painting_genres()]
        self.batch = self.store.create_batch(ids, languages=["fr", "en"], seed=1)
        self.clock = Clock()
        self.events: list[Event] = []
        self.attempts = attempts

    def settings(self) -> Settings:
        s = Settings().resolved(self.root)
        s.retries.attempts = self.attempts
        s.retries.backoff_seconds = 2.0
        scheduler, _width = self.mode.split("-")
        if scheduler == "overlap":
            s.scheduler.mode = "overlap"
            s.scheduler.resources = dict(RESOURCES)  # type: ignore[arg-type]
        return s

    def engine(self, store: Store | None = None, **steps: Callable[[StepContext], StepResult]) -> Engine:
        settings = self.settings()
        self.roles = TestRoles(settings, int(self.mode.split("-")[1]))
        bus = EventBus()
        bus.subscribe(self.events.append)
        return Engine(store or self.store, settings, roles=self.roles, steps=_steps(**steps), bus=bus,
                      sleep=self.clock.sleep, monotonic=self.clock.monotonic)  # fmt: skip

    def run(self, **steps: Callable[[StepContext], StepResult]) -> dict[str, int]:
        return self.engine(**steps).run(self.batch).states

    def key_of(self, item_id: int) -> str:
        return self.store.painting(self.store.item(item_id).painting_id).key

    def item(self, key: str) -> Any:
        return next(i for i in self.store.items(self.batch) if self.store.painting(i.painting_id).key == key)

    def attempts_of(self, key: str, step: int, lang: str = "") -> list[Any]:
        item = self.item(key)
        return [a for a in self.store.attempts(item_id=item.id) if a.step == step and a.language == lang]

    def kinds(self, kind: str) -> list[Event]:
        return [e for e in self.events if e.kind == kind]


def _writer(name: str, fn: Callable[[StepContext], None] | None = None) -> Callable[[StepContext], StepResult]:
    def run(ctx: StepContext) -> StepResult:
        if fn:
            fn(ctx)
        for need in {"b": ["a"], "c": ["a", "b"]}.get(name, []):  # inputs resolved before the attempt started
            langs = ["fr", "en"] if need == "b" and name == "c" else [ctx.language or ""]
            for lang in langs:
                assert ctx.lookup(need, "out", lang if need == "b" else "").is_file()
        (ctx.out / f"{name}.txt").write_text(f"{ctx.painting.key} {ctx.language}")
        return StepResult(artifacts={"out": f"{name}.txt"}, backend=f"test:{name}")

    return run


def _steps(**overrides: Callable[[StepContext], StepResult]) -> list[Step]:
    names = ["a", "b", "c"]
    return [
        Step(i, n, overrides.get(n, _writer(n)), per_language=n == "b", needs=tuple(names[:i]))
        for i, n in enumerate(names)
    ]


@pytest.fixture(params=MODES)
def night(request: pytest.FixtureRequest, tmp_path: Path) -> Night:
    return Night(tmp_path, request.param)


def test_every_unit_once_step_major_per_lane(night: Night) -> None:
    assert night.run() == {"COMPLETE": 3}
    attempts = night.store.attempts(batch_id=night.batch)
    units = [(a.item_id, a.step, a.language) for a in attempts]
    assert len(units) == len(set(units)) == 3 * 4 and all(a.status == AttemptStatus.SUCCEEDED for a in attempts)
    if night.mode.startswith("step"):  # one lane: every item through a step before the next step starts
        assert [a.step for a in attempts] == sorted(a.step for a in attempts)
    for item in night.store.items(night.batch):  # each unit after the units it needs
        mine = [a for a in attempts if a.item_id == item.id]
        assert [a.step for a in mine] == sorted(a.step for a in mine)
        assert len(night.store.artifacts(item.id)) == 4
    assert not list((night.root / "batches").rglob(".tmp-*"))
    assert night.roles.calls[0] == "preflight" and night.roles.calls[-1] == "close"


def test_retries_wait_the_policy_delay_then_succeed(night: Night) -> None:
    tries: list[int] = []

    def flaky(ctx: StepContext) -> None:
        if ctx.painting.key == "p0" and ctx.language == "fr":
            tries.append(1)
            if len(tries) < 3:
                raise StepError("server hiccup")

    assert night.run(b=_writer("b", flaky)) == {"COMPLETE": 3}
    assert [a.status for a in night.attempts_of("p0", 1, "fr")] == ["FAILED", "FAILED", "SUCCEEDED"]
    assert night.clock.sleeps == [2.0, 4.0]
    retries = night.kinds("unit_retry")
    assert [(e.data["attempt"], e.data["delay"], e.data["error"]) for e in retries] == [
        (2, 2.0, "server hiccup"), (3, 4.0, "server hiccup"),
    ]  # fmt: skip
    # a retry holds nothing else back: every other unit of the step ran before the first retry
    others = [a for a in night.store.attempts(batch_id=night.batch) if a.step == 1]
    first_retry = night.attempts_of("p0", 1, "fr")[1]
    assert all(a.id < first_retry.id for a in others if night.key_of(a.item_id) != "p0" or a.language != "fr")


def test_exhausted_attempts_fail_the_item_and_the_batch_goes_on(night: Night) -> None:
    def boom(ctx: StepContext) -> None:
        if ctx.painting.key == "p1":
            raise RuntimeError("the step raised")

    assert night.run(a=_writer("a", boom)) == {"COMPLETE": 2, "FAILED": 1}
    failed = night.item("p1")
    assert failed.state == ItemState.FAILED and "RuntimeError: the step raised" in failed.reason
    assert "step 0 a" in failed.reason
    assert len(night.store.attempts(item_id=failed.id)) == 3
    assert night.clock.sleeps == [2.0, 4.0]
    assert [e.data["state"] for e in night.kinds("item_state") if e.item_id == failed.id] == ["FAILED"]


class Unretryable(StepError):
    retryable = False


@pytest.mark.parametrize("error", [InputError("p.jpg: not an image"), Unretryable("bad workflow")])
def test_bad_input_fails_at_once(night: Night, error: StepError) -> None:
    def bad(ctx: StepContext) -> None:
        if ctx.painting.key == "p0":
            raise error

    assert night.run(b=_writer("b", bad)) == {"COMPLETE": 2, "FAILED": 1}
    assert len(night.attempts_of("p0", 1, "fr")) == 1 and not night.clock.sleeps
    assert str(error) in night.item("p0").reason and not night.attempts_of("p0", 2)


def test_refusal_aborts_with_reasons_and_keeps_the_verdict(night: Night) -> None:
    def refuse(ctx: StepContext) -> StepResult:
        (ctx.out / "verdict.json").write_text("{}")
        reasons = ["3 people (max 1)"] if ctx.painting.key == "p0" else []
        return StepResult(artifacts={"verdict": "verdict.json", "out": "verdict.json"}, backend="test",
                          refused=reasons)  # fmt: skip

    assert night.run(a=refuse) == {"ABORTED": 1, "COMPLETE": 2}
    aborted = night.item("p0")
    assert "3 people" in aborted.reason and night.store.artifacts(aborted.id, kind="verdict")
    assert {a.step for a in night.store.attempts(item_id=aborted.id)} == {0}
    assert [a.status for a in night.attempts_of("p0", 0)] == [AttemptStatus.REFUSED]


def test_an_interrupt_stops_the_batch_and_resume_runs_only_what_is_left(night: Night) -> None:
    armed = {"on": True}

    def crash(ctx: StepContext) -> None:
        if armed["on"] and ctx.painting.key == "p1":
            armed["on"] = False
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        night.run(c=_writer("c", crash))
    assert night.store.batch(night.batch).status == "INTERRUPTED"
    assert night.roles.calls[-1] == "close", "the roles are closed on an interrupt too"
    before = night.store.attempts(batch_id=night.batch)
    assert any(a.status == AttemptStatus.INTERRUPTED for a in before)
    assert not [a for a in before if a.status == AttemptStatus.RUNNING]
    done_before = {(a.item_id, a.step, a.language) for a in before if a.status == AttemptStatus.SUCCEEDED}

    assert night.run() == {"COMPLETE": 3}
    after = night.store.attempts(batch_id=night.batch)[len(before) :]
    assert not done_before & {(a.item_id, a.step, a.language) for a in after}, "a finished unit ran again"
    ok = [(a.item_id, a.step, a.language) for a in night.store.attempts(batch_id=night.batch)
          if a.status == AttemptStatus.SUCCEEDED]  # fmt: skip
    assert len(ok) == len(set(ok)) == 3 * 4
    assert not list((night.root / "batches").rglob(".tmp-*"))


def test_resume_fails_a_unit_that_had_used_its_attempts(night: Night) -> None:
    p1 = night.item("p1")
    night.store.set_state(p1.id, ItemState.PROCESSING)
    for _ in range(3):  # a crash after the last failed attempt, before the item was marked FAILED
        a = night.store.start_attempt(p1.id, 0, "", backend="test", resource="cpu")
        night.store.finish_attempt(a.id, AttemptStatus.FAILED, error="out of memory", compute=1.0)
    assert night.run() == {"COMPLETE": 2, "FAILED": 1}
    assert "out of memory" in night.store.item(p1.id).reason
    assert len(night.store.attempts(item_id=p1.id)) == 3


def test_redo_supersedes_from_the_step_and_runs_again(night: Night) -> None:
    night.run()
    item = night.item("p0")
    engine = night.engine()
    engine.redo(item.id, engine.steps[1])
    assert night.store.item(item.id).state == ItemState.REDO
    assert night.run() == {"COMPLETE": 3}
    current = night.store.attempts(item_id=item.id, include_superseded=False)
    assert sorted((a.step, a.language) for a in current) == [(0, ""), (1, "en"), (1, "fr"), (2, "")]
    assert len(night.store.attempts(item_id=item.id)) == 4 + 3
    assert [t[1] for t in night.store.transitions(item.id)] == ["PROCESSING", "COMPLETE", "REDO", "PROCESSING",
                                                                 "COMPLETE"]  # fmt: skip


def test_a_full_disk_stops_the_batch_and_keeps_what_is_done(night: Night) -> None:
    def full(ctx: StepContext) -> None:
        if ctx.painting.key == "p1":
            raise OSError(errno.ENOSPC, "No space left on device", str(ctx.out / "c.txt"))

    with pytest.raises(WorkspaceError, match="cannot be written"):
        night.run(c=_writer("c", full))
    failed = night.attempts_of("p1", 2)
    assert [a.status for a in failed] == [AttemptStatus.FAILED] and not night.clock.sleeps  # no retry loop
    assert night.run() == {"COMPLETE": 3}


def test_only_the_main_thread_touches_the_store(night: Night) -> None:
    watched = Watched(night.store)

    def remote(ctx: StepContext) -> None:
        ctx.timing.endpoint = "http://gpu:8188"
        ctx.set_remote_id(f"job-{ctx.painting.key}-{ctx.language}")  # handed to the main thread, then recorded
        ctx.notice("endpoint_down", endpoint="http://gpu:8188", why="test")
        ctx.progress(0.5)

    engine = night.engine(cast(Store, watched), b=_writer("b", remote))
    assert engine.run(night.batch).states == {"COMPLETE": 3}
    assert watched.off_main == []
    b = [a for a in night.store.attempts(batch_id=night.batch) if a.step == 1]
    assert {a.remote_id for a in b} == {f"job-p{i}-{lang}" for i in range(3) for lang in ("fr", "en")}
    assert {a.endpoint for a in b} == {"http://gpu:8188"}
    assert len(night.kinds("endpoint_down")) == 6
    if night.mode.endswith("-3"):  # units really ran side by side in worker threads
        assert night.roles.width == 3


def test_the_hooks_are_called_directly(night: Night) -> None:
    night.run()
    calls = night.roles.calls
    assert calls[0] == "preflight" and calls[-1] == "close" and calls.count("close") == 1
    # enter_step only where one lane holds all of a backend's steps (else two lanes would free each other's models)
    entered = ["enter a", "enter b", "enter c"] if night.mode.startswith("step") else []
    assert [c for c in calls if c.startswith("enter")] == entered


def test_the_retry_policy_is_one_formula() -> None:
    policy = RetryPolicy(attempts=4, backoff=2.0, cap=5.0)
    assert [policy.delay(n) for n in (0, 1, 2, 3)] == [2.0, 2.0, 4.0, 5.0]
    assert not policy.exhausted(3) and policy.exhausted(4)
    settings = Settings()
    assert RetryPolicy.of(settings.retries).attempts == settings.retries.attempts


def test_a_backend_reaches_its_attempt_from_the_thread_it_runs_in(night: Night) -> None:
    from vivant.roles import current_attempt

    def degraded(ctx: StepContext) -> StepResult:
        attempt = current_attempt()  # what a backend sees: the attempt of this unit, in this thread
        assert attempt is ctx and attempt.painting.key == ctx.painting.key
        if ctx.painting.key == "p2":
            attempt.fall_back("test:server", "local:stand-in")
        (ctx.out / "b.txt").write_text("x")
        backend, is_degraded = ctx.ran("test:server", False)
        return StepResult(artifacts={"out": "b.txt"}, backend=backend, degraded=is_degraded)

    assert night.run(b=degraded) == {"COMPLETE": 3}
    rows = {(night.key_of(a.item_id), a.backend, a.degraded) for a in night.store.attempts(batch_id=night.batch)
            if a.step == 1}  # fmt: skip
    assert rows == {("p0", "test:server", False), ("p1", "test:server", False),
                    ("p2", "test:server->local:stand-in", True)}  # fmt: skip
    assert current_attempt() is None
