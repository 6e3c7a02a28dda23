"""A whole night with every ComfyUI-capable step pointed at the loopback ComfyUI stand-in (through the CLI)."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest
from typer.testing import CliRunner

from vivant.backends.ffmpeg import probe
from vivant.cli import app

from ..conftest import make_workspace, shared_rows
from .conftest import STANDIN
from .server import ComfyTestServer

pytestmark = pytest.mark.slow
runner = CliRunner()
COMFY_STEPS = ("audio", "restore", "realistic", "transition", "lipsync", "outro")
PORTRAITS = ["vermeer_girl-with-a-pearl-earring.jpg"]


def comfy_workspace(tmp_path: Path, paintings_dir: Path, url: str) -> Path:
    cfg = make_workspace(tmp_path / "ws", shared_rows(paintings_dir, PORTRAITS))
    text = cfg.read_text()
    for step in COMFY_STEPS:
        assert f'\n{step} = "local"' in text
        text = text.replace(f'\n{step} = "local"', f'\n{step} = "comfyui"')
    workflows = "\n".join(f'{s} = "{STANDIN / (s + ".json")}"' for s in COMFY_STEPS)
    text += (f'\n[comfyui]\nendpoints = ["{url}"]\npoll_interval = 0.2\nvideo_width = 160\nvideo_height = 288\n'
             f"video_fps = 8\njob_timeout = 60\n\n[comfyui.workflows]\n{workflows}\n")  # fmt: skip
    cfg.write_text(text)
    return cfg


def test_night_on_comfyui_finishes_with_valid_videos(tmp_path: Path, paintings_dir: Path) -> None:
    with ComfyTestServer(tmp_path / "comfy") as srv:
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
    con = sqlite3.connect(cfg.parent / "vivant.db")
    rows = con.execute("SELECT step, backend, resource, remote_id, queue_wait, compute FROM attempts"
                       " WHERE status='SUCCEEDED' AND step IN (2,3,4,5,6,8)").fetchall()  # fmt: skip
    con.close()
    assert len(rows) == 8
    for step, backend, resource, remote_id, queue_wait, compute in rows:
        assert backend.startswith("comfyui:") and resource == "gpu", (step, backend)
        assert remote_id and queue_wait is not None and compute is not None and compute < 30
