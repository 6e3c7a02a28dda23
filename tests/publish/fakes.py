"""Servers on loopback that speak the platforms' upload APIs as documented: the auth header, the resumable or
chunked upload, status polling, error and quota answers. They keep what they received so tests can count posts.

- :class:`FakeYouTube`: ``POST /token`` (OAuth refresh) → the access token it accepts;
  ``POST /upload/youtube/v3/videos?uploadType=resumable`` → ``Location`` session;
  ``PUT`` chunks with ``Content-Range`` → 308 + ``Range`` / 200 + video; ``bytes */N`` status queries.
- :class:`FakeTikTok`: creator info, ``video/init`` (checks the chunk rules), ``PUT`` chunks → 206 / 201,
  ``status/fetch`` (PROCESSING_UPLOAD → PUBLISH_COMPLETE after a poll or two).
- :class:`FakeInstagram`: graph ``/{user}/media`` (REELS, resumable), ``rupload`` ``/ig-api-upload/v21.0/{id}``
  (``Authorization: OAuth``, ``offset``, ``file_size``), container status polling, ``media_publish``,
  ``content_publishing_limit``, permalinks.
"""

from __future__ import annotations

import json
import os
import re
import signal
import threading
import uuid
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlparse


@dataclass
class Recorder:
    token: str
    requests: list[tuple[str, str, dict[str, str]]] = field(default_factory=list)
    fail: dict[str, list[tuple[int, dict[str, Any]]]] = field(default_factory=dict)
    """path kind -> answers to give first (status, JSON body), e.g. quota errors."""
    kill_pid: int | None = None
    kill_after: str = ""
    """"first_chunk" or "complete": SIGKILL ``kill_pid`` at that point, before answering."""
    lock: threading.Lock = field(default_factory=threading.Lock)

    def scripted(self, kind: str) -> tuple[int, dict[str, Any]] | None:
        with self.lock:
            queue = self.fail.get(kind)
            return queue.pop(0) if queue else None

    def maybe_kill(self, point: str) -> None:
        if self.kill_pid and self.kill_after == point:
            pid, self.kill_pid = self.kill_pid, None
            os.kill(pid, signal.SIGKILL)


class _Server:
    def __init__(self, token: str) -> None:
        self.rec = Recorder(token)
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def _body(self) -> bytes:
                n = int(self.headers.get("Content-Length") or 0)
                return self.rfile.read(n) if n else b""

            def _send(
                self, status: int, body: dict[str, Any] | None = None, headers: dict[str, str] | None = None
            ) -> None:
                data = json.dumps(body).encode() if body is not None else b""
                self.send_response(status)
                for k, v in (headers or {}).items():
                    self.send_header(k, v)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def handle_any(self) -> None:
                body = self._body()
                url = urlparse(self.path)
                outer.rec.requests.append((self.command, url.path, dict(self.headers)))
                outer.handle(self, self.command, url.path, parse_qs(url.query), body)

            do_GET = do_POST = do_PUT = handle_any

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self) -> Any:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    def handle(self, h: Any, method: str, path: str, query: dict[str, list[str]], body: bytes) -> None:
        raise NotImplementedError

    def authorised(self, h: Any, scheme: str = "Bearer") -> bool:
        return bool(h.headers.get("Authorization") == f"{scheme} {self.rec.token}")


class FakeYouTube(_Server):
    def __init__(self, token: str) -> None:
        super().__init__(token)
        self.sessions: dict[str, dict[str, Any]] = {}
        self.videos: list[dict[str, Any]] = []

    def _done(self, h: Any, s: dict[str, Any]) -> None:
        if "video" not in s:
            video = {"id": f"yt{len(self.videos) + 1:03d}", **s["resource"]}
            s["video"] = video
            self.videos.append(video)
            self.rec.maybe_kill("complete")
        h._send(200, s["video"])

    def handle(self, h: Any, method: str, path: str, query: dict[str, list[str]], body: bytes) -> None:
        if method == "POST" and path == "/token":  # OAuth refresh: hands out the access token this fake accepts
            form = {k: v[0] for k, v in parse_qs(body.decode()).items()}
            assert form.get("grant_type") == "refresh_token" and form.get("refresh_token"), form
            h._send(200, {"access_token": self.rec.token, "expires_in": 3599, "token_type": "Bearer"})
            return
        if not self.authorised(h):
            h._send(
                401, {"error": {"code": 401, "message": "Invalid Credentials", "errors": [{"reason": "authError"}]}}
            )
            return
        if method == "POST" and path == "/upload/youtube/v3/videos":
            scripted = self.rec.scripted("init")
            if scripted:
                h._send(*scripted)
                return
            assert query.get("uploadType") == ["resumable"], query
            sid = uuid.uuid4().hex
            self.sessions[sid] = {"size": int(h.headers["X-Upload-Content-Length"]), "data": b"",
                                  "resource": json.loads(body)}  # fmt: skip
            h._send(200, {}, {"Location": f"{self.url}/upload/youtube/v3/videos?uploadType=resumable&upload_id={sid}"})
            return
        if method == "PUT" and path == "/upload/youtube/v3/videos":
            s = self.sessions.get(query.get("upload_id", [""])[0])
            if s is None:
                h._send(404, {"error": {"code": 404, "message": "session not found"}})
                return
            if "video" in s:
                h._send(200, s["video"])
                return
            rng = h.headers.get("Content-Range", "")
            got = len(s["data"])
            if rng.startswith("bytes */"):
                h._send(308, None, {"Range": f"bytes=0-{got - 1}"} if got else {})
                return
            scripted = self.rec.scripted("chunk")
            if scripted:
                h._send(*scripted)
                return
            m = re.fullmatch(r"bytes (\d+)-(\d+)/(\d+)", rng)
            assert m, rng
            start = int(m.group(1))
            assert start == got, (start, got)
            s["data"] += body
            if len(s["data"]) >= s["size"]:
                self._done(h, s)
            else:
                self.rec.maybe_kill("first_chunk")
                h._send(308, None, {"Range": f"bytes=0-{len(s['data']) - 1}"})
            return
        h._send(404, {"error": {"code": 404, "message": "no such route"}})


class FakeTikTok(_Server):
    def __init__(self, token: str, polls_before_complete: int = 1) -> None:
        super().__init__(token)
        self.posts: dict[str, dict[str, Any]] = {}
        self.published: list[str] = []
        self.polls_before_complete = polls_before_complete

    def handle(self, h: Any, method: str, path: str, query: dict[str, list[str]], body: bytes) -> None:
        ok = {"code": "ok", "message": "", "log_id": "log1"}
        if path.startswith("/upload/"):
            pid = path.rsplit("/", 1)[-1]
            p = self.posts[pid]
            m = re.fullmatch(r"bytes (\d+)-(\d+)/(\d+)", h.headers.get("Content-Range", ""))
            assert m and int(m.group(3)) == p["size"], h.headers.get("Content-Range")
            assert "Authorization" not in h.headers
            p["chunks"][int(m.group(1))] = body
            p["received"] = sum(len(b) for b in p["chunks"].values())
            if p["received"] >= p["size"]:
                p["status"] = "PROCESSING_DOWNLOAD"
                h._send(201, {})
            else:
                self.rec.maybe_kill("first_chunk")
                h._send(206, {})
            return
        if not self.authorised(h):
            h._send(401, {"data": {}, "error": {"code": "access_token_invalid", "message": "invalid", "log_id": "x"}})
            return
        req = json.loads(body or b"{}")
        if path == "/v2/post/publish/creator_info/query/":
            h._send(200, {"data": {"creator_username": "vivant_tv", "creator_nickname": "Tableau Vivant",
                                   "privacy_level_options": ["SELF_ONLY", "PUBLIC_TO_EVERYONE"],
                                   "max_video_post_duration_sec": 600}, "error": ok})  # fmt: skip
            return
        if path == "/v2/post/publish/video/init/":
            scripted = self.rec.scripted("init")
            if scripted:
                h._send(*scripted)
                return
            src = req["source_info"]
            size, chunk, count = src["video_size"], src["chunk_size"], src["total_chunk_count"]
            assert src["source"] == "FILE_UPLOAD"
            assert count == max(1, size // chunk) and (
                (size < 5 * 2**20 and count == 1) or 5 * 2**20 <= chunk <= 64 * 2**20
            )
            pid = f"v_pub_file~{uuid.uuid4().hex[:12]}"
            self.posts[pid] = {"size": size, "chunks": {}, "status": "PROCESSING_UPLOAD", "post_info": req["post_info"],
                               "polls": 0}  # fmt: skip
            h._send(200, {"data": {"publish_id": pid, "upload_url": f"{self.url}/upload/{pid}"}, "error": ok})
            return
        if path == "/v2/post/publish/status/fetch/":
            p = self.posts[req["publish_id"]]
            if p["status"] == "PROCESSING_DOWNLOAD":
                p["polls"] += 1
                if p["polls"] > self.polls_before_complete:
                    p["status"] = "PUBLISH_COMPLETE"
                    p["post_id"] = str(7000000000000000000 + len(self.published) + 1)
                    self.published.append(req["publish_id"])
            data: dict[str, Any] = {"status": p["status"], "uploaded_bytes": p.get("received", 0)}
            if p["status"] == "PUBLISH_COMPLETE":
                data["publicaly_available_post_id"] = [p["post_id"]]
            h._send(200, {"data": data, "error": ok})
            return
        h._send(404, {"data": {}, "error": {"code": "not_found", "message": path, "log_id": "x"}})


class FakeInstagram(_Server):
    def __init__(self, token: str, user: str = "17841400000000001") -> None:
        super().__init__(token)
        self.user = user
        self.containers: dict[str, dict[str, Any]] = {}
        self.media: list[str] = []
        self.quota_usage = 0

    def handle(self, h: Any, method: str, path: str, query: dict[str, list[str]], body: bytes) -> None:
        if not self.authorised(h, "OAuth"):
            h._send(400, {"error": {"message": "Invalid OAuth access token.", "type": "OAuthException", "code": 190}})
            return
        form = (
            {k: v[0] for k, v in parse_qs(body.decode()).items()}
            if method == "POST" and path.startswith("/v21.0/")
            else {}
        )
        if path.startswith("/ig-api-upload/v21.0/"):
            cid = path.rsplit("/", 1)[-1]
            assert h.headers["offset"] == "0" and int(h.headers["file_size"]) == len(body)
            self.containers[cid].update(uploaded=len(body), status="IN_PROGRESS", polls=0)
            h._send(200, {"success": True, "message": "Upload successful."})
            return
        if path == f"/v21.0/{self.user}/content_publishing_limit":
            h._send(
                200,
                {"data": [{"quota_usage": self.quota_usage, "config": {"quota_total": 50, "quota_duration": 86400}}]},
            )
            return
        if path == f"/v21.0/{self.user}/media" and method == "POST":
            scripted = self.rec.scripted("init")
            if scripted:
                h._send(*scripted)
                return
            assert form["media_type"] == "REELS" and form["upload_type"] == "resumable", form
            cid = str(18000000000000000 + len(self.containers) + 1)
            self.containers[cid] = {"status": "IN_PROGRESS", "caption": form.get("caption", ""), "uploaded": 0}
            h._send(200, {"id": cid, "uri": f"https://rupload.facebook.com/ig-api-upload/v21.0/{cid}"})
            return
        if path == f"/v21.0/{self.user}/media_publish":
            c = self.containers[form["creation_id"]]
            assert c["status"] == "FINISHED", c["status"]
            mid = str(17900000000000000 + len(self.media) + 1)
            self.media.append(mid)
            c["status"] = "PUBLISHED"
            self.quota_usage += 1
            self.rec.maybe_kill("complete")
            h._send(200, {"id": mid})
            return
        key = path.removeprefix("/v21.0/")
        if key in self.containers:
            c = self.containers[key]
            if c["status"] == "IN_PROGRESS" and c["uploaded"]:
                c["polls"] += 1
                if c["polls"] > 1:
                    c["status"] = "FINISHED"
            h._send(200, {"status_code": c["status"], "id": key})
            return
        if key in self.media:
            h._send(200, {"id": key, "permalink": f"https://www.instagram.com/reel/{key}/"})
            return
        h._send(404, {"error": {"message": "Unsupported request", "type": "GraphMethodException", "code": 100}})
