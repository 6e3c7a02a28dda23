"""The lanes of overlap mode (``[scheduler] mode = "overlap"``) with small in-process steps on three resources.

The policy in every mode and width (retries, refusal, failure, interruption, redo, resume) is tests/test_policy.py's."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.test_engine import _store
from vivant.config import Settings
from vivant.engine import Engine
from vivant.lanes import lanes_of
from vivant.states import AttemptStatus
from vivant.steps.base import Step, StepContext, StepResult

# name, resource, per language, needs — a small copy of the real graph's shape
GRAPH = [
    ("prep", "llm", False, ()),
    ("text", "llm", True, ("prep",)),
    ("voice", "gpu", True, ("text",)),
    ("clean", "gpu", False, ("prep",)),
    ("film", "gpu", True, ("voice", "clean")),
    ("words", "llm", True, ("voice", "text")),
    ("final", "cpu", True, ("text", "film", "words")),
]
RESOURCE = {name: res for name, res, _, _ in GRAPH}


class Log:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.spans: list[tuple[str, str, str, float, float]] = []  # step, painting, language, start, end

    def spans_of(self, step: str) -> list[tuple[str, str, str, float, float]]:
        return [s for s in self.spans if s[0] == step]


def _steps(log: Log, seconds: float = 0.01,
           hooks: dict[str, Callable[[StepContext], None]] | None = None) -> list[Step]:  # fmt: skip
    hooks = hooks or {}

    def make(name: str) -> Callable[[StepContext], StepResult]:
        def run(ctx: StepContext) -> StepResult:
            t0 = time.monotonic()
            if name in hooks:
                hooks[name](ctx)
            time.sleep(seconds)
            (ctx.out / f"{name}.txt").write_text(f"{ctx.painting.key} {ctx.language}")
            with log.lock:
                log.spans.append((name, ctx.painting.key, ctx.language or "", t0, time.monotonic()))
            return StepResult(artifacts={"out": f"{name}.txt"}, backend=f"test:{name}")

        return run

    return [Step(i, name, make(name), per_language=per_lang, needs=needs)
            for i, (name, _res, per_lang, needs) in enumerate(GRAPH)]  # fmt: skip


def _settings(tmp_path: Path, attempts: int = 3, backoff: float = 0.0) -> Settings:
    s = Settings().resolved(tmp_path)
    s.retries.attempts = attempts
    s.retries.backoff_seconds = backoff
    s.scheduler.mode = "overlap"
    s.scheduler.resources = dict(RESOURCE)  # type: ignore[arg-type]
    return s


def _check_order(log: Log, lanes: dict[str, list[str]] | None = None) -> None:
    by_step = {name: log.spans_of(name) for name, *_ in GRAPH}
    per_lang = {name: pl for name, _, pl, _ in GRAPH}
    # dependencies, per item (and language where both steps are per-language)
    for name, _res, pl, needs in GRAPH:
        for step, key, lang, start, _end in by_step[name]:
            for need in needs:
                ends = [e for _s, k, lg, _st, e in by_step[need] if k == key and (not (pl and per_lang[need])
                                                                                    or lg == lang)]  # fmt: skip
                assert ends, f"{step} ran for {key} without {need}"
                assert start >= max(ends), f"{step} [{key} {lang}] started before {need} ended"
    # step-major inside each resource, in the lane's order
    lanes = lanes or LANES
    for res, names in lanes.items():
        for k, earlier in enumerate(names):
            for later in names[k + 1 :]:
                if by_step[earlier] and by_step[later]:
                    assert max(s[4] for s in by_step[earlier]) <= min(s[3] for s in by_step[later]), (
                        f"{later} started on {res} before every {earlier} was done"
                    )


# the default lane order: the GPU cleans (needs prep only) before it voices (needs text, from the LLM box)
LANES = {"llm": ["prep", "text", "words"], "gpu": ["clean", "voice", "film"], "cpu": ["final"]}


def _lanes(engine: Engine) -> dict[str, list[str]]:
    lanes = lanes_of(engine.steps, engine.resource_of, engine.settings.scheduler.order)
    return {res: [s.name for s in steps] for res, steps in lanes.items()}


def test_lanes_follow_the_resource_overrides_and_the_order(tmp_path: Path) -> None:
    store, _ = _store(tmp_path, 1)
    engine = Engine(store, _settings(tmp_path), steps=_steps(Log()))
    assert _lanes(engine) == LANES
    engine.settings.scheduler.order = "step"
    assert _lanes(engine) == {"llm": ["prep", "text", "words"], "gpu": ["voice", "clean", "film"], "cpu": ["final"]}
    engine.settings.scheduler.resources.pop("words")
    assert _lanes(engine)["cpu"] == ["words", "final"]  # a local backend runs on the CPU


def test_an_order_that_could_deadlock_falls_back_to_step_order(tmp_path: Path) -> None:
    # x1 (gpu) needs y0 (llm), y1 (llm) needs x1: an LLM lane taking y1 before y0 would wait for ever
    store, _ = _store(tmp_path, 1)

    def noop(ctx: StepContext) -> StepResult:
        return StepResult(artifacts={}, backend="test")

    steps = [
        Step(0, "y0", noop),
        Step(1, "x1", noop, needs=("y0",)),
        Step(2, "x2", noop),
        Step(3, "y1", noop, needs=("x1",)),
        Step(4, "y2", noop, needs=("x2",)),
    ]
    settings = _settings(tmp_path)
    settings.scheduler.resources = {"y0": "llm", "y1": "llm", "y2": "llm", "x1": "gpu", "x2": "gpu"}
    lanes = _lanes(Engine(store, settings, steps=steps))
    # on the GPU x2 (no input from the LLM box) goes first; the LLM box keeps y0, y1, y2
    assert lanes == {"llm": ["y0", "y1", "y2"], "gpu": ["x2", "x1"]}
    from vivant.lanes import _deadlock_free

    by_name = {s.name: s for s in steps}
    bad = {"llm": [by_name["y1"], by_name["y0"], by_name["y2"]], "gpu": [by_name["x1"], by_name["x2"]]}
    assert not _deadlock_free(bad, by_name)
    assert _deadlock_free({k: [by_name[n] for n in v] for k, v in lanes.items()}, by_name)


def test_overlap_respects_dependencies_and_step_major_per_resource(tmp_path: Path) -> None:
    store, batch = _store(tmp_path, 4)
    log = Log()
    summary = Engine(store, _settings(tmp_path), steps=_steps(log), sleep=lambda s: None).run(batch)
    assert summary.states == {"COMPLETE": 4}
    assert len(log.spans) == 4 * (2 + 2 * 5)
    _check_order(log)
    # resources overlap in time: the GPU voices paintings while the LLM box still writes texts
    gpu = [(s[3], s[4]) for s in log.spans if RESOURCE[s[0]] == "gpu"]
    llm = [(s[3], s[4]) for s in log.spans if RESOURCE[s[0]] == "llm"]
    assert any(a0 < b1 and b0 < a1 for a0, a1 in gpu for b0, b1 in llm), "no GPU work overlapped LLM work"
    assert all(a.status == AttemptStatus.SUCCEEDED for a in store.attempts(batch_id=batch))
    assert not list((tmp_path / "batches").rglob(".tmp-*"))


def test_overlap_in_step_order(tmp_path: Path) -> None:
    store, batch = _store(tmp_path, 3)
    log = Log()
    settings = _settings(tmp_path)
    settings.scheduler.order = "step"
    assert Engine(store, settings, steps=_steps(log), sleep=lambda s: None).run(batch).states == {"COMPLETE": 3}
    _check_order(log, {"llm": ["prep", "text", "words"], "gpu": ["voice", "clean", "film"], "cpu": ["final"]})


def test_attempts_record_the_resource_and_status_shows_what_runs_where(tmp_path: Path) -> None:
    from vivant.batch import describe

    store, batch = _store(tmp_path, 2)
    seen: list[dict[str, object]] = []

    def peek(ctx: StepContext) -> None:
        if ctx.painting.key == "p0" and ctx.language == "fr":
            seen.extend(describe(store, batch)["running"])

    Engine(store, _settings(tmp_path), steps=_steps(Log(), hooks={"film": peek}), sleep=lambda s: None).run(batch)
    assert {(a.step, a.resource) for a in store.attempts(batch_id=batch)} == {
        (i, res) for i, (_n, res, _pl, _nd) in enumerate(GRAPH)
    }
    mine = [r for r in seen if r["painting"] == "p0" and r["step"] == 4 and r["language"] == "fr"]
    assert mine and mine[0]["resource"] == "gpu"
    assert describe(store, batch)["running"] == []


@pytest.mark.slow
def test_a_real_night_in_overlap_mode_then_redo(tmp_path: Path, paintings_dir: Path) -> None:
    """The ten real steps on the embedded backends, in three lanes at once (their models run side by side)."""
    import json

    from typer.testing import CliRunner

    from vivant.cli import app

    from .conftest import make_workspace, shared_rows
    from .test_night import PORTRAITS, _attempt_rows, _check_videos

    cfg = make_workspace(tmp_path / "ws", shared_rows(paintings_dir, [*PORTRAITS, "van-gogh_the-starry-night.jpg"]))
    lanes = {"prepare": "llm", "script": "llm", "subtitles": "llm", "audio": "gpu", "restore": "gpu",
             "realistic": "gpu", "transition": "gpu", "lipsync": "gpu", "outro": "gpu"}  # fmt: skip
    cfg.write_text(
        cfg.read_text()
        + '\n[scheduler]\nmode = "overlap"\n[scheduler.resources]\n'
        + "".join(f'{k} = "{v}"\n' for k, v in lanes.items())
    )
    runner = CliRunner()
    result = runner.invoke(app, ["night", "--count", "3", "--seed", "1", "--config", str(cfg), "--json"])
    assert result.exit_code == 0, result.output
    status = json.loads(result.output[result.output.index("{") :])
    assert sorted(i["state"] for i in status["items"]) == ["ABORTED", "COMPLETE", "COMPLETE"], status
    rows = _attempt_rows(cfg.parent / "vivant.db")
    done = [(r[0], r[1], r[2]) for r in rows if r[3] == "SUCCEEDED"]
    assert len(done) == len(set(done)) == 2 * (6 * 2 + 5)
    assert len(_check_videos(status, 360, 640, {"fr", "en"})) == 4
    before = len(rows)
    result = runner.invoke(
        app, ["redo", "vermeer_girl-with-a-pearl-earring", "--from", "subtitles", "--run", "--config", str(cfg)]
    )
    assert result.exit_code == 0, result.output
    redone = _attempt_rows(cfg.parent / "vivant.db")[before:]
    assert sorted({r[1] for r in redone}) == [7, 8, 9, 10] and all(r[3] == "SUCCEEDED" for r in redone)
