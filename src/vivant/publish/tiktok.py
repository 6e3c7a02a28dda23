"""TikTok Content Posting API, Direct Post with a chunked file upload, over httpx.

1. ``POST /v2/post/publish/creator_info/query/``: the privacy levels the creator may use (unaudited apps:
   ``SELF_ONLY``) and the account name for the post's URL;
2. ``POST /v2/post/publish/video/init/`` with ``post_info`` (caption, privacy, ``is_aigc``) and
   ``source_info`` (``FILE_UPLOAD``, ``video_size``, ``chunk_size``, ``total_chunk_count``): a ``publish_id`` and
   an ``upload_url``, saved (the resume point) before any byte is sent;
3. ``PUT upload_url`` chunk by chunk with ``Content-Range: bytes a-b/total`` (206, then 201 when complete). The
   chunk rules are TikTok's: a file under 5 MB goes in one chunk; otherwise chunks of 5 to 64 MB, as many as
   ``size // chunk_size``, the last one taking the rest;
4. ``POST /v2/post/publish/status/fetch/`` until ``PUBLISH_COMPLETE`` (or ``FAILED``).

After a crash the saved ``publish_id`` is asked first: complete → recorded; still uploading → the chunks are
sent again to the same URL; failed → a new post starts (a failed or unfinished upload never posts).
Rate limits (about 6 requests a minute per token), daily caps (``spam_risk_*``) and a refused token stop
TikTok for the day. The video posted here is the pool's render without watermark (TikTok forbids branding).
"""

from __future__ import annotations

import logging
from typing import Any

import httpx

from vivant import redact
from vivant.config import TikTokSettings
from vivant.publish import base
from vivant.publish.base import PermanentError, PostJob, PostResult, PublishError, SaveRef, StopForToday, TransientError

log = logging.getLogger(__name__)

MB = 1024 * 1024
MIN_CHUNK, MAX_CHUNK = 5 * MB, 64 * MB
STOP_CODES = frozenset({
    "rate_limit_exceeded", "spam_risk_too_many_posts", "spam_risk_too_many_pending_share",
    "spam_risk_user_banned_from_posting", "reached_active_user_cap", "access_token_invalid", "scope_not_authorized",
    "unaudited_client_can_only_post_to_private_accounts",
})  # fmt: skip
STOP_FAIL_REASONS = frozenset({"spam_risk_too_many_posts", "spam_risk_user_banned_from_posting", "rate_limit_exceeded"})


def chunks(size: int, wanted: int) -> tuple[int, int]:
    """(chunk_size, total_chunk_count) following TikTok's rules."""
    if size < MIN_CHUNK:
        return size, 1
    chunk = min(max(wanted, MIN_CHUNK), MAX_CHUNK)
    if size <= chunk:
        return size, 1
    return chunk, size // chunk


def classify(response: httpx.Response) -> PublishError | None:
    body = base.json_of(response)
    error = body.get("error") if isinstance(body.get("error"), dict) else {}
    code = str((error or {}).get("code", "ok"))
    if response.status_code < 400 and code == "ok":
        return None
    message = base.short(str((error or {}).get("message") or response.reason_phrase))
    what = f"TikTok: HTTP {response.status_code} {code}: {message}"
    if code in STOP_CODES or response.status_code in (401, 429):
        return StopForToday(what)
    if response.status_code >= 500:
        return TransientError(what)
    return PermanentError(what)


class TikTok(base.HttpAdapter[TikTokSettings]):
    name = "tiktok"
    chunk_bytes = 10 * MB
    """Chunk size of the file upload (TikTok: 5 to 64 MB; a file under 5 MB goes in one chunk); tests set less."""

    def _headers(self) -> dict[str, str]:
        token = self.credentials.need("tiktok", "access_token").get_secret_value()
        return {"Authorization": f"Bearer {token}", "Content-Type": "application/json; charset=UTF-8"}

    def _call(self, c: httpx.Client, path: str, body: dict[str, Any], what: str) -> dict[str, Any]:
        r = base.request(c, "POST", path, json=body, headers=self._headers(), what=what, classify=classify,
                         sleep=self.sleep)  # fmt: skip
        data = base.json_of(r).get("data")
        return data if isinstance(data, dict) else {}

    def caption(self, job: PostJob) -> str:
        meta = job.meta
        text = f"{meta.title}\n\n{meta.description}"
        return text[:2200]

    def publish(self, job: PostJob, save_ref: SaveRef) -> PostResult:
        size = job.video.stat().st_size
        with base.client(self.settings.api_base, transport=self.transport) as c:
            creator = self._call(c, "/v2/post/publish/creator_info/query/", {}, "TikTok: creator info")
            username = str(creator.get("creator_username", ""))
            publish_id = str(job.ref.get("publish_id", ""))
            upload_url = str(job.ref.get("upload_url", ""))
            redact.register(upload_url)  # it carries its own authorisation: never in a log line
            if publish_id:
                status = self._status(c, publish_id)
                state = str(status.get("status", ""))
                if state == "PUBLISH_COMPLETE":
                    log.info("TikTok: the interrupted post had been published; recording it")
                    return self._result(publish_id, status, username)
                if state == "FAILED":
                    log.info("TikTok: the interrupted post failed (%s); starting again", status.get("fail_reason", "?"))
                    publish_id = ""
                elif state == "PROCESSING_UPLOAD" and upload_url:
                    self._upload(c, job, upload_url, size)
                    return self._wait(c, publish_id, username)
                else:
                    return self._wait(c, publish_id, username)
            options = [str(o) for o in creator.get("privacy_level_options", [])]
            # An unaudited client can only post SELF_ONLY (to a private account).
            privacy = self.settings.privacy_level if self.settings.audited else "SELF_ONLY"
            if options and privacy not in options:
                raise PermanentError(f"TikTok: privacy {privacy} is not offered ({', '.join(options)})")
            chunk_size, count = chunks(size, self.chunk_bytes)
            data = self._call(c, "/v2/post/publish/video/init/", {
                "post_info": {
                    "title": self.caption(job), "privacy_level": privacy,
                    "disable_duet": False, "disable_comment": False, "disable_stitch": False,
                    "video_cover_timestamp_ms": 1000, "is_aigc": job.meta.ai_generated,
                },
                "source_info": {"source": "FILE_UPLOAD", "video_size": size, "chunk_size": chunk_size,
                                "total_chunk_count": count},
            }, "TikTok: start post")  # fmt: skip
            publish_id, upload_url = str(data.get("publish_id", "")), str(data.get("upload_url", ""))
            redact.register(upload_url)
            if not publish_id or not upload_url:
                raise TransientError("TikTok: no publish_id or upload_url in the answer")
            save_ref({"publish_id": publish_id, "upload_url": upload_url})
            self._upload(c, job, upload_url, size)
            return self._wait(c, publish_id, username)

    def _upload(self, c: httpx.Client, job: PostJob, upload_url: str, size: int) -> None:
        chunk_size, count = chunks(size, self.chunk_bytes)
        with job.video.open("rb") as f:
            for k in range(count):
                start = k * chunk_size
                end = size - 1 if k == count - 1 else start + chunk_size - 1
                f.seek(start)
                data = f.read(end - start + 1)
                # The upload URL carries its own authorisation: the token is not sent there.
                r = base.request(
                    c, "PUT", upload_url, content=data, what=f"TikTok: chunk {k + 1}/{count}", sleep=self.sleep,
                    headers={"Content-Type": "video/mp4", "Content-Length": str(len(data)),
                             "Content-Range": f"bytes {start}-{end}/{size}"},
                    classify=lambda resp: None if resp.status_code in (200, 201, 206) else classify(resp)
                    or TransientError(f"TikTok: chunk upload HTTP {resp.status_code}"),
                )  # fmt: skip
                log.debug("TikTok: chunk %d/%d sent (HTTP %d)", k + 1, count, r.status_code)

    def _status(self, c: httpx.Client, publish_id: str) -> dict[str, Any]:
        return self._call(c, "/v2/post/publish/status/fetch/", {"publish_id": publish_id}, "TikTok: post status")

    def _wait(self, c: httpx.Client, publish_id: str, username: str) -> PostResult:
        for _ in range(self.status_polls):
            status = self._status(c, publish_id)
            state = str(status.get("status", ""))
            if state == "PUBLISH_COMPLETE":
                return self._result(publish_id, status, username)
            if state == "FAILED":
                reason = str(status.get("fail_reason", "failed"))
                if reason in STOP_FAIL_REASONS:
                    raise StopForToday(f"TikTok: post failed: {reason}")
                raise TransientError(f"TikTok: post failed: {reason}; a new post starts next time")
            self.sleep(self.poll_seconds)
        raise TransientError("TikTok: still processing; its status is asked again next time")

    @staticmethod
    def _result(publish_id: str, status: dict[str, Any], username: str) -> PostResult:
        ids = status.get("publicaly_available_post_id") or status.get("publicly_available_post_id") or []
        post_id = str(ids[0]) if ids else ""
        url = f"https://www.tiktok.com/@{username}/video/{post_id}" if post_id and username else ""
        return PostResult(remote_id=post_id or publish_id, url=url)
