"""The state database: the only package that speaks SQL.

SQLite in WAL mode with a busy timeout; every write runs in ``BEGIN IMMEDIATE`` (one writer at a time);
the schema is built by named migrations recorded in the ``migrations`` table. Rows are returned as small
frozen dataclasses, never as dicts with magic keys.

``database`` (connection, transactions, migrations), ``migrations`` (the schema), ``rows`` (the row dataclasses
and their one mapper), and one module per group of tables: ``paintings``, ``batches`` (items and their states),
``attempts`` (and artifacts), ``events``, ``reviews``, ``posts``, ``lease``. :class:`Store` is all of them.

It must not know about steps' internals, backends or files beyond the paths it is given.
"""

from __future__ import annotations

import time
from pathlib import Path

from vivant.store.attempts import AttemptQueries
from vivant.store.batches import BatchQueries
from vivant.store.database import Clock, connect
from vivant.store.events import EventQueries
from vivant.store.lease import Holder, LeaseKeeper, LeaseQueries, busy_message, process_alive
from vivant.store.migrations import MIGRATIONS
from vivant.store.paintings import PaintingQueries
from vivant.store.posts import PostQueries
from vivant.store.reviews import ReviewQueries
from vivant.store.rows import (
    ArtifactRow,
    AttemptRow,
    BatchRow,
    ItemRow,
    LeaseRow,
    NewArtifact,
    NewPainting,
    PaintingRow,
    PostRow,
    ReviewRow,
)


class Store(
    PaintingQueries, BatchQueries, AttemptQueries, EventQueries, ReviewQueries, PostQueries, LeaseQueries
):  # fmt: skip
    """One SQLite database file. Open with :meth:`open`; close with :meth:`close` (or use ``with``)."""

    @classmethod
    def open(cls, path: Path, *, clock: Clock = time.time) -> Store:
        store = cls(connect(path), path, clock)
        try:
            store.migrate()
        except BaseException:
            store.close()
            raise
        return store


__all__ = [
    "MIGRATIONS",
    "ArtifactRow",
    "AttemptRow",
    "BatchRow",
    "Clock",
    "Holder",
    "ItemRow",
    "LeaseKeeper",
    "LeaseRow",
    "NewArtifact",
    "NewPainting",
    "PaintingRow",
    "PostRow",
    "ReviewRow",
    "Store",
    "busy_message",
    "process_alive",
]
