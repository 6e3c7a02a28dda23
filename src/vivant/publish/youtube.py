"""YouTube Data API v3, ``videos.insert`` with the resumable upload protocol, over httpx.

1. ``POST {api}/upload/youtube/v3/videos?uploadType=resumable&part=snippet,status`` with the video resource
   (``status.containsSyntheticMedia``, ``status.publishAt`` when the slot is ahead, ``privacyStatus``) and
   ``X-Upload-Content-Length``/``X-Upload-Content-Type``; the session URL comes back in ``Location`` and is
   saved (the resume point) before any byte is sent;
2. ``PUT`` the file in chunks with ``Content-Range: bytes a-b/total``: ``308`` with ``Range`` means "go on
   from there", ``200``/``201`` carries the video resource;
3. after a crash or a network error, ``PUT`` an empty body with ``Content-Range: bytes */total`` asks the
   session what it has: the upload goes on from there, or the video already exists and is recorded, so a
   crash never makes a second video. An expired session (404/410) never made a video: a new one starts.

Quota (``quotaExceeded``, ``uploadLimitExceeded``, rate limits) and a refused token stop YouTube for the day.
The access token comes from ``[youtube] access_token`` or is refreshed from ``refresh_token`` + ``client_id``
+ ``client_secret`` at ``token_uri``.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import httpx

from vivant import redact
from vivant.config import YouTubeSettings
from vivant.publish import base
from vivant.publish.base import PermanentError, PostJob, PostResult, PublishError, SaveRef, StopForToday, TransientError
from vivant.publish.credentials import Credentials

log = logging.getLogger(__name__)

STOP_REASONS = frozenset(
    {"quotaExceeded", "dailyLimitExceeded", "rateLimitExceeded", "userRateLimitExceeded", "uploadLimitExceeded"}
)
GOOGLE_TOKEN_URI = "https://oauth2.googleapis.com/token"


def classify(response: httpx.Response) -> PublishError | None:
    code = response.status_code
    if code < 400 or code == 308:
        return None
    error = base.json_of(response).get("error", {})
    error = error if isinstance(error, dict) else {"message": str(error)}
    reasons = [e.get("reason", "") for e in error.get("errors", []) if isinstance(e, dict)]
    message = base.short(str(error.get("message") or response.reason_phrase))
    what = f"YouTube: HTTP {code}" + (f" {', '.join(reasons)}" if reasons else "") + f": {message}"
    if code in (401,) or any(r in STOP_REASONS for r in reasons) or code == 429:
        return StopForToday(what)
    if code >= 500:
        return TransientError(what)
    return PermanentError(what)


class YouTube(base.HttpAdapter[YouTubeSettings]):
    name = "youtube"

    def __init__(
        self,
        settings: YouTubeSettings,
        credentials: Credentials,
        *,
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        super().__init__(settings, credentials, transport=transport, sleep=sleep)
        self._token: str | None = None

    # -- auth ---------------------------------------------------------------------------------------------------
    def _access_token(self, c: httpx.Client) -> str:
        if self._token:
            return self._token
        refresh = self.credentials.get("youtube", "refresh_token")
        if refresh is not None:
            uri = self.credentials.get("youtube", "token_uri")
            form = {
                "grant_type": "refresh_token",
                "refresh_token": refresh.get_secret_value(),
                "client_id": self.credentials.need("youtube", "client_id").get_secret_value(),
                "client_secret": self.credentials.need("youtube", "client_secret").get_secret_value(),
            }
            r = base.request(c, "POST", uri.get_secret_value() if uri else GOOGLE_TOKEN_URI, data=form,
                             what="YouTube token refresh", classify=classify, sleep=self.sleep)  # fmt: skip
            token = base.json_of(r).get("access_token")
            if not token:
                raise StopForToday("YouTube token refresh: no access_token in the answer")
            redact.register(str(token))  # before anything can print it
            self._token = str(token)
        else:
            self._token = self.credentials.need("youtube", "access_token").get_secret_value()
        return self._token

    def _auth(self, c: httpx.Client) -> dict[str, str]:
        return {"Authorization": f"Bearer {self._access_token(c)}"}

    # -- the upload ---------------------------------------------------------------------------------------------
    def resource(self, job: PostJob) -> dict[str, Any]:
        meta = job.meta
        # An API project Google has not audited can only upload private videos (and cannot schedule them public).
        privacy = self.settings.privacy if self.settings.audited else "private"
        status: dict[str, Any] = {
            "privacyStatus": privacy,
            "selfDeclaredMadeForKids": self.settings.made_for_kids,  # always explicit
            "containsSyntheticMedia": meta.ai_generated,
        }
        if self.settings.schedule and job.publish_at is not None and privacy != "private":
            # publishAt needs a private video; YouTube makes it public at that time.
            status["privacyStatus"] = "private"
            status["publishAt"] = datetime.fromtimestamp(job.publish_at, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        return {
            "snippet": {
                "title": meta.title[:100],
                "description": meta.description[:5000].replace("<", "‹").replace(">", "›"),
                "tags": [h.lstrip("#") for h in meta.hashtags][:30],
                "categoryId": self.settings.category_id,
                "defaultLanguage": meta.language,
                "defaultAudioLanguage": meta.language,
            },
            "status": status,
        }

    def publish(self, job: PostJob, save_ref: SaveRef) -> PostResult:
        size = job.video.stat().st_size
        with base.client(self.settings.api_base, transport=self.transport) as c:
            session = str(job.ref.get("session", ""))
            offset = 0
            if session:
                found = self._query(c, session, size)
                if isinstance(found, dict):
                    log.info("YouTube: the interrupted upload had finished; recording it")
                    return self._result(found)
                if found is None:
                    log.info("YouTube: the upload session expired before the upload finished; starting again")
                    session = ""
                else:
                    offset = found
            if not session:
                r = base.request(
                    c, "POST", "/upload/youtube/v3/videos", what="YouTube: start upload", classify=classify,
                    sleep=self.sleep,
                    params={"uploadType": "resumable", "part": "snippet,status"},
                    headers={**self._auth(c), "Content-Type": "application/json; charset=UTF-8",
                             "X-Upload-Content-Length": str(size), "X-Upload-Content-Type": "video/mp4"},
                    content=json.dumps(self.resource(job)).encode(),
                )  # fmt: skip
                session = r.headers.get("location", "")
                if not session:
                    raise TransientError("YouTube: no upload session URL in the answer")
                if httpx.URL(session).host != httpx.URL(self.settings.api_base).host:
                    # The token goes with every chunk: never to another host than the API's.
                    raise PermanentError(f"YouTube: the upload session is on another host ({httpx.URL(session).host})")
                save_ref({"session": session, "size": size})
            return self._result(self._upload(c, job, session, offset, size))

    def _query(self, c: httpx.Client, session: str, size: int) -> dict[str, Any] | int | None:
        """Ask the session how far it got: the video resource when complete, the next offset, or None when the
        session is gone."""
        r = base.request(
            c, "PUT", session, what="YouTube: upload status", sleep=self.sleep,
            classify=lambda resp: None if resp.status_code in (404, 410) else classify(resp),
            headers={**self._auth(c), "Content-Range": f"bytes */{size}", "Content-Length": "0"},
        )  # fmt: skip
        if r.status_code in (404, 410):
            return None
        if r.status_code in (200, 201):
            return base.json_of(r)
        return _next_offset(r)

    def _upload(self, c: httpx.Client, job: PostJob, session: str, offset: int, size: int) -> dict[str, Any]:
        chunk = max(262144, self.settings.chunk_bytes // 262144 * 262144)
        stalls = 0
        with job.video.open("rb") as f:
            while True:
                f.seek(offset)
                data = f.read(chunk)
                end = offset + len(data) - 1
                try:
                    r = c.put(session, content=data, headers={
                        **self._auth(c), "Content-Type": "video/mp4", "Content-Range": f"bytes {offset}-{end}/{size}",
                    })  # fmt: skip
                except httpx.TransportError as e:
                    r = None
                    problem = type(e).__name__
                if r is not None and r.status_code in (200, 201):
                    return base.json_of(r)
                if r is not None and r.status_code == 308:
                    offset, stalls = _next_offset(r), 0
                    continue
                if r is not None and r.status_code not in (500, 502, 503, 504):
                    error = classify(r)
                    if r.status_code in (404, 410):
                        raise TransientError("YouTube: the upload session expired; a new one starts next time")
                    raise error or TransientError(f"YouTube: unexpected HTTP {r.status_code}")
                problem = f"HTTP {r.status_code}" if r is not None else problem
                stalls += 1
                if stalls > 5:
                    raise TransientError(f"YouTube: upload interrupted ({problem}); it resumes next time")
                log.info("YouTube: chunk at %d: %s; asking the session and going on", offset, problem)
                self.sleep(min(60.0, 2.0**stalls))
                found = self._query(c, session, size)
                if isinstance(found, dict):
                    return found
                if found is None:
                    raise TransientError("YouTube: the upload session expired; a new one starts next time")
                offset = found

    @staticmethod
    def _result(video: dict[str, Any]) -> PostResult:
        video_id = str(video.get("id", ""))
        if not video_id:
            raise TransientError("YouTube: the upload finished without a video id")
        return PostResult(remote_id=video_id, url=f"https://www.youtube.com/shorts/{video_id}")


def _next_offset(r: httpx.Response) -> int:
    """``Range: bytes=0-N`` → N+1; no Range → 0 (nothing received yet)."""
    value = r.headers.get("range", "")
    if "-" not in value:
        return 0
    return int(value.rsplit("-", 1)[1]) + 1
