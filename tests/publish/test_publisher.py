"""The publisher over a real finished night: the folder exporter publishes exactly the approved videos, at most
``per_day`` paintings a day; a crash in the middle of an upload, then a restart, makes exactly one post; the
TikTok render has no watermark; tokens stay out of the logs."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tests.publish.fakes import FakeTikTok, FakeYouTube
from vivant import config
from vivant.cli import app
from vivant.publish.credentials import load as load_credentials
from vivant.publish.publisher import Publisher
from vivant.review import actions
from vivant.states import ItemState
from vivant.store import Store

TOKEN = "tok-SECRET-abcdefghijklmnop-42"


def _edit(cfg: Path, *pairs: tuple[str, str], append: str = "") -> config.Settings:
    text = cfg.read_text()
    for old, new in pairs:
        assert old in text, old
        text = text.replace(old, new)
    cfg.write_text(text + append)
    return config.load(cfg)


def _credentials(cfg: Path) -> None:
    path = cfg.parent / "credentials.toml"
    path.write_text(f'[youtube]\naccess_token = "{TOKEN}"\n[tiktok]\naccess_token = "{TOKEN}"\n')
    path.chmod(0o600)


def _items(settings: config.Settings) -> list[int]:
    with Store.open(settings.database) as store:
        return [i.id for i in store.items_in_states([ItemState.COMPLETE])]


def test_folder_exporter_publishes_exactly_the_approved_at_most_n_a_day(ws_config: Path) -> None:
    settings = _edit(ws_config, ("per_day = 5", "per_day = 1"))
    first, second = _items(settings)
    with Store.open(settings.database) as store:
        actions.approve(store, settings, first)
        actions.approve(store, settings, second)
        actions.reject(store, settings, second, ["artifacts"])  # withdrawn before it went out
    out = settings.workspace / "published"
    result = CliRunner().invoke(app, ["publish", "run", "--once", "--config", str(ws_config), "--json"])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.output[result.output.index("{") :])
    assert [(p["item"], p["language"]) for p in summary["posted"]] == [(first, "fr"), (first, "en")]
    files = sorted(p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file())
    day = summary["day"]
    stem = "vermeer_girl-with-a-pearl-earring"
    assert files == sorted(f"{day}/{stem}.{lang}.{ext}" for lang in ("fr", "en") for ext in ("mp4", "jpg", "json"))
    meta = json.loads((out / day / f"{stem}.en.json").read_text())
    assert meta["ai_generated"] is True and meta["hashtags"] and "AI" in meta["description"]
    assert meta["language"] == "en" and meta["title"]

    with Store.open(settings.database) as store:
        actions.approve(store, settings, second)  # approved again: it waits for a day with room
        again = Publisher(store, settings).run_once()
        assert again.posted == [] and again.scheduled == 0
        tomorrow = time.time() + 86400
        later = Publisher(store, settings, clock=lambda: tomorrow).run_once()
        assert [(p["item"], p["language"]) for p in later.posted] == [(second, "fr"), (second, "en")]
        posts = store.posts()
        assert [(p.item_id, p.state) for p in posts] == [(first, "POSTED")] * 2 + [(second, "POSTED")] * 2
        assert all(p.url and p.url.startswith("file://") and p.remote_id for p in posts)
        assert len({p.day for p in posts}) == 2
    plan = CliRunner().invoke(app, ["publish", "plan", "--config", str(ws_config), "--json"])
    assert plan.exit_code == 0, plan.output
    assert {line["state"] for line in json.loads(plan.output[plan.output.index("[") :])} == {"POSTED"}


@pytest.mark.parametrize("crash_at", ["first_chunk", "complete"])
def test_a_crash_mid_upload_then_a_restart_makes_exactly_one_post(ws_config: Path, crash_at: str) -> None:
    with FakeYouTube(TOKEN) as yt:
        settings = _edit(
            ws_config,
            ('platforms = ["folder"]', 'platforms = ["youtube"]'),
            ('youtube = ["09:00", "12:00", "15:00", "18:00", "21:00"]', "youtube = []"),
            ("languages = []", 'languages = ["fr"]'),
            append=f'\n[publish.youtube]\napi_base = "{yt.url}"\nchunk_bytes = 262144\n',
        )
        _credentials(ws_config)
        with Store.open(settings.database) as store:
            item = _items(settings)[0]
            actions.approve(store, settings, item)
        cmd = [sys.executable, "-m", "vivant", "publish", "run", "--once", "--config", str(ws_config), "-v"]
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
        yt.rec.kill_pid, yt.rec.kill_after = proc.pid, crash_at
        out, _ = proc.communicate(timeout=120)
        assert proc.returncode == -9, out  # killed in the middle of the upload
        with Store.open(settings.database) as store:
            (post,) = store.posts()
            assert post.state == "UPLOADING" and "session" in post.upload_ref
        assert len(yt.videos) == (1 if crash_at == "complete" else 0)
        done = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=120)
        assert done.returncode == 0, done.stdout + done.stderr
        assert len(yt.videos) == 1
        with Store.open(settings.database) as store:
            (post,) = store.posts()
            assert post.state == "POSTED" and post.remote_id == yt.videos[0]["id"] and post.attempts == 2
        (session,) = yt.sessions.values()
        entry = next((settings.pool_dir / "approved").glob("*.fr.json"))
        video = settings.workspace / json.loads(entry.read_text())["renders"]["default"]["path"]
        assert session["data"] == video.read_bytes()
        inits = [r for r in yt.rec.requests if r[0] == "POST"]
        assert len(inits) == 1  # one session: the restart resumed it
        logs = out + done.stdout + done.stderr + (settings.workspace / "logs" / "vivant.log").read_text()
        assert TOKEN not in logs


def test_tiktok_gets_a_render_without_watermark_and_quota_stops_the_day(
    ws_config: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    with FakeTikTok(TOKEN, polls_before_complete=0) as tt:
        settings = _edit(
            ws_config,
            ('platforms = ["folder"]', 'platforms = ["tiktok", "folder"]'),
            ('tiktok = ["09:30", "12:30", "15:30", "18:30", "21:30"]', "tiktok = []"),
            ("languages = []", 'languages = ["fr"]'),
            append=f'\n[publish.tiktok]\napi_base = "{tt.url}"\n',
        )
        _credentials(ws_config)
        first, second = _items(settings)
        with Store.open(settings.database) as store:
            actions.approve(store, settings, first)
            actions.approve(store, settings, second)
            tt.rec.fail["init"] = [(200, {"data": {}, "error": {"code": "ok"}})]  # no publish id: transient
            now = time.time()
            Publisher(store, settings, clock=lambda: now).run_once()
            posts = {(p.item_id, p.platform): p for p in store.posts()}
            assert {k: p.state for k, p in posts.items()} == {
                (first, "folder"): "POSTED", (first, "tiktok"): "FAILED",
                (second, "folder"): "POSTED", (second, "tiktok"): "POSTED",
            }  # fmt: skip
            entry = json.loads(next((settings.pool_dir / "approved").glob(f"{second}-*.fr.json")).read_text())
            unbranded = settings.workspace / entry["renders"]["unbranded"]["path"]
            default = settings.workspace / entry["renders"]["default"]["path"]
            assert unbranded.is_file() and unbranded.read_bytes() != default.read_bytes()
            (done,) = [p for p in tt.posts.values() if p["status"] == "PUBLISH_COMPLETE"]
            assert b"".join(done["chunks"][k] for k in sorted(done["chunks"])) == unbranded.read_bytes()
            assert _watermark_region_differs(default, unbranded)
            # The retry comes after the backoff; a daily cap then stops TikTok until tomorrow.
            tt.rec.fail["init"] = [(403, {"data": {}, "error": {"code": "spam_risk_too_many_posts", "message": "cap"}})]
            summary = Publisher(store, settings, clock=lambda: now + 120).run_once()
            assert "tiktok" in summary.stopped and not summary.posted
            assert Publisher(store, settings, clock=lambda: now + 600).run_once().posted == []
            tomorrow = Publisher(store, settings, clock=lambda: now + 86400).run_once()
            assert [(p["item"], p["platform"]) for p in tomorrow.posted] == [(first, "tiktok")]
            assert len([p for p in tt.posts.values() if p["status"] == "PUBLISH_COMPLETE"]) == 2
    for record in caplog.records:
        assert TOKEN not in record.getMessage()


def _watermark_region_differs(a: Path, b: Path) -> bool:
    """The top-left corner (where step 9 draws the watermark) differs between the two renders after the title."""
    import numpy as np

    from vivant.backends import ffmpeg

    def frame(path: Path) -> np.ndarray:
        png = path.with_suffix(".probe.png")
        ffmpeg.run(["-ss", "4", "-i", path, "-frames:v", "1", png])
        import cv2

        img = cv2.imread(str(png))
        png.unlink()
        h, w = img.shape[:2]
        return img[int(0.06 * h) : int(0.13 * h), int(0.04 * w) : int(0.6 * w)].astype(int)

    return bool(np.abs(frame(a) - frame(b)).mean() > 2.0)


def test_credentials_file_must_be_private(ws_config: Path) -> None:
    from vivant.errors import ConfigError

    settings = config.load(ws_config)
    path = ws_config.parent / "credentials.toml"
    path.write_text(f'[youtube]\naccess_token = "{TOKEN}"\n')
    path.chmod(0o644)
    with pytest.raises(ConfigError, match="chmod 600") as err:
        load_credentials(settings)
    assert TOKEN not in str(err.value)
    path.chmod(0o600)
    creds = load_credentials(settings)
    assert TOKEN not in repr(creds) and TOKEN not in str(creds.get("youtube", "access_token"))
    path.write_text(f'[youtube]\naccess_token = "{TOKEN}\n')  # broken TOML: the message must not quote the line
    with pytest.raises(ConfigError) as err:
        load_credentials(settings)
    assert TOKEN not in str(err.value)
