"""Attempts of a unit (item x step x language) and the artifacts a successful one leaves."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from vivant.errors import StoreError
from vivant.redact import redact
from vivant.states import AttemptStatus
from vivant.store.database import Database
from vivant.store.rows import ArtifactRow, AttemptRow, NewArtifact


class AttemptQueries(Database):
    """The ``attempts`` and ``artifacts`` tables."""

    def start_attempt(self, item_id: int, step: int, language: str, *, backend: str, resource: str) -> AttemptRow:
        with self.atomic() as c:
            n = c.execute(
                "SELECT coalesce(max(number), 0) FROM attempts WHERE item_id=? AND step=? AND language=?",
                (item_id, step, language),
            ).fetchone()[0]
            cur = c.execute(
                "INSERT INTO attempts (item_id, step, language, number, started_at, status, backend, resource)"
                " VALUES (?,?,?,?,?,?,?,?)",
                (item_id, step, language, n + 1, self.clock(), AttemptStatus.RUNNING.value, backend, resource),
            )
            attempt_id = int(cur.lastrowid or 0)
        return self.attempt(attempt_id)

    def attempt(self, attempt_id: int) -> AttemptRow:
        return self._by_id(AttemptRow, "attempts", attempt_id, "attempt")

    def set_remote_id(self, attempt_id: int, remote_id: str, endpoint: str | None = None) -> None:
        """Record the remote job id (and the server it goes to) of a running attempt."""
        with self.atomic() as c:
            c.execute("UPDATE attempts SET remote_id=?, endpoint=coalesce(?, endpoint) WHERE id=?",
                      (remote_id, endpoint, attempt_id))  # fmt: skip

    def finish_attempt(
        self,
        attempt_id: int,
        status: AttemptStatus,
        *,
        error: str = "",
        backend: str | None = None,
        degraded: bool = False,
        queue_wait: float | None = None,
        compute: float | None = None,
        artifacts: Sequence[NewArtifact] = (),
        endpoint: str | None = None,
    ) -> None:
        """Close an attempt and record its artifacts, in one transaction."""
        now = self.clock()
        with self.atomic() as c:
            r = c.execute("SELECT * FROM attempts WHERE id=?", (attempt_id,)).fetchone()
            if r is None:
                raise StoreError(f"no attempt {attempt_id}")
            c.execute(
                "UPDATE attempts SET status=?, finished_at=?, error=?, backend=coalesce(?, backend), degraded=?,"
                " queue_wait=?, compute=?, endpoint=coalesce(?, endpoint) WHERE id=?",
                (status.value, now, redact(error), backend, int(degraded), queue_wait, compute, endpoint, attempt_id),
            )
            if artifacts:
                c.execute(
                    "UPDATE artifacts SET superseded=1 WHERE item_id=? AND step=? AND language=?",
                    (r["item_id"], r["step"], r["language"]),
                )
            for a in artifacts:
                c.execute(
                    "INSERT INTO artifacts (item_id, attempt_id, step, language, kind, path, sha256, bytes,"
                    " created_at) VALUES (?,?,?,?,?,?,?,?,?)",
                    (r["item_id"], attempt_id, r["step"], r["language"], a.kind, a.path, a.sha256, a.bytes, now),
                )

    def interrupt_running(self, batch_id: int | None = None) -> int:
        """Mark attempts left RUNNING (by a crash) as INTERRUPTED; return how many."""
        sql = "UPDATE attempts SET status='INTERRUPTED', finished_at=?, error='interrupted' WHERE status='RUNNING'"
        args: list[Any] = [self.clock()]
        if batch_id is not None:
            sql += " AND item_id IN (SELECT id FROM items WHERE batch_id=?)"
            args.append(batch_id)
        with self.atomic() as c:
            return c.execute(sql, args).rowcount

    def attempts(self, *, batch_id: int | None = None, item_id: int | None = None,
                 include_superseded: bool = True) -> list[AttemptRow]:  # fmt: skip
        sql = "SELECT a.* FROM attempts a JOIN items i ON i.id=a.item_id WHERE "
        sql += "1=1" if include_superseded else "a.superseded=0"
        return self._filtered(AttemptRow, sql, (), [("i.batch_id=?", batch_id), ("a.item_id=?", item_id)], "a.id")

    def succeeded(self, item_id: int, step: int, language: str) -> bool:
        r = self._one(
            "SELECT 1 FROM attempts WHERE item_id=? AND step=? AND language=? AND status='SUCCEEDED' AND superseded=0",
            (item_id, step, language),
        )
        return r is not None

    def failures(self, item_id: int, step: int, language: str) -> int:
        """Failed attempts of one unit that count against the retry limit (interruptions do not)."""
        r = self._one(
            "SELECT count(*) FROM attempts WHERE item_id=? AND step=? AND language=? AND status='FAILED'"
            " AND superseded=0",
            (item_id, step, language),
        )
        return int(r[0]) if r else 0

    def supersede_from(self, item_id: int, step: int) -> None:
        """Forget attempts and artifacts of ``step`` and later for an item (used by redo)."""
        with self.atomic() as c:
            c.execute("UPDATE attempts SET superseded=1 WHERE item_id=? AND step>=?", (item_id, step))
            c.execute("UPDATE artifacts SET superseded=1 WHERE item_id=? AND step>=?", (item_id, step))

    def artifacts(self, item_id: int, *, step: int | None = None, language: str | None = None,
                  kind: str | None = None) -> list[ArtifactRow]:  # fmt: skip
        return self._filtered(
            ArtifactRow, "SELECT * FROM artifacts WHERE item_id=? AND superseded=0", (item_id,),
            [("step=?", step), ("language=?", language), ("kind=?", kind)], "id",
        )  # fmt: skip
