"""Whole nights on the embedded backends: real paintings, real ffmpeg, real SQLite, the real CLI.

The crash test runs ``vivant night`` as a subprocess, kills it with SIGKILL at several points (after a step,
inside a step, inside ffmpeg), and checks that ``vivant resume`` ends with every (item, step, language)
succeeded exactly once and valid videos. Nights here render at a small size to keep the suite fast; the demo
test renders the real 1080x1920 output.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from vivant.backends.ffmpeg import probe
from vivant.backends.local.voice import installed
from vivant.cli import app

from .conftest import make_workspace, shared_rows

pytestmark = pytest.mark.slow
runner = CliRunner()
VIVANT = [sys.executable, "-m", "vivant"]
PORTRAITS = ["vermeer_girl-with-a-pearl-earring.jpg", "rembrandt_self-portrait-with-two-circles.jpg"]


def _small_workspace(tmp_path: Path, paintings_dir: Path, files: list[str]) -> Path:
    return make_workspace(tmp_path / "ws", shared_rows(paintings_dir, files))


def _attempt_rows(db: Path) -> list[tuple[int, int, str, str, int]]:
    con = sqlite3.connect(db)
    try:
        return con.execute("SELECT item_id, step, language, status, superseded FROM attempts ORDER BY id").fetchall()
    finally:
        con.close()


def _check_step_major(rows: list[tuple[int, int, str, str, int]]) -> None:
    steps = [r[1] for r in rows if r[3] in ("SUCCEEDED", "REFUSED")]
    assert steps == sorted(steps), f"steps out of order: {steps}"


def _check_videos(status: dict[str, object], width: int, height: int, langs: set[str]) -> list[Path]:
    videos = []
    for item in status["items"]:  # type: ignore[attr-defined]
        if item["state"] != "COMPLETE":
            continue
        assert set(item["videos"]) == langs
        for lang, path in item["videos"].items():
            info = probe(Path(path))
            assert (info.width, info.height) == (width, height), path
            assert info.video_codec == "h264" and info.audio_codec == "aac", info
            assert Path(item["thumbnails"][lang]).stat().st_size > 1000
            videos.append(Path(path))
    return videos


def test_night_runs_step_major_and_records_every_attempt(tmp_path: Path, paintings_dir: Path) -> None:
    cfg = _small_workspace(tmp_path, paintings_dir, [*PORTRAITS, "van-gogh_the-starry-night.jpg"])
    result = runner.invoke(app, ["night", "--count", "3", "--seed", "1", "--config", str(cfg), "--json"])
    assert result.exit_code == 0, result.output
    status = json.loads(result.output[result.output.index("{") :])
    states = {i["painting"]: i["state"] for i in status["items"]}
    assert states == {
        "vermeer_girl-with-a-pearl-earring": "COMPLETE",
        "rembrandt_self-portrait-with-two-circles": "COMPLETE",
        "van-gogh_the-starry-night": "ABORTED",
    }, status
    aborted = next(i for i in status["items"] if i["state"] == "ABORTED")
    assert "no person" in aborted["reason"] or "face" in aborted["reason"]
    sitters = {i["painting"]: i["sitter"] for i in status["items"]}
    assert sitters["vermeer_girl-with-a-pearl-earring"]["gender"] == "female"
    assert sitters["vermeer_girl-with-a-pearl-earring"]["source"] == "title"
    assert sitters["rembrandt_self-portrait-with-two-circles"]["gender"] == "male"
    rows = _attempt_rows(cfg.parent / "vivant.db")
    _check_step_major(rows)
    done = [(r[0], r[1], r[2]) for r in rows if r[3] == "SUCCEEDED"]
    assert len(done) == len(set(done)) == 2 * (6 * 2 + 5)  # 6 per-language steps (QA too) × 2 + 5 others, per painting
    videos = _check_videos(status, 360, 640, {"fr", "en"})
    assert len(videos) == 4
    pool = sorted(p.name for p in (cfg.parent / "pool").iterdir())
    assert "vermeer_girl-with-a-pearl-earring.fr.mp4" in pool and "vermeer_girl-with-a-pearl-earring.en.jpg" in pool
    vermeer = next(i for i in status["items"] if i["painting"] == "vermeer_girl-with-a-pearl-earring")
    # template script, CPU stand-ins, and espeak-ng (fr) where Debian's voices are missing
    espeak_fr = not installed("pico:fr-FR") and not installed("mbrola:fr1")
    assert vermeer["degraded_steps"] == ([1, 2, 4, 5, 6, 8] if espeak_fr else [1, 4, 5, 6, 8])
    assert vermeer["voices"]["fr"].startswith("local:") and vermeer["voices"]["en"].startswith("local:")
    assert json.loads((Path(vermeer["videos"]["fr"]).parents[1] / "4-realistic" / "realistic.json").read_text())[
        "degraded"
    ]

    # redo from the subtitles: only steps 7 to 10 run again, and the painting is COMPLETE again
    before = len(rows)
    result = runner.invoke(
        app, ["redo", "vermeer_girl-with-a-pearl-earring", "--from", "subtitles", "--run", "--config", str(cfg)]
    )
    assert result.exit_code == 0, result.output
    rows = _attempt_rows(cfg.parent / "vivant.db")
    redone = rows[before:]
    assert sorted({r[1] for r in redone}) == [7, 8, 9, 10] and all(r[3] == "SUCCEEDED" for r in redone)
    assert len(redone) == 2 + 1 + 2 + 2
    status = json.loads(runner.invoke(app, ["status", "--config", str(cfg), "--json"]).output)
    assert {i["painting"]: i["state"] for i in status["items"]}["vermeer_girl-with-a-pearl-earring"] == "COMPLETE"


# -- crash and resume -------------------------------------------------------------------------------------------


def _children(pid: int) -> list[tuple[int, str]]:
    out = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
        except OSError:
            continue
        comm = text[text.index("(") + 1 : text.rindex(")")]
        ppid = int(text[text.rindex(")") + 2 :].split()[1])
        if ppid == pid:
            out.append((int(stat.parent.name), comm))
    return out


def _query(db: Path, sql: str) -> list[tuple[object, ...]]:
    try:
        con = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5)
        try:
            return con.execute(sql).fetchall()
        finally:
            con.close()
    except sqlite3.Error:
        return []


@pytest.fixture
def spawn() -> Iterator[Callable[[list[str]], subprocess.Popen[bytes]]]:
    procs: list[subprocess.Popen[bytes]] = []

    def start(args: list[str]) -> subprocess.Popen[bytes]:
        p = subprocess.Popen(
            [*VIVANT, *args], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True
        )
        procs.append(p)
        return p

    yield start
    for p in procs:  # leave no orphan ffmpeg behind
        with contextlib.suppress(ProcessLookupError):
            os.killpg(p.pid, signal.SIGKILL)
        p.wait()


def _kill_when(proc: subprocess.Popen[bytes], condition: Callable[[], bool], what: str, timeout: float = 240) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            err = proc.stderr.read().decode() if proc.stderr else ""
            pytest.fail(f"vivant exited ({proc.returncode}) before {what}: {err[-2000:]}")
        if condition():
            os.kill(proc.pid, signal.SIGKILL)  # the main process only, as a crash would
            proc.wait()
            return
        time.sleep(0.02)
    pytest.fail(f"timed out waiting for {what}")


def test_sigkill_at_several_points_then_resume(
    tmp_path: Path, paintings_dir: Path, spawn: Callable[[list[str]], subprocess.Popen[bytes]]
) -> None:
    cfg = _small_workspace(tmp_path, paintings_dir, PORTRAITS)
    db = cfg.parent / "vivant.db"
    base = ["--config", str(cfg)]

    # 1. between steps: right after step 3 has finished for the whole batch
    p = spawn(["night", "--count", "2", "--seed", "3", *base])
    _kill_when(p, lambda: bool(_query(db, "SELECT 1 FROM events WHERE kind='step_finished' AND "
                                         "json_extract(data, '$.step')=3")), "step 3 to finish")  # fmt: skip
    # 2. inside a step: while a lip-sync attempt is running
    p = spawn(["resume", *base])
    _kill_when(p, lambda: bool(_query(db, "SELECT 1 FROM attempts WHERE step=6 AND status='RUNNING'")),
               "a lip-sync attempt")  # fmt: skip
    # 3. inside ffmpeg: while the final render's ffmpeg is a child of vivant
    p = spawn(["resume", *base])
    _kill_when(
        p,
        lambda: (
            bool(_query(db, "SELECT 1 FROM attempts WHERE step=9 AND status='RUNNING'"))
            and any("ffmpeg" in comm for _, comm in _children(p.pid))
        ),
        "ffmpeg in step 9",
    )
    rows = _attempt_rows(db)
    assert [r for r in rows if r[3] == "RUNNING"], "the kill should leave a running attempt behind"

    result = runner.invoke(app, ["resume", *base, "--json"])
    assert result.exit_code == 0, result.output
    rows = _attempt_rows(db)
    assert not [r for r in rows if r[3] == "RUNNING"]
    assert len([r for r in rows if r[3] == "INTERRUPTED"]) >= 2
    succeeded = [(r[0], r[1], r[2]) for r in rows if r[3] == "SUCCEEDED"]
    assert len(succeeded) == len(set(succeeded)) == 2 * 17, "a unit succeeded twice or not at all"
    _check_step_major([r for r in rows if r[1] <= 3])
    status = json.loads(runner.invoke(app, ["status", *base, "--json"]).output)
    assert {i["state"] for i in status["items"]} == {"COMPLETE"}
    assert len(_check_videos(status, 360, 640, {"fr", "en"})) == 4
    assert not list((cfg.parent / "batches").rglob(".tmp-*"))
