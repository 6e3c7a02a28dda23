"""Each adapter against a loopback server that speaks its API: auth header, resumable or chunked upload, status
polling, error and quota answers. No token ever reaches a log line or an exception."""

from __future__ import annotations

import logging
import os
from pathlib import Path

import pytest
from pydantic import SecretStr

from tests.publish.fakes import FakeInstagram, FakeTikTok, FakeYouTube
from vivant.config import InstagramSettings, TikTokSettings, YouTubeSettings
from vivant.publish.base import PostJob, PostMetadata, StopForToday
from vivant.publish.credentials import Credentials
from vivant.publish.instagram import Instagram
from vivant.publish.tiktok import TikTok
from vivant.publish.youtube import YouTube

TOKEN = "ya29.A0-very-secret-token-0123456789"
META = PostMetadata(
    title="Girl with a Pearl Earring speaks",
    description="I have waited.\n\nMade with AI.",
    hashtags=["#art", "#vermeer"],
    language="en",
    ai_disclosure="Made with AI.",
    painting="vermeer",
)


def _creds(**extra: str) -> Credentials:
    tables = {p: {"access_token": SecretStr(TOKEN)} for p in ("youtube", "tiktok", "instagram")}
    tables["instagram"]["user_id"] = SecretStr("17841400000000001")
    for k, v in extra.items():
        platform, key = k.split("__")
        tables[platform][key] = SecretStr(v)
    return Credentials(tables)


def _video(tmp_path: Path, size: int) -> Path:
    path = tmp_path / "video.mp4"
    path.write_bytes(os.urandom(size))
    return path


def _job(video: Path, **kw: object) -> PostJob:
    return PostJob(post_id=1, platform="x", video=video, thumbnail=None, meta=META, **kw)  # type: ignore[arg-type]


def _no_token_in(caplog: pytest.LogCaptureFixture) -> None:
    for record in caplog.records:
        assert TOKEN not in record.getMessage(), record.getMessage()


def test_youtube_resumable_upload_in_chunks_survives_a_503(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    video = _video(tmp_path, 700_000)
    with FakeYouTube(TOKEN) as yt:
        yt.rec.fail["chunk"] = [(503, {"error": {"code": 503, "message": "backend error"}})]
        refs: list[dict[str, object]] = []
        settings = YouTubeSettings(api_base=yt.url, chunk_bytes=262144, privacy="public", audited=True)
        adapter = YouTube(settings, _creds(), sleep=lambda s: None)
        result = adapter.publish(_job(video, publish_at=4102444800.0), refs.append)
        assert result.remote_id == "yt001" and result.url == "https://www.youtube.com/shorts/yt001"
        assert len(yt.videos) == 1
        (session,) = yt.sessions.values()
        assert session["data"] == video.read_bytes()
        status = session["resource"]["status"]
        assert status["containsSyntheticMedia"] is True
        assert status["privacyStatus"] == "private" and status["publishAt"] == "2100-01-01T00:00:00Z"
        assert session["resource"]["snippet"]["tags"] == ["art", "vermeer"]
        puts = [r for r in yt.rec.requests if r[0] == "PUT"]
        assert len(puts) >= 4  # 3 chunks, a 503, a status query
        assert all(r[2]["Authorization"] == f"Bearer {TOKEN}" for r in yt.rec.requests)
        assert refs and "upload_id=" in str(refs[0]["session"])
        # Asked again with the saved session: the video exists, nothing is uploaded twice.
        again = adapter.publish(_job(video, ref=refs[0]), refs.append)
        assert again.remote_id == "yt001" and len(yt.videos) == 1
    _no_token_in(caplog)


def test_youtube_quota_and_bad_token_stop_for_the_day(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    video = _video(tmp_path, 1000)
    quota = {"error": {"code": 403, "message": "The request cannot be completed because you have exceeded your quota.",
                       "errors": [{"reason": "quotaExceeded", "domain": "youtube.quota"}]}}  # fmt: skip
    with FakeYouTube(TOKEN) as yt:
        yt.rec.fail["init"] = [(403, quota)]
        adapter = YouTube(YouTubeSettings(api_base=yt.url), _creds(), sleep=lambda s: None)
        with pytest.raises(StopForToday, match="quotaExceeded") as err:
            adapter.publish(_job(video), lambda ref: None)
        assert TOKEN not in str(err.value)
        bad = YouTube(YouTubeSettings(api_base=yt.url), Credentials({"youtube": {"access_token": SecretStr("nope")}}))
        with pytest.raises(StopForToday, match="401"):
            bad.publish(_job(video), lambda ref: None)
        assert yt.videos == []
    _no_token_in(caplog)


def test_tiktok_direct_post_with_chunked_upload(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    video = _video(tmp_path, 11 * 2**20 + 12345)
    with FakeTikTok(TOKEN, polls_before_complete=2) as tt:
        refs: list[dict[str, object]] = []
        adapter = TikTok(TikTokSettings(api_base=tt.url), _creds(), sleep=lambda s: None)
        adapter.chunk_bytes = 5 * 2**20
        result = adapter.publish(_job(video), refs.append)
        (post,) = tt.posts.values()
        assert len(post["chunks"]) == 2  # 5 MB, then 6 MB and the rest: TikTok's rule for the last chunk
        assert b"".join(post["chunks"][k] for k in sorted(post["chunks"])) == video.read_bytes()
        assert post["post_info"]["is_aigc"] is True and post["post_info"]["privacy_level"] == "SELF_ONLY"
        assert result.url == f"https://www.tiktok.com/@vivant_tv/video/{result.remote_id}"
        assert refs[0]["publish_id"] in tt.posts
        polls = [r for r in tt.rec.requests if r[1].endswith("/status/fetch/")]
        assert len(polls) == 3
        # Resumed with the saved publish id: recorded, not posted again.
        assert adapter.publish(_job(video, ref=refs[0]), refs.append).remote_id == result.remote_id
        assert len(tt.published) == 1
    _no_token_in(caplog)


def test_tiktok_small_file_is_one_chunk_and_rate_limit_stops(tmp_path: Path) -> None:
    video = _video(tmp_path, 300_000)
    with FakeTikTok(TOKEN, polls_before_complete=0) as tt:
        tt.rec.fail["init"] = [(429, {"data": {}, "error": {"code": "rate_limit_exceeded", "message": "slow down",
                                                            "log_id": "x"}})]  # fmt: skip
        adapter = TikTok(TikTokSettings(api_base=tt.url), _creds(), sleep=lambda s: None)
        with pytest.raises(StopForToday, match="rate_limit_exceeded"):
            adapter.publish(_job(video), lambda ref: None)
        adapter.publish(_job(video), lambda ref: None)
        (post,) = tt.posts.values()
        assert list(post["chunks"]) == [0]


def test_instagram_reel_resumable_upload_polling_and_publish(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    video = _video(tmp_path, 200_000)
    with FakeInstagram(TOKEN) as ig:
        settings = InstagramSettings(api_base=ig.url + "/v21.0", upload_base=ig.url)
        refs: list[dict[str, object]] = []
        adapter = Instagram(settings, _creds(), sleep=lambda s: None)
        result = adapter.publish(_job(video), refs.append)
        assert result.url == f"https://www.instagram.com/reel/{result.remote_id}/"
        (container,) = ig.containers.values()
        assert container["uploaded"] == 200_000 and container["caption"].startswith("Girl with a Pearl Earring")
        assert ig.media == [result.remote_id]
        statuses = [r for r in ig.rec.requests if r[0] == "GET" and r[1].endswith(next(iter(ig.containers)))]
        assert len(statuses) >= 2
        # A crash after publishing: the container says PUBLISHED, nothing is posted again.
        assert adapter.publish(_job(video, ref=refs[-1]), refs.append).remote_id == result.remote_id
        assert len(ig.media) == 1
        ig.quota_usage = 50
        with pytest.raises(StopForToday, match="publishing limit"):
            adapter.publish(_job(video), refs.append)
        bad = Instagram(
            settings, Credentials({"instagram": {"access_token": SecretStr("x"), "user_id": SecretStr("1")}})
        )
        with pytest.raises(StopForToday, match="code 190"):
            bad.publish(_job(video), refs.append)
    _no_token_in(caplog)
