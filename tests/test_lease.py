"""One live owner per batch: a second process's lease stops `run`, `resume` and `redo` before they change
anything; a dead owner's lease (pid gone, a reused pid, a stale heartbeat from another host) is taken over."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from vivant.cli import app
from vivant.config import Settings
from vivant.engine import Engine
from vivant.errors import BatchBusy
from vivant.states import AttemptStatus, ItemState
from vivant.steps.base import Step, StepContext, StepResult
from vivant.store import Holder, NewPainting, Store

SRC = Path(__file__).resolve().parents[1] / "src"

HOLDER = """
import sys
from pathlib import Path
from vivant.engine import this_process
from vivant.store import Store
store = Store.open(Path(sys.argv[1]))
store.acquire_lease(int(sys.argv[2]), this_process(), stale_after=300)
print("holding", flush=True)
sys.stdin.readline()
"""


def _write(ctx: StepContext) -> StepResult:
    (ctx.out / "out.txt").write_text(ctx.painting.key)
    return StepResult(artifacts={"out": "out.txt"}, backend="test:write")


STEPS = [Step(0, "a", _write), Step(1, "b", _write, needs=("a",))]


def _store(tmp_path: Path, clock: object = None) -> tuple[Store, int]:
    store = Store.open(tmp_path / "vivant.db", **({"clock": clock} if clock else {}))  # type: ignore[arg-type]
    store.add_paintings(
        NewPainting(key=f"p{i}", title=f"Painting {i}", artist="A. Painter", image_path=str(tmp_path / f"p{i}.jpg"))
        for i in range(2)
    )
    ids = [pid for pid, _ in store.painting_genres()]
    return store, store.create_batch(ids, languages=["en"], seed=1)


def _engine(store: Store, tmp_path: Path) -> Engine:
    return Engine(store, Settings().resolved(tmp_path), steps=STEPS, sleep=lambda s: None)


@pytest.fixture
def other_owner(tmp_path: Path):  # type: ignore[no-untyped-def]
    """A real second process holding the lease of batch 1 until it is killed."""
    procs: list[subprocess.Popen[str]] = []

    def start(db: Path, batch: int) -> subprocess.Popen[str]:
        env = {**os.environ, "PYTHONPATH": f"{SRC}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"}
        proc = subprocess.Popen([sys.executable, "-c", HOLDER, str(db), str(batch)], stdin=subprocess.PIPE,
                                stdout=subprocess.PIPE, text=True, env=env)  # fmt: skip
        procs.append(proc)
        assert proc.stdout is not None and proc.stdout.readline().strip() == "holding"
        return proc

    yield start
    for proc in procs:
        if proc.poll() is None:
            proc.kill()
        proc.wait()


def test_a_live_owner_stops_run_and_redo_before_anything_changes(tmp_path: Path, other_owner) -> None:  # type: ignore[no-untyped-def]
    store, batch = _store(tmp_path)
    item = store.items(batch)[0]
    store.set_state(item.id, ItemState.PROCESSING)
    running = store.start_attempt(item.id, 0, "", backend="test", resource="cpu")  # the owner's unit
    tmp = tmp_path / "batches" / f"{batch:04d}" / "p0" / f".tmp-0-a-{running.id}"
    tmp.mkdir(parents=True)
    proc = other_owner(store.path, batch)

    with pytest.raises(BatchBusy) as err:
        _engine(store, tmp_path).run(batch)
    message = str(err.value)
    assert f"batch {batch} is being run by process {proc.pid} on {socket.gethostname()}" in message
    assert "nothing changed" in message and "\n" not in message
    assert store.attempt(running.id).status == AttemptStatus.RUNNING, "the owner's attempt was interrupted"
    assert tmp.is_dir(), "the owner's temporary folder was removed"
    assert len(store.attempts(batch_id=batch)) == 1 and store.batch(batch).status == "RUNNING"
    with pytest.raises(BatchBusy):
        _engine(store, tmp_path).redo(item.id, STEPS[0])
    assert store.item(item.id).state == ItemState.PROCESSING

    proc.send_signal(signal.SIGKILL)  # the owner dies without releasing: its lease is taken over
    proc.wait()
    summary = _engine(store, tmp_path).run(batch)
    assert summary.states == {"COMPLETE": 2}
    assert store.attempt(running.id).status == AttemptStatus.INTERRUPTED
    assert not tmp.exists()
    assert store.lease(batch) is None, "a finished run releases its lease"


def test_resume_says_so_in_one_line_and_changes_nothing(tmp_path: Path, other_owner) -> None:  # type: ignore[no-untyped-def]
    assert CliRunner().invoke(app, ["init", str(tmp_path)]).exit_code == 0
    store, batch = _store(tmp_path)
    store.close()
    proc = other_owner(tmp_path / "vivant.db", batch)
    with Store.open(tmp_path / "vivant.db") as store:
        store.set_state(store.items(batch)[0].id, ItemState.PROCESSING)  # the owner works on it
    for args in (
        ["resume", str(batch)],
        ["resume"],
        ["redo", "p0", "--from", "0", "--run"],
        ["redo", "p1", "--from", "1"],
    ):
        result = CliRunner().invoke(app, [*args, "--config", str(tmp_path / "vivant.toml")])
        assert result.exit_code == 1, (args, result.output)
        assert f"being run by process {proc.pid}" in result.output, args
        assert "Traceback" not in result.output and "resuming batch" not in result.output
    with Store.open(tmp_path / "vivant.db") as store:
        assert store.attempts(batch_id=batch) == []
        assert [i.state for i in store.items(batch)] == [ItemState.PROCESSING, ItemState.PENDING]


def test_a_reused_pid_or_a_stale_heartbeat_from_another_host_is_taken_over(tmp_path: Path) -> None:
    now = [1_000_000.0]
    store, batch = _store(tmp_path, clock=lambda: now[0])
    me = Holder("here", 1, "1")
    # this host, this very pid, but another start time: the pid was reused, the owner is dead
    ghost = Holder(socket.gethostname(), os.getpid(), "not-this-start")
    store.acquire_lease(batch, ghost, stale_after=300)
    taken = store.acquire_lease(batch, me, stale_after=300)
    assert taken is not None and taken.owner == ghost.owner
    # another host: its heartbeat decides
    far = Holder("far-away", 4242, "7")
    now[0] += 1000
    taken = store.acquire_lease(batch, far, stale_after=300)  # mine is 1000 s old, but "here" is not this host
    assert taken is not None and taken.owner == me.owner
    now[0] += 299
    with pytest.raises(BatchBusy):
        store.acquire_lease(batch, me, stale_after=300)
    assert store.heartbeat(batch, far)  # a beat at +299 s
    now[0] += 299
    with pytest.raises(BatchBusy):
        store.acquire_lease(batch, me, stale_after=300)
    now[0] += 2  # 301 s without a beat: stale
    taken = store.acquire_lease(batch, me, stale_after=300)
    assert taken is not None and taken.owner == far.owner
    assert not store.heartbeat(batch, far), "the old owner learns it lost the batch"
    assert store.heartbeat(batch, me)


def test_status_names_the_live_owner(tmp_path: Path, other_owner) -> None:  # type: ignore[no-untyped-def]
    assert CliRunner().invoke(app, ["init", str(tmp_path)]).exit_code == 0
    store, batch = _store(tmp_path)
    store.close()
    proc = other_owner(tmp_path / "vivant.db", batch)
    result = CliRunner().invoke(app, ["status", "--config", str(tmp_path / "vivant.toml")], env={"COLUMNS": "200"})
    assert result.exit_code == 0 and f"being run by process {proc.pid} on {socket.gethostname()}" in result.output
    proc.kill()
    proc.wait()
    result = CliRunner().invoke(app, ["status", "--config", str(tmp_path / "vivant.toml")], env={"COLUMNS": "200"})
    assert "being run by" not in result.output  # a dead owner owns nothing
