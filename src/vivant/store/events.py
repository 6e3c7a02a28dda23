"""Events of a night (redacted JSON), as the CLI stores them and status and the report read them."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from vivant.redact import redact
from vivant.store.database import Database


class EventQueries(Database):
    """The ``events`` table."""

    def add_event(self, kind: str, data: dict[str, Any], *, batch_id: int | None, item_id: int | None) -> None:
        with self.atomic() as c:
            c.execute(
                "INSERT INTO events (at, batch_id, item_id, kind, data) VALUES (?,?,?,?,?)",
                (self.clock(), batch_id, item_id, kind, redact(json.dumps(data, ensure_ascii=False, default=str))),
            )

    def events(self, batch_id: int, kind: str | None = None, *,
               kinds: Iterable[str] = ()) -> list[tuple[float, str, int | None, dict[str, Any]]]:  # fmt: skip
        sql = "SELECT * FROM events WHERE batch_id=?"
        args: list[Any] = [batch_id]
        if kind:
            sql += " AND kind=?"
            args.append(kind)
        wanted = sorted(kinds)
        if wanted:
            sql += f" AND kind IN ({','.join('?' * len(wanted))})"
            args += wanted
        return [
            (r["at"], r["kind"], r["item_id"], json.loads(r["data"])) for r in self._all(sql + " ORDER BY id", args)
        ]
