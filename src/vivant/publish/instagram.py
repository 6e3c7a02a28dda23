"""Instagram Graph API, Reels with a resumable upload, over httpx.

1. ``GET /{ig-user-id}/content_publishing_limit``: the day's cap, read at run time; reached → stop for today;
2. ``POST /{ig-user-id}/media`` with ``media_type=REELS``, ``upload_type=resumable``, the caption and
   ``share_to_feed``: a container id, saved (the resume point) before any byte is sent;
3. ``POST {rupload}/ig-api-upload/{version}/{container-id}`` with ``Authorization: OAuth``, ``offset`` and
   ``file_size`` headers and the file as the body;
4. ``GET /{container-id}?fields=status_code`` until ``FINISHED`` (``ERROR``/``EXPIRED``: a new container next
   time);
5. ``POST /{ig-user-id}/media_publish?creation_id=...``, then ``GET /{media-id}?fields=permalink``.

After a crash the container is asked first: ``PUBLISHED`` means the post exists (recorded, never posted
again), ``FINISHED`` goes straight to publishing, ``IN_PROGRESS`` waits or uploads again.
Rate limits (codes 4, 17, 32, 613), the publishing cap (code 9) and a refused token (190) stop Instagram for
the day. The access token and the account id come from ``[instagram] access_token`` and ``user_id``.
"""

from __future__ import annotations

import logging
from typing import Any

import httpx

from vivant.config import InstagramSettings
from vivant.publish import base
from vivant.publish.base import PermanentError, PostJob, PostResult, PublishError, SaveRef, StopForToday, TransientError

log = logging.getLogger(__name__)

STOP_CODES = frozenset({4, 9, 17, 32, 190, 613})
TRANSIENT_CODES = frozenset({1, 2})


def classify(response: httpx.Response) -> PublishError | None:
    if response.status_code < 400:
        return None
    error = base.json_of(response).get("error", {})
    error = error if isinstance(error, dict) else {}
    code = int(error.get("code", 0) or 0)
    message = base.short(str(error.get("message") or response.reason_phrase))
    what = f"Instagram: HTTP {response.status_code} code {code}: {message}"
    if code in STOP_CODES or response.status_code == 429:
        return StopForToday(what)
    if code in TRANSIENT_CODES or response.status_code >= 500:
        return TransientError(what)
    return PermanentError(what)


class Instagram(base.HttpAdapter[InstagramSettings]):
    name = "instagram"

    def _auth(self) -> dict[str, str]:
        return {"Authorization": f"OAuth {self.credentials.need('instagram', 'access_token').get_secret_value()}"}

    def _graph(self, c: httpx.Client, method: str, path: str, what: str, **kwargs: Any) -> dict[str, Any]:
        r = base.request(c, method, path, headers=self._auth(), what=what, classify=classify, sleep=self.sleep,
                         **kwargs)  # fmt: skip
        return base.json_of(r)

    def caption(self, job: PostJob) -> str:
        return f"{job.meta.title}\n\n{job.meta.description}"[:2200]

    def publish(self, job: PostJob, save_ref: SaveRef) -> PostResult:
        user = self.credentials.need("instagram", "user_id").get_secret_value()
        api = self.settings.api_base.rstrip("/")
        with base.client(api + "/", transport=self.transport) as c:
            ref = dict(job.ref)
            container = str(ref.get("container_id", ""))
            if container:
                state = self._container_status(c, container)
                if state == "PUBLISHED":
                    log.info("Instagram: the interrupted post had been published; recording it")
                    media = str(ref.get("media_id", "")) or container
                    return PostResult(remote_id=media, url=self._permalink(c, media) if ref.get("media_id") else "")
                if state in ("ERROR", "EXPIRED", ""):
                    log.info("Instagram: the interrupted container is %s; starting again", state or "gone")
                    container, ref = "", {}
                elif state == "IN_PROGRESS" and not ref.get("uploaded"):
                    self._upload(c, job, container, ref, save_ref)
            if not container:
                self._check_limit(c, user)
                made = self._graph(c, "POST", f"{user}/media", "Instagram: create container", data={
                    "media_type": "REELS", "upload_type": "resumable", "caption": self.caption(job),
                    "share_to_feed": "true" if self.settings.share_to_feed else "false",
                })  # fmt: skip
                container = str(made.get("id", ""))
                if not container:
                    raise TransientError("Instagram: no container id in the answer")
                ref = {"container_id": container}
                save_ref(ref)
                self._upload(c, job, container, ref, save_ref)
            self._wait(c, container)
            published = self._graph(c, "POST", f"{user}/media_publish", "Instagram: publish",
                                    data={"creation_id": container})  # fmt: skip
            media = str(published.get("id", ""))
            if not media:
                raise TransientError("Instagram: no media id after publishing")
            save_ref({**ref, "media_id": media})
            return PostResult(remote_id=media, url=self._permalink(c, media))

    def _check_limit(self, c: httpx.Client, user: str) -> None:
        data = self._graph(c, "GET", f"{user}/content_publishing_limit", "Instagram: publishing limit",
                           params={"fields": "config,quota_usage"}).get("data", [])  # fmt: skip
        if isinstance(data, list) and data and isinstance(data[0], dict):
            usage = int(data[0].get("quota_usage", 0) or 0)
            total = int((data[0].get("config") or {}).get("quota_total", 0) or 0)
            if total and usage >= total:
                raise StopForToday(f"Instagram: publishing limit reached ({usage}/{total} in 24 hours)")

    def _upload(self, c: httpx.Client, job: PostJob, container: str, ref: dict[str, Any], save_ref: SaveRef) -> None:
        version = self.settings.api_base.rstrip("/").rsplit("/", 1)[-1]
        url = f"{self.settings.upload_base.rstrip('/')}/ig-api-upload/{version}/{container}"
        data = job.video.read_bytes()
        base.request(c, "POST", url, content=data, what="Instagram: upload", classify=classify, sleep=self.sleep,
                     headers={**self._auth(), "offset": "0", "file_size": str(len(data)),
                              "Content-Type": "application/octet-stream"})  # fmt: skip
        ref["uploaded"] = True
        save_ref(dict(ref))

    def _container_status(self, c: httpx.Client, container: str) -> str:
        r = base.request(c, "GET", container, headers=self._auth(), what="Instagram: container status",
                         params={"fields": "status_code,status"}, sleep=self.sleep,
                         classify=lambda resp: None if resp.status_code == 404 else classify(resp))  # fmt: skip
        return "" if r.status_code == 404 else str(base.json_of(r).get("status_code", ""))

    def _wait(self, c: httpx.Client, container: str) -> None:
        for _ in range(self.status_polls):
            state = self._container_status(c, container)
            if state in ("FINISHED", "PUBLISHED"):
                return
            if state in ("ERROR", "EXPIRED", ""):
                raise TransientError(f"Instagram: container {state or 'gone'}; a new one is made next time")
            self.sleep(self.poll_seconds)
        raise TransientError("Instagram: the video is still processing; its status is asked again next time")

    def _permalink(self, c: httpx.Client, media: str) -> str:
        try:
            return str(self._graph(c, "GET", media, "Instagram: permalink", params={"fields": "permalink"})
                       .get("permalink", ""))  # fmt: skip
        except PublishError as e:
            log.info("%s (the post is made)", e)
            return ""
