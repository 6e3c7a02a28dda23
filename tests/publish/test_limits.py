"""Platform realities: unaudited YouTube projects upload private videos only, unaudited TikTok clients post
SELF_ONLY, every platform has a cap of posts in 24 hours that the publisher keeps, YouTube gets
selfDeclaredMadeForKids explicitly; `publish plan` and `doctor` say so."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

from pydantic import SecretStr
from typer.testing import CliRunner

from tests.publish.fakes import FakeInstagram, FakeTikTok, FakeYouTube
from vivant import config
from vivant.cli import app
from vivant.config import TikTokSettings, YouTubeSettings
from vivant.publish.base import PostJob, PostMetadata
from vivant.publish.credentials import Credentials
from vivant.publish.publisher import Publisher
from vivant.publish.tiktok import TikTok
from vivant.publish.youtube import YouTube
from vivant.review import actions
from vivant.states import ItemState
from vivant.store import Store

TOKEN = "planted-token-for-the-limits-0042"
META = PostMetadata(title="T", description="D", hashtags=["#art"], language="en", painting="p")


def _job(tmp_path: Path) -> PostJob:
    video = tmp_path / "v.mp4"
    video.write_bytes(os.urandom(300_000))
    return PostJob(post_id=1, platform="x", video=video, thumbnail=None, meta=META, publish_at=4102444800.0)


def _creds() -> Credentials:
    return Credentials({p: {"access_token": SecretStr(TOKEN), "user_id": SecretStr("17841400000000001")}
                        for p in ("youtube", "tiktok", "instagram")})  # fmt: skip


def test_unaudited_youtube_uploads_private_and_always_declares_made_for_kids(tmp_path: Path) -> None:
    with FakeYouTube(TOKEN) as yt:
        for audited, privacy, scheduled in ((False, "private", False), (True, "private", True)):
            settings = YouTubeSettings(api_base=yt.url, chunk_bytes=262144, privacy="public", audited=audited)
            YouTube(settings, _creds(), sleep=lambda s: None).publish(_job(tmp_path), lambda ref: None)
            status = yt.videos[-1]["status"]
            assert status["privacyStatus"] == privacy and ("publishAt" in status) is scheduled
            assert status["selfDeclaredMadeForKids"] is False


def test_unaudited_tiktok_posts_self_only(tmp_path: Path) -> None:
    with FakeTikTok(TOKEN, polls_before_complete=0) as tt:
        for audited, level in ((False, "SELF_ONLY"), (True, "PUBLIC_TO_EVERYONE")):
            settings = TikTokSettings(api_base=tt.url, privacy_level="PUBLIC_TO_EVERYONE", audited=audited)
            TikTok(settings, _creds(), sleep=lambda s: None).publish(_job(tmp_path), lambda ref: None)
            assert list(tt.posts.values())[-1]["post_info"]["privacy_level"] == level


def test_the_publisher_keeps_a_platforms_cap_in_24_hours_and_the_plan_says_it(ws_config: Path) -> None:
    with FakeInstagram(TOKEN) as ig:
        text = ws_config.read_text()
        for old, new in (('platforms = ["folder"]', 'platforms = ["instagram"]'),
                         ('instagram = ["10:00", "13:00", "16:00", "19:00", "22:00"]', "instagram = []"),
                         ("languages = []", 'languages = ["fr"]')):  # fmt: skip
            assert old in text
            text = text.replace(old, new)
        ws_config.write_text(text + f'\n[publish.instagram]\napi_base = "{ig.url}/v21.0"\nupload_base = "{ig.url}"\n'
                                    "posts_per_24h = 1\n")  # fmt: skip
        settings = config.load(ws_config)
        with Store.open(settings.database) as store:
            first, second = (i.id for i in store.items_in_states([ItemState.COMPLETE]))
            actions.approve(store, settings, first)
            actions.approve(store, settings, second)
            now = time.time()
            publisher = Publisher(store, settings, credentials=_creds(), clock=lambda: now)
            summary = publisher.run_once()
            assert [(p["item"], p["platform"]) for p in summary.posted] == [(first, "instagram")]
            assert "posts_per_24h = 1" in summary.stopped["instagram"]
            assert len(ig.media) == 1
            # 24 hours later the second goes out.
            later = Publisher(store, settings, credentials=_creds(), clock=lambda: now + 86400 + 60).run_once()
            assert [(p["item"], p["platform"]) for p in later.posted] == [(second, "instagram")]
    ws_config.write_text(
        ws_config.read_text().replace('platforms = ["instagram"]', 'platforms = ["instagram", "youtube"]')
    )
    plan = CliRunner().invoke(app, ["publish", "plan", "--config", str(ws_config)], env={"COLUMNS": "300"})
    assert plan.exit_code == 0, plan.output
    out = " ".join(plan.output.split())
    assert "instagram: at most 1 post(s) in 24 hours" in out
    assert "youtube: not audited (publish.youtube.audited = false): uploads stay private" in out
    assert "made for kids: no (declared)" in out
    lines = json.loads(CliRunner().invoke(app, ["publish", "plan", "--config", str(ws_config), "--json"]).output)
    assert {(line["platform"], line["privacy"]) for line in lines} >= {("youtube", "private")}
    doctor = CliRunner().invoke(app, ["doctor", "--config", str(ws_config)], env={"COLUMNS": "300"})
    assert "publish youtube" in doctor.output and "not audited" in doctor.output
