"""Review decisions (APPROVE, REJECT, REDO) and their figures for the report."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from vivant.errors import StoreError
from vivant.store.database import Database
from vivant.store.rows import ReviewRow


class ReviewQueries(Database):
    """The ``reviews`` table."""

    def add_review(self, item_id: int, decision: str, *, reasons: Sequence[str] = (), note: str = "",
                   redo_from: int | None = None) -> int:  # fmt: skip
        """Record one review decision (APPROVE, REJECT, REDO) with its time; the state change is the caller's."""
        with self.atomic() as c:
            if c.execute("SELECT 1 FROM items WHERE id=?", (item_id,)).fetchone() is None:
                raise StoreError(f"no item {item_id}")
            cur = c.execute(
                "INSERT INTO reviews (item_id, decision, reasons, note, redo_from, at) VALUES (?,?,?,?,?,?)",
                (item_id, decision, json.dumps(list(reasons), ensure_ascii=False), note, redo_from, self.clock()),
            )
            return int(cur.lastrowid or 0)

    def reviews(self, item_id: int | None = None) -> list[ReviewRow]:
        sql, args = "SELECT * FROM reviews", []
        if item_id is not None:
            sql, args = sql + " WHERE item_id=?", [item_id]
        return self._rows(ReviewRow, sql + " ORDER BY id", args)

    def review_stats(self, batch_id: int | None = None) -> dict[str, Any]:
        """Review decisions as data for the report: every decision, the latest per item, the rejection rate and
        the reasons given (a rejection may give several)."""
        sql = "SELECT r.* FROM reviews r JOIN items i ON i.id=r.item_id"
        args: list[Any] = []
        if batch_id is not None:
            sql += " WHERE i.batch_id=?"
            args.append(batch_id)
        rows = self._rows(ReviewRow, sql + " ORDER BY r.id", args)
        latest: dict[int, ReviewRow] = {}
        for row in rows:
            latest[row.item_id] = row
        final = {"APPROVE": 0, "REJECT": 0, "REDO": 0}
        reasons: dict[str, int] = {}
        for row in latest.values():
            final[row.decision] = final.get(row.decision, 0) + 1
        for row in rows:
            if row.decision == "REJECT":
                for reason in row.reasons:
                    reasons[reason] = reasons.get(reason, 0) + 1
        judged = final["APPROVE"] + final["REJECT"]
        return {
            "decisions": len(rows),
            "reviewed_items": len(latest),
            "latest": final,
            "rejection_rate": final["REJECT"] / judged if judged else None,
            "reasons": dict(sorted(reasons.items(), key=lambda kv: (-kv[1], kv[0]))),
        }
