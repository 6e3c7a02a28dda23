"""Planned posts and their outcome: planned once per (item, platform, language), claimed before any byte leaves,
their resume point saved."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from vivant.errors import StoreError
from vivant.redact import redact
from vivant.store.database import Database
from vivant.store.rows import PostRow


class PostQueries(Database):
    """The ``posts`` table."""

    def queue_post(self, item_id: int, platform: str, language: str, *, day: str, slot: int, due_at: float) -> bool:
        """Plan one post; (item, platform, language) is unique, so a post is planned once. A cancelled post is
        planned again. Return True when a post was (re)planned."""
        now = self.clock()
        with self.atomic() as c:
            r = c.execute(
                "SELECT id, state FROM posts WHERE item_id=? AND platform=? AND language=?",
                (item_id, platform, language),
            ).fetchone()
            if r is None:
                c.execute(
                    "INSERT INTO posts (item_id, platform, language, state, day, slot, due_at, created_at, updated_at)"
                    " VALUES (?,?,?,'QUEUED',?,?,?,?,?)",
                    (item_id, platform, language, day, slot, due_at, now, now),
                )
                return True
            if r["state"] == "CANCELLED":
                c.execute(
                    "UPDATE posts SET state='QUEUED', day=?, slot=?, due_at=?, next_try_at=NULL, attempts=0,"
                    " error='', updated_at=? WHERE id=?",
                    (day, slot, due_at, now, r["id"]),
                )
                return True
            return False

    def post(self, post_id: int) -> PostRow:
        return self._by_id(PostRow, "posts", post_id, "post")

    def posts(self, *, day: str | None = None, states: Iterable[str] | None = None,
              item_id: int | None = None) -> list[PostRow]:  # fmt: skip
        sql, args = "SELECT * FROM posts WHERE 1=1", []
        if states is not None:
            wanted = list(states)
            sql += f" AND state IN ({','.join('?' * len(wanted)) or chr(39) * 2})"
            args += wanted
        return self._filtered(PostRow, sql, args, [("day=?", day), ("item_id=?", item_id)], "day, slot, id")

    def reschedule_post(self, post_id: int, *, day: str, slot: int, due_at: float) -> None:
        with self.atomic() as c:
            c.execute("UPDATE posts SET day=?, slot=?, due_at=?, updated_at=? WHERE id=?",
                      (day, slot, due_at, self.clock(), post_id))  # fmt: skip

    def claim_post(self, post_id: int) -> PostRow:
        """Mark a post UPLOADING (one more attempt) before any byte leaves; a crash leaves it UPLOADING, and the
        next run resumes it from its ``upload_ref`` instead of posting again."""
        with self.atomic() as c:
            r = c.execute("SELECT state FROM posts WHERE id=?", (post_id,)).fetchone()
            if r is None:
                raise StoreError(f"no post {post_id}")
            if r[0] not in ("QUEUED", "FAILED", "UPLOADING"):
                raise StoreError(f"post {post_id} is {r[0]}: nothing to upload")
            c.execute(
                "UPDATE posts SET state='UPLOADING', attempts=attempts+1, updated_at=? WHERE id=?",
                (self.clock(), post_id),
            )
        return self.post(post_id)

    def set_post_ref(self, post_id: int, ref: dict[str, Any]) -> None:
        """Save an upload's resume point (session URL, publish id, container id) before it is used."""
        with self.atomic() as c:
            c.execute("UPDATE posts SET upload_ref=?, updated_at=? WHERE id=?",
                      (json.dumps(ref, ensure_ascii=False), self.clock(), post_id))  # fmt: skip

    def finish_post(self, post_id: int, state: str, *, remote_id: str | None = None, url: str | None = None,
                    error: str = "", next_try_at: float | None = None) -> None:  # fmt: skip
        """Record a post's outcome: POSTED (with the remote id and URL), FAILED (to try again at ``next_try_at``),
        GAVE_UP or CANCELLED."""
        now = self.clock()
        with self.atomic() as c:
            c.execute(
                "UPDATE posts SET state=?, remote_id=coalesce(?, remote_id), url=coalesce(?, url), error=?,"
                " next_try_at=?, updated_at=?, posted_at=CASE WHEN ?='POSTED' THEN ? ELSE posted_at END WHERE id=?",
                (state, remote_id, url, redact(error), next_try_at, now, state, now, post_id),
            )
