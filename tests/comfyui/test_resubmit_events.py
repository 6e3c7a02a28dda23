"""A server loss leaves a trace: the job sent again is an event (old and new prompt ids) in the events table,
in `vivant status` and in the report (as outage, not "other"); a server back up is used at once."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from vivant.backends.comfyui.jobs import JobHooks
from vivant.batch import describe
from vivant.engine import Engine
from vivant.events import Event, EventBus
from vivant.night import event_recorder
from vivant.report import build_report
from vivant.report.terminal import incident_line

from .server import ComfyTestServer
from .test_client import MakePool, restore_job
from .test_engine_comfyui import STEPS, _setup


def _when(condition: Callable[[], bool], then: Callable[[], None]) -> threading.Thread:
    """Run ``then`` in a thread once ``condition`` holds (polled; a slow machine only makes it later)."""

    def run() -> None:
        deadline = time.monotonic() + 60
        while not condition() and time.monotonic() < deadline:
            time.sleep(0.01)
        then()

    t = threading.Thread(target=run, daemon=True)
    t.start()
    return t


def test_a_job_lost_to_a_restart_is_an_event_in_status_and_report(
    server: ComfyTestServer, tmp_path: Path, image: Path
) -> None:
    server.faults.node_seconds = 0.3
    store, batch, roles, settings = _setup(tmp_path, server.url, image, 1)
    seen: list[Event] = []
    bus = EventBus()
    bus.subscribe(seen.append)
    bus.subscribe(event_recorder(store))  # what the CLI records
    restart = _when(lambda: server.stats.posts >= 1, lambda: server.restart(down_seconds=0.5))
    try:
        summary = Engine(store, settings, roles=roles, steps=STEPS, sleep=lambda s: None, bus=bus).run(batch)
    finally:
        roles.comfyui.close()
        restart.join(60)
    assert summary.states == {"COMPLETE": 1}
    (attempt,) = store.attempts(batch_id=batch)
    rows = store.events(batch, "unit_resubmitted")
    assert len(rows) == 1, store.events(batch)
    _at, _kind, item_id, data = rows[0]
    assert item_id == attempt.item_id and data["step"] == 0 and data["painting"] == "p0"
    assert data["remote_id"] == attempt.remote_id and data["old_remote_id"] not in ("", attempt.remote_id)
    assert data["old_endpoint"] == server.url and data["reason"].startswith("lost")
    assert data["lost_seconds"] > 0
    assert [e.kind for e in seen].index("unit_resubmitted") < [e.kind for e in seen].index("unit_succeeded")

    desc = describe(store, batch)
    (incident,) = [i for i in desc["incidents"] if i["kind"] == "unit_resubmitted"]
    assert incident["old_remote_id"] == data["old_remote_id"]
    report = build_report(store, settings, batch)
    step = report.figures.steps[0]
    assert step.resubmitted == 1 and step.outage == pytest.approx(data["lost_seconds"])
    assert any(n.startswith("Server losses: 1 job(s) sent again") for n in report.figures.notes)
    line = incident_line(next(i for i in report.figures.incidents if i.kind == "unit_resubmitted"))
    assert f"prompt {data['old_remote_id']} → {attempt.remote_id}" in line


def test_a_server_back_up_is_used_at_once_without_a_false_down(
    server: ComfyTestServer, make_pool: MakePool, image: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="vivant.backends.comfyui")
    pool = make_pool(server.url)
    client = pool.endpoints[0].client
    client.t.reconnect_min = client.t.reconnect_max = 3600.0  # a dropped socket would wait an hour to retry
    pool.run(restore_job(image, tmp_path / "a"))  # the socket is open
    server.restart()
    notices: list[tuple[str, dict[str, Any]]] = []
    box: list[Any] = []
    hooks = JobHooks(notice=lambda kind, **data: notices.append((kind, data)))
    job = threading.Thread(target=lambda: box.append(pool.run(restore_job(image, tmp_path / "b"), hooks)), daemon=True)
    job.start()
    job.join(120)  # without the wake-up it would wait out the hour-long pause (then fail over and over)
    assert box, "the job did not end: the socket waited out its reconnection pause"
    result = box[0]
    assert result.path.is_file() and result.submissions == 1
    assert "is down" not in caplog.text and pool.stats.counts["moved"] == 0 and notices == []


def test_the_progress_view_prints_a_resubmission() -> None:
    from rich.console import Console

    from vivant.cli import ProgressView

    console = Console(record=True, width=300)
    event = Event(kind="unit_resubmitted", batch_id=1, item_id=1, painting="p0", step=6, step_name="lipsync",
                  language="en", data={"old_remote_id": "a1", "remote_id": "b2", "endpoint": "http://gpu:8188",
                                       "reason": "lost: the server restarted without it", "lost_seconds": 7.5,
                                       "attempt": 1, "at": 1.0})  # fmt: skip
    ProgressView(console, quiet=True).on_event(event)
    assert "sent again: step 6 p0 [en]: prompt a1 → b2 on http://gpu:8188" in console.export_text()
