"""A whole night with every ComfyUI-capable step pointed at the loopback ComfyUI stand-in (through the CLI)."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest
from typer.testing import CliRunner

from vivant.backends.comfyui import pool as pool_module
from vivant.backends.comfyui.client import Timeouts
from vivant.backends.ffmpeg import probe
from vivant.cli import app

from ..conftest import make_workspace, shared_rows
from .conftest import STANDIN
from .server import ComfyTestServer

pytestmark = pytest.mark.slow


@pytest.fixture(autouse=True)
def fast_tuning(monkeypatch: pytest.MonkeyPatch) -> None:
    """A whole night polls a silent socket sooner; requests and downloads get more time than in production, as
    the stand-in server encodes real video on the same (maybe loaded) CPUs as the night."""
    monkeypatch.setattr(pool_module, "TIMEOUTS", Timeouts(request=120.0, download_stall=120.0, poll_interval=0.2,
                                                          down_after=120.0))  # fmt: skip


runner = CliRunner()
COMFY_STEPS = ("audio", "restore", "realistic", "transition", "lipsync", "outro")
PORTRAITS = ["vermeer_girl-with-a-pearl-earring.jpg"]


def comfy_workspace(tmp_path: Path, paintings_dir: Path, url: str, portraits: list[str] = PORTRAITS) -> Path:
    cfg = make_workspace(tmp_path / "ws", shared_rows(paintings_dir, portraits))
    text = cfg.read_text()
    for step in COMFY_STEPS:
        assert f'\n{step} = "local"' in text
        text = text.replace(f'\n{step} = "local"', f'\n{step} = "comfyui"')
    workflows = "\n".join(f'{s} = "{STANDIN / (s + ".json")}"' for s in COMFY_STEPS)
    text += (f'\n[comfyui]\nendpoints = ["{url}"]\nvideo_width = 160\nvideo_height = 288\n'
             f"video_fps = 8\njob_timeout = 60\n\n[comfyui.workflows]\n{workflows}\n")  # fmt: skip
    cfg.write_text(text)
    return cfg


@pytest.mark.parametrize("flavour", ["0.3.64", "2026"])
def test_night_on_comfyui_finishes_with_valid_videos(tmp_path: Path, paintings_dir: Path, flavour: str) -> None:
    """The recorded 0.3.64 protocol, and a 2026 server with the jobs API (status and cancel through it)."""
    with ComfyTestServer(tmp_path / "comfy", flavour=flavour) as srv:
        cfg = comfy_workspace(tmp_path, paintings_dir, srv.url)
        doctor = runner.invoke(app, ["doctor", "--config", str(cfg)])
        assert "comfyui" in doctor.output and "restore.json: ok" in doctor.output, doctor.output
        result = runner.invoke(app, ["night", "--count", "1", "--seed", "1", "--config", str(cfg), "--json"])
        assert result.exit_code == 0, result.output
        status = json.loads(result.output[result.output.index("{") :])
        assert {i["state"] for i in status["items"]} == {"COMPLETE"}, status
        for item in status["items"]:
            for path in item["videos"].values():
                info = probe(Path(path))
                assert (info.width, info.height) == (360, 640)
                assert info.video_codec == "h264" and info.audio_codec == "aac"
        # steps 3, 4, 5, 8 once, steps 2 and 6 once per language; the two languages were queued together
        assert srv.stats.posts == 4 + 2 * 2 and len(srv.stats.runs) == srv.stats.posts
        if flavour == "2026":
            assert srv.route_count("GET /history/{pid}", "GET /queue") == 0, "the jobs API replaces them"
            assert srv.route_count("GET /api/jobs/{job_id}") >= srv.stats.posts
    con = sqlite3.connect(cfg.parent / "vivant.db")
    rows = con.execute("SELECT step, backend, resource, remote_id, queue_wait, compute FROM attempts"
                       " WHERE status='SUCCEEDED' AND step IN (2,3,4,5,6,8)").fetchall()  # fmt: skip
    con.close()
    assert len(rows) == 8
    for step, backend, resource, remote_id, queue_wait, compute in rows:
        assert backend.startswith("comfyui:") and resource == "gpu", (step, backend)
        assert remote_id and queue_wait is not None and compute is not None and compute >= 0  # the server's figure


def test_overlap_night_on_two_gpu_boxes_and_a_tts_box(tmp_path: Path, paintings_dir: Path) -> None:
    """Adding a GPU box is one URL; moving speech to the LLM box's ComfyUI is two lines."""
    with (
        ComfyTestServer(tmp_path / "gpu1") as gpu1,
        ComfyTestServer(tmp_path / "gpu2") as gpu2,
        ComfyTestServer(tmp_path / "llm") as box,
    ):
        for srv in (gpu1, gpu2, box):
            srv.faults.node_seconds = 0.02
        cfg = comfy_workspace(tmp_path, paintings_dir, gpu1.url,
                              [*PORTRAITS, "rembrandt_self-portrait-with-two-circles.jpg"])  # fmt: skip
        text = cfg.read_text().replace(f'endpoints = ["{gpu1.url}"]', f'endpoints = ["{gpu1.url}", "{gpu2.url}"]')
        text += f'\n[comfyui.pools]\nllm = ["{box.url}"]\n\n[scheduler]\nmode = "overlap"\n'
        text += '\n[scheduler.resources]\naudio = "llm"\n'
        cfg.write_text(text)
        doctor = runner.invoke(app, ["doctor", "--config", str(cfg)], env={"COLUMNS": "300"})
        assert doctor.exit_code == 0, doctor.output
        assert f"{box.url} │ ok │" in doctor.output and "(llm pool: audio)" in doctor.output, doctor.output
        assert "(gpu pool: restore, realistic, transition, lipsync, outro)" in doctor.output
        result = runner.invoke(app, ["night", "--count", "2", "--seed", "3", "--config", str(cfg), "--json"])
        assert result.exit_code == 0, result.output
        status = json.loads(result.output[result.output.index("{") :])
        assert {i["state"] for i in status["items"]} == {"COMPLETE"}, status
        assert len([v for i in status["items"] for v in i["videos"].values()]) == 4
        assert len(box.stats.submitted) == 2 * 2 and len(box.stats.runs) == 4  # speech: 2 paintings x FR + EN
        gpu_jobs = len(gpu1.stats.runs) + len(gpu2.stats.runs)
        assert gpu_jobs == 2 * (4 + 2) and gpu1.stats.runs and gpu2.stats.runs  # 3, 4, 5, 8 + 6 per language
    con = sqlite3.connect(cfg.parent / "vivant.db")
    rows = con.execute("SELECT step, resource, endpoint FROM attempts WHERE status='SUCCEEDED'"
                       " AND step IN (2,3,4,5,6,8)").fetchall()  # fmt: skip
    con.close()
    assert {(r, e) for s, r, e in rows if s == 2} == {("llm", box.url)}
    assert {e for s, r, e in rows if s != 2} == {gpu1.url, gpu2.url}
    assert {r for s, r, e in rows if s != 2} == {"gpu"}


def test_night_45_s_narration_one_clip_from_windows_on_two_endpoints(tmp_path: Path, paintings_dir: Path) -> None:
    """Must-show of issue 12: a 45 s narration and a 5 s window make one 45 s lip-sync clip from 9-10 jobs
    spread over two endpoints (independent windows)."""
    speech = json.loads((STANDIN / "audio.json").read_text())
    speech["1"]["inputs"]["duration"] = 45.0
    speech["1"]["_meta"]["title"] = "a 45 s narration"
    (tmp_path / "audio45.json").write_text(json.dumps(speech))
    with ComfyTestServer(tmp_path / "a") as a, ComfyTestServer(tmp_path / "b", flavour="2026") as b:
        cfg = comfy_workspace(tmp_path, paintings_dir, a.url)
        text = cfg.read_text().replace(f'endpoints = ["{a.url}"]', f'endpoints = ["{a.url}", "{b.url}"]')
        text = text.replace('languages = ["fr", "en"]', 'languages = ["en"]', 1)
        text = text.replace("video_width = 160\nvideo_height = 288", "video_width = 64\nvideo_height = 64")
        text = text.replace(f'audio = "{STANDIN / "audio.json"}"', f'audio = "{tmp_path / "audio45.json"}"')
        text = text.replace("job_timeout = 60\n", 'job_timeout = 60\nlipsync_window = "5s"\nlipsync_mode = '
                            '"independent"\n')  # fmt: skip
        cfg.write_text(text)
        result = runner.invoke(app, ["night", "--count", "1", "--seed", "1", "--config", str(cfg), "--json"])
        assert result.exit_code == 0, result.output
        status = json.loads(result.output[result.output.index("{") :])
        assert {i["state"] for i in status["items"]} == {"COMPLETE"}, status
        runs = len(a.stats.runs) + len(b.stats.runs)
        windows = runs - 5  # steps 2, 3, 4, 5, 8 once each (one language); the rest are lip-sync windows
        assert 9 <= windows <= 10, windows
        lipsync_runs = {srv.url: len(srv.stats.runs) for srv in (a, b)}
        assert all(n >= 2 for n in lipsync_runs.values()), f"windows on both endpoints: {lipsync_runs}"
    ws = cfg.parent
    con = sqlite3.connect(ws / "vivant.db")
    paths = dict(con.execute("SELECT step, path FROM artifacts WHERE (step = 6 AND kind = 'video')"
                             " OR (step = 2 AND kind = 'audio')").fetchall())  # fmt: skip
    con.close()
    clip, narration = (Path(paths[k]) if Path(paths[k]).is_absolute() else ws / paths[k] for k in (6, 2))
    assert abs(probe(narration).duration - 45.0) < 0.1
    assert abs(probe(clip).duration - probe(narration).duration) <= 1 / 15, "as long as the narration"
