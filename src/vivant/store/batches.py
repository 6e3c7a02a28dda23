"""Batches and their items: create (with the lease), list, and ``set_state``, the only way an item's state
changes (the transitions table of :mod:`vivant.states`, each change recorded)."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence

from vivant.errors import IllegalTransition, StoreError
from vivant.redact import redact
from vivant.states import ItemState, allowed
from vivant.store.database import Database
from vivant.store.lease import Holder
from vivant.store.rows import BatchRow, ItemRow, from_row


class BatchQueries(Database):
    """The ``batches``, ``items`` and ``transitions`` tables."""

    def create_batch(self, painting_ids: Sequence[int], *, languages: Sequence[str], seed: int | None,
                     note: str = "", owner: Holder | None = None) -> int:  # fmt: skip
        """Create a batch of items; with ``owner``, its lease too, in the same transaction (so no other process
        can take a new night's batch before the night runs it)."""
        now = self.clock()
        with self.atomic() as c:
            cur = c.execute(
                "INSERT INTO batches (created_at, seed, languages, note) VALUES (?,?,?,?)",
                (now, seed, json.dumps(list(languages)), note),
            )
            batch_id = int(cur.lastrowid or 0)
            for pos, pid in enumerate(painting_ids):
                c.execute(
                    "INSERT INTO items (batch_id, painting_id, position, updated_at) VALUES (?,?,?,?)",
                    (batch_id, pid, pos, now),
                )
            if owner is not None:
                c.execute(
                    "INSERT INTO leases (batch_id, owner, host, pid, pid_start, command, started_at, heartbeat_at)"
                    " VALUES (?,?,?,?,?,?,?,?)",
                    (batch_id, owner.owner, owner.host, owner.pid, owner.pid_start, owner.command, now, now),
                )
        return batch_id

    def batch(self, batch_id: int) -> BatchRow:
        return self._by_id(BatchRow, "batches", batch_id, "batch")

    def batches(self) -> list[BatchRow]:
        return self._rows(BatchRow, "SELECT * FROM batches ORDER BY id")

    def latest_batch(self) -> BatchRow | None:
        r = self._one("SELECT * FROM batches ORDER BY id DESC LIMIT 1")
        return from_row(BatchRow, r) if r else None

    def set_batch_status(self, batch_id: int, status: str) -> None:
        with self.atomic() as c:
            finished = self.clock() if status == "FINISHED" else None
            c.execute("UPDATE batches SET status=?, finished_at=? WHERE id=?", (status, finished, batch_id))

    def items(self, batch_id: int) -> list[ItemRow]:
        return self._rows(ItemRow, "SELECT * FROM items WHERE batch_id=? ORDER BY position", (batch_id,))

    def item(self, item_id: int) -> ItemRow:
        return self._by_id(ItemRow, "items", item_id, "item")

    def items_of_painting(self, painting_id: int) -> list[ItemRow]:
        return self._rows(ItemRow, "SELECT * FROM items WHERE painting_id=? ORDER BY id", (painting_id,))

    def batches_with_work(self) -> list[int]:
        rows = self._all(
            "SELECT DISTINCT batch_id FROM items WHERE state IN ('PENDING','PROCESSING','REDO') ORDER BY batch_id"
        )
        return [r[0] for r in rows]

    def set_state(self, item_id: int, new: ItemState, reason: str = "", *, redo_from: int | None = None) -> None:
        """The only way an item's state changes; refuses transitions not in :data:`vivant.states.ALLOWED`."""
        with self.atomic() as c:
            r = c.execute("SELECT state FROM items WHERE id=?", (item_id,)).fetchone()
            if r is None:
                raise StoreError(f"no item {item_id}")
            old = ItemState(r[0])
            if old == new:
                return
            if not allowed(old, new):
                raise IllegalTransition(item_id, old, new)
            c.execute(
                "UPDATE items SET state=?, reason=?, updated_at=?, redo_from=? WHERE id=?",
                (new.value, redact(reason), self.clock(), redo_from, item_id),
            )
            c.execute(
                "INSERT INTO transitions (item_id, at, old, new, reason) VALUES (?,?,?,?,?)",
                (item_id, self.clock(), old.value, new.value, redact(reason)),
            )

    def transitions(self, item_id: int) -> list[tuple[str, str, str]]:
        return [
            (r["old"], r["new"], r["reason"])
            for r in self._all("SELECT * FROM transitions WHERE item_id=? ORDER BY id", (item_id,))
        ]

    def items_in_states(self, states: Iterable[ItemState]) -> list[ItemRow]:
        """Items of every batch in one of ``states``, oldest batch first."""
        wanted = [s.value for s in states]
        marks = ",".join("?" * len(wanted)) or "''"
        return self._rows(ItemRow, f"SELECT * FROM items WHERE state IN ({marks}) ORDER BY batch_id, position", wanted)
