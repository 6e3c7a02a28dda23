"""The state database: the only module that speaks SQL.

SQLite in WAL mode with a busy timeout; every write runs in ``BEGIN IMMEDIATE`` (one writer at a time);
the schema is built by named migrations recorded in the ``migrations`` table. Rows are returned as small
frozen dataclasses, never as dicts with magic keys.

It must not know about steps' internals, backends or files beyond the paths it is given.
"""

from __future__ import annotations

import json
import os
import socket
import sqlite3
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from vivant.errors import BatchBusy, IllegalTransition, StoreError, WorkspaceError
from vivant.redact import redact
from vivant.states import AttemptStatus, ItemState, allowed

Clock = Callable[[], float]

MIGRATIONS: list[tuple[str, str]] = [
    (
        "0001_initial",
        """
        CREATE TABLE paintings (
            id INTEGER PRIMARY KEY,
            key TEXT NOT NULL UNIQUE,
            title TEXT NOT NULL,
            artist TEXT NOT NULL,
            year INTEGER,
            artist_died INTEGER,
            genre TEXT,
            style TEXT,
            image_path TEXT NOT NULL,
            tags TEXT NOT NULL DEFAULT '[]',
            description TEXT,
            is_portrait INTEGER NOT NULL DEFAULT 0,
            source TEXT NOT NULL DEFAULT '',
            added_at REAL NOT NULL
        );
        CREATE INDEX paintings_portrait ON paintings(is_portrait);
        CREATE TABLE batches (
            id INTEGER PRIMARY KEY,
            created_at REAL NOT NULL,
            finished_at REAL,
            status TEXT NOT NULL DEFAULT 'RUNNING',
            seed INTEGER,
            languages TEXT NOT NULL,
            note TEXT NOT NULL DEFAULT ''
        );
        CREATE TABLE items (
            id INTEGER PRIMARY KEY,
            batch_id INTEGER NOT NULL REFERENCES batches(id),
            painting_id INTEGER NOT NULL REFERENCES paintings(id),
            position INTEGER NOT NULL,
            state TEXT NOT NULL DEFAULT 'PENDING',
            reason TEXT NOT NULL DEFAULT '',
            redo_from INTEGER,
            updated_at REAL NOT NULL,
            UNIQUE(batch_id, painting_id)
        );
        CREATE INDEX items_painting ON items(painting_id);
        CREATE TABLE attempts (
            id INTEGER PRIMARY KEY,
            item_id INTEGER NOT NULL REFERENCES items(id),
            step INTEGER NOT NULL,
            language TEXT NOT NULL DEFAULT '',
            number INTEGER NOT NULL,
            started_at REAL NOT NULL,
            finished_at REAL,
            status TEXT NOT NULL,
            error TEXT NOT NULL DEFAULT '',
            backend TEXT NOT NULL DEFAULT '',
            degraded INTEGER NOT NULL DEFAULT 0,
            resource TEXT NOT NULL DEFAULT '',
            queue_wait REAL,
            compute REAL,
            remote_id TEXT,
            superseded INTEGER NOT NULL DEFAULT 0
        );
        CREATE INDEX attempts_unit ON attempts(item_id, step, language);
        CREATE TABLE artifacts (
            id INTEGER PRIMARY KEY,
            item_id INTEGER NOT NULL REFERENCES items(id),
            attempt_id INTEGER NOT NULL REFERENCES attempts(id),
            step INTEGER NOT NULL,
            language TEXT NOT NULL DEFAULT '',
            kind TEXT NOT NULL,
            path TEXT NOT NULL,
            sha256 TEXT NOT NULL,
            bytes INTEGER NOT NULL,
            created_at REAL NOT NULL,
            superseded INTEGER NOT NULL DEFAULT 0
        );
        CREATE INDEX artifacts_item ON artifacts(item_id, step, language, kind);
        CREATE TABLE events (
            id INTEGER PRIMARY KEY,
            at REAL NOT NULL,
            batch_id INTEGER,
            item_id INTEGER,
            kind TEXT NOT NULL,
            data TEXT NOT NULL DEFAULT '{}'
        );
        CREATE TABLE transitions (
            id INTEGER PRIMARY KEY,
            item_id INTEGER NOT NULL REFERENCES items(id),
            at REAL NOT NULL,
            old TEXT NOT NULL,
            new TEXT NOT NULL,
            reason TEXT NOT NULL DEFAULT ''
        );
        """,
    ),
    (
        "0002_review_publish",
        """
        CREATE TABLE reviews (
            id INTEGER PRIMARY KEY,
            item_id INTEGER NOT NULL REFERENCES items(id),
            decision TEXT NOT NULL,
            reasons TEXT NOT NULL DEFAULT '[]',
            note TEXT NOT NULL DEFAULT '',
            redo_from INTEGER,
            at REAL NOT NULL
        );
        CREATE INDEX reviews_item ON reviews(item_id);
        CREATE TABLE posts (
            id INTEGER PRIMARY KEY,
            item_id INTEGER NOT NULL REFERENCES items(id),
            platform TEXT NOT NULL,
            language TEXT NOT NULL,
            state TEXT NOT NULL DEFAULT 'QUEUED',
            day TEXT NOT NULL,
            slot INTEGER NOT NULL DEFAULT 0,
            due_at REAL NOT NULL,
            next_try_at REAL,
            upload_ref TEXT NOT NULL DEFAULT '{}',
            remote_id TEXT,
            url TEXT,
            attempts INTEGER NOT NULL DEFAULT 0,
            error TEXT NOT NULL DEFAULT '',
            created_at REAL NOT NULL,
            updated_at REAL NOT NULL,
            posted_at REAL,
            UNIQUE(item_id, platform, language)
        );
        CREATE INDEX posts_day ON posts(day, platform, language)
        """,
    ),
    (
        "0003_attempt_endpoint",
        """
        ALTER TABLE attempts ADD COLUMN endpoint TEXT NOT NULL DEFAULT ''
        """,
    ),
    (
        "0004_painting_title_fr_gender",
        """
        ALTER TABLE paintings ADD COLUMN title_fr TEXT;
        ALTER TABLE paintings ADD COLUMN gender TEXT
        """,
    ),
    (
        "0005_batch_lease",
        """
        CREATE TABLE leases (
            batch_id INTEGER PRIMARY KEY REFERENCES batches(id),
            owner TEXT NOT NULL,
            host TEXT NOT NULL,
            pid INTEGER NOT NULL,
            pid_start TEXT NOT NULL DEFAULT '',
            command TEXT NOT NULL DEFAULT '',
            started_at REAL NOT NULL,
            heartbeat_at REAL NOT NULL
        )
        """,
    ),
]


@dataclass(frozen=True)
class PaintingRow:
    id: int
    key: str
    title: str
    artist: str
    year: int | None
    artist_died: int | None
    genre: str | None
    style: str | None
    image_path: str
    tags: tuple[str, ...]
    description: str | None
    is_portrait: bool
    source: str
    title_fr: str | None = None
    gender: str | None = None
    """The sitter's gender as the catalog gives it: "female", "male", or None (unknown)."""


@dataclass(frozen=True)
class NewPainting:
    """A painting to add to the catalog (the import's output)."""

    key: str
    title: str
    artist: str
    image_path: str
    year: int | None = None
    artist_died: int | None = None
    genre: str | None = None
    style: str | None = None
    tags: tuple[str, ...] = ()
    description: str | None = None
    is_portrait: bool = False
    source: str = ""
    title_fr: str | None = None
    gender: str | None = None


@dataclass(frozen=True)
class BatchRow:
    id: int
    created_at: float
    finished_at: float | None
    status: str
    seed: int | None
    languages: tuple[str, ...]
    note: str


@dataclass(frozen=True)
class ItemRow:
    id: int
    batch_id: int
    painting_id: int
    position: int
    state: ItemState
    reason: str
    redo_from: int | None
    updated_at: float


@dataclass(frozen=True)
class AttemptRow:
    id: int
    item_id: int
    step: int
    language: str
    number: int
    started_at: float
    finished_at: float | None
    status: AttemptStatus
    error: str
    backend: str
    degraded: bool
    resource: str
    queue_wait: float | None
    compute: float | None
    remote_id: str | None
    superseded: bool
    endpoint: str = ""
    """The server of a pool that ran it (a URL without credentials); empty for local work."""


@dataclass(frozen=True)
class ArtifactRow:
    id: int
    item_id: int
    attempt_id: int
    step: int
    language: str
    kind: str
    path: str
    sha256: str
    bytes: int
    created_at: float


@dataclass(frozen=True)
class NewArtifact:
    kind: str
    path: str
    sha256: str
    bytes: int


@dataclass(frozen=True)
class Holder:
    """A process that may own a batch: host, pid and the pid's start time (so a reused pid is not mistaken)."""

    host: str
    pid: int
    pid_start: str = ""
    command: str = ""

    @property
    def owner(self) -> str:
        return f"{self.host}:{self.pid}:{self.pid_start}"

    @classmethod
    def this_process(cls, command: str = "") -> Holder:
        pid = os.getpid()
        return cls(socket.gethostname(), pid, _process_start(pid) or "", command)


@dataclass(frozen=True)
class LeaseRow:
    """Who owns a batch now: one row per batch, written by the engine while it runs the batch."""

    batch_id: int
    owner: str
    host: str
    pid: int
    pid_start: str
    command: str
    started_at: float
    heartbeat_at: float


def _process_start(pid: int) -> str | None:
    """The start time of a process (clock ticks since boot, from /proc), or None where there is no /proc."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text(encoding="ascii", errors="replace")
    except OSError:
        return None
    fields = stat.rsplit(")", 1)[-1].split()
    if len(fields) < 20 or fields[0] in ("Z", "X"):
        return None  # a zombie is dead: it only waits to be reaped
    return fields[19]


def process_alive(pid: int, pid_start: str = "") -> bool:
    """Whether a process of this host still runs (and is the same one: same start time when it was recorded)."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # it exists, owned by another user
    except OSError:
        return False
    if Path("/proc/self/stat").exists():
        start = _process_start(pid)
        if start is None or (pid_start and start != pid_start):
            return False
    return True


def _lease(r: sqlite3.Row) -> LeaseRow:
    return LeaseRow(
        batch_id=r["batch_id"], owner=r["owner"], host=r["host"], pid=r["pid"], pid_start=r["pid_start"],
        command=r["command"], started_at=r["started_at"], heartbeat_at=r["heartbeat_at"],
    )  # fmt: skip


def _painting(r: sqlite3.Row) -> PaintingRow:
    return PaintingRow(
        id=r["id"], key=r["key"], title=r["title"], artist=r["artist"], year=r["year"],
        artist_died=r["artist_died"], genre=r["genre"], style=r["style"], image_path=r["image_path"],
        tags=tuple(json.loads(r["tags"])), description=r["description"], is_portrait=bool(r["is_portrait"]),
        source=r["source"], title_fr=r["title_fr"], gender=r["gender"],
    )  # fmt: skip


def _batch(r: sqlite3.Row) -> BatchRow:
    return BatchRow(
        id=r["id"], created_at=r["created_at"], finished_at=r["finished_at"], status=r["status"],
        seed=r["seed"], languages=tuple(json.loads(r["languages"])), note=r["note"],
    )  # fmt: skip


def _item(r: sqlite3.Row) -> ItemRow:
    return ItemRow(
        id=r["id"], batch_id=r["batch_id"], painting_id=r["painting_id"], position=r["position"],
        state=ItemState(r["state"]), reason=r["reason"], redo_from=r["redo_from"], updated_at=r["updated_at"],
    )  # fmt: skip


def _attempt(r: sqlite3.Row) -> AttemptRow:
    return AttemptRow(
        id=r["id"], item_id=r["item_id"], step=r["step"], language=r["language"], number=r["number"],
        started_at=r["started_at"], finished_at=r["finished_at"], status=AttemptStatus(r["status"]),
        error=r["error"], backend=r["backend"], degraded=bool(r["degraded"]), resource=r["resource"],
        queue_wait=r["queue_wait"], compute=r["compute"], remote_id=r["remote_id"],
        superseded=bool(r["superseded"]), endpoint=r["endpoint"],
    )  # fmt: skip


def _artifact(r: sqlite3.Row) -> ArtifactRow:
    return ArtifactRow(
        id=r["id"], item_id=r["item_id"], attempt_id=r["attempt_id"], step=r["step"], language=r["language"],
        kind=r["kind"], path=r["path"], sha256=r["sha256"], bytes=r["bytes"], created_at=r["created_at"],
    )  # fmt: skip


@dataclass(frozen=True)
class ReviewRow:
    id: int
    item_id: int
    decision: str
    reasons: tuple[str, ...]
    note: str
    redo_from: int | None
    at: float


@dataclass(frozen=True)
class PostRow:
    id: int
    item_id: int
    platform: str
    language: str
    state: str
    day: str
    slot: int
    due_at: float
    next_try_at: float | None
    upload_ref: dict[str, Any]
    remote_id: str | None
    url: str | None
    attempts: int
    error: str
    created_at: float
    updated_at: float
    posted_at: float | None


def _review(r: sqlite3.Row) -> ReviewRow:
    return ReviewRow(
        id=r["id"], item_id=r["item_id"], decision=r["decision"], reasons=tuple(json.loads(r["reasons"])),
        note=r["note"], redo_from=r["redo_from"], at=r["at"],
    )  # fmt: skip


def _post(r: sqlite3.Row) -> PostRow:
    return PostRow(
        id=r["id"], item_id=r["item_id"], platform=r["platform"], language=r["language"], state=r["state"],
        day=r["day"], slot=r["slot"], due_at=r["due_at"], next_try_at=r["next_try_at"],
        upload_ref=json.loads(r["upload_ref"] or "{}"), remote_id=r["remote_id"], url=r["url"],
        attempts=r["attempts"], error=r["error"], created_at=r["created_at"], updated_at=r["updated_at"],
        posted_at=r["posted_at"],
    )  # fmt: skip


def _is_damage(e: BaseException) -> bool:
    """A damaged file (``DatabaseError`` itself: "malformed", "not a database"), not a constraint or a lock."""
    return type(e) is sqlite3.DatabaseError


def _damaged(path: Path, e: object) -> StoreError:
    return StoreError(
        f"{path}: the database is damaged ({e}); restore it from a backup, or try `sqlite3 {path} .recover`"
    )


class _Conn(sqlite3.Connection):
    """A connection whose statements turn a damaged file into one :class:`StoreError` naming the file."""

    path: Path = Path("vivant.db")

    def execute(self, sql: str, parameters: Any = (), /) -> sqlite3.Cursor:
        try:
            return super().execute(sql, parameters)
        except sqlite3.DatabaseError as e:
            if _is_damage(e):
                raise _damaged(self.path, e) from None
            raise


def busy_message(batch_id: int, lease: LeaseRow, now: float) -> str:
    """One line: who runs the batch, since when, and that nothing was changed."""
    since = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(lease.started_at))
    what = f" ({lease.command})" if lease.command else ""
    return (
        f"batch {batch_id} is being run by process {lease.pid} on {lease.host}{what} since {since}"
        f" (last sign of life {max(0, round(now - lease.heartbeat_at))} s ago): nothing changed;"
        " let it finish, or stop it, then `vivant resume`"
    )


class LeaseKeeper:
    """Refreshes a batch's lease every ``interval`` seconds from a thread with its own connection (the engine's
    connection stays on the main thread). ``lost`` is set when another process took the lease over."""

    def __init__(self, path: Path, batch_id: int, me: Holder, *, interval: float, clock: Clock = time.time) -> None:
        self.path, self.batch_id, self.me, self.interval, self.clock = path, batch_id, me, interval, clock
        self.lost = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name=f"lease-{batch_id}", daemon=True)

    def start(self) -> LeaseKeeper:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=10)

    def _loop(self) -> None:
        try:
            conn = sqlite3.connect(self.path, timeout=30, isolation_level=None)
        except sqlite3.Error:
            return
        try:
            while not self._stop.wait(self.interval):
                try:
                    n = conn.execute("UPDATE leases SET heartbeat_at=? WHERE batch_id=? AND owner=?",
                                     (self.clock(), self.batch_id, self.me.owner)).rowcount  # fmt: skip
                except sqlite3.Error:
                    continue  # busy or damaged: the next beat tries again; the main thread reports real errors
                if n == 0:
                    self.lost.set()
                    return
        finally:
            conn.close()


class Store:
    """One SQLite database file. Open with :meth:`open`; close with :meth:`close` (or use ``with``)."""

    def __init__(self, conn: sqlite3.Connection, path: Path, clock: Clock = time.time) -> None:
        self._conn = conn
        self.path = path
        self.clock = clock
        self._depth = 0

    # -- life cycle ---------------------------------------------------------------------------------------------
    @classmethod
    def open(cls, path: Path, *, clock: Clock = time.time) -> Store:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            conn = sqlite3.connect(path, timeout=30, isolation_level=None, check_same_thread=False, factory=_Conn)
            conn.path = path
            conn.row_factory = sqlite3.Row
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA foreign_keys=ON")
            conn.execute("PRAGMA synchronous=NORMAL")
            conn.execute("PRAGMA busy_timeout=30000")
        except sqlite3.Error as e:
            raise StoreError(f"{path}: cannot open the database: {e}") from None
        store = cls(conn, path, clock)
        store.migrate()
        return store

    def close(self) -> None:
        self._conn.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def migrate(self) -> list[str]:
        """Apply the named migrations not yet recorded; return their names."""
        c = self._conn
        c.execute("CREATE TABLE IF NOT EXISTS migrations (name TEXT PRIMARY KEY, applied_at REAL NOT NULL)")
        done = {r[0] for r in c.execute("SELECT name FROM migrations")}
        applied = []
        for name, sql in MIGRATIONS:
            if name in done:
                continue
            with self.atomic():
                for statement in sql.split(";"):
                    if statement.strip():
                        c.execute(statement)
                c.execute("INSERT INTO migrations VALUES (?, ?)", (name, self.clock()))
            applied.append(name)
        return applied

    def applied_migrations(self) -> list[str]:
        return [r[0] for r in self._conn.execute("SELECT name FROM migrations ORDER BY name")]

    @contextmanager
    def atomic(self) -> Iterator[sqlite3.Connection]:
        """A write transaction (``BEGIN IMMEDIATE``); nested calls use savepoints."""
        c = self._conn
        if self._depth == 0:
            try:
                c.execute("BEGIN IMMEDIATE")
            except sqlite3.OperationalError as e:
                raise StoreError(f"{self.path}: cannot start a write: {e}") from None
        else:
            c.execute(f"SAVEPOINT sp{self._depth}")
        self._depth += 1
        try:
            yield c
        except BaseException as e:
            self._depth -= 1
            try:
                if self._depth == 0:
                    c.execute("ROLLBACK")
                else:
                    c.execute(f"ROLLBACK TO sp{self._depth}")
                    c.execute(f"RELEASE sp{self._depth}")
            except (sqlite3.Error, StoreError):
                if not isinstance(e, (sqlite3.Error, StoreError)):
                    raise
            if isinstance(e, sqlite3.OperationalError) and "full" in str(e):
                raise WorkspaceError(f"{self.path}: the database cannot be written: {e}") from None
            if _is_damage(e):
                raise _damaged(self.path, e) from None
            raise
        else:
            self._depth -= 1
            try:
                if self._depth == 0:
                    c.execute("COMMIT")
                else:
                    c.execute(f"RELEASE sp{self._depth}")
            except sqlite3.OperationalError as e:
                if self._depth == 0:
                    c.execute("ROLLBACK")
                if "full" in str(e):
                    raise WorkspaceError(f"{self.path}: the database cannot be written: {e}") from None
                raise StoreError(f"{self.path}: cannot commit: {e}") from None

    def _one(self, sql: str, args: Sequence[Any] = ()) -> sqlite3.Row | None:
        try:
            row: sqlite3.Row | None = self._conn.execute(sql, args).fetchone()
        except OverflowError:
            return None  # an id beyond SQLite's integers matches no row
        except sqlite3.DatabaseError as e:
            raise _damaged(self.path, e) from None
        return row

    def _all(self, sql: str, args: Sequence[Any] = ()) -> list[sqlite3.Row]:
        try:
            return list(self._conn.execute(sql, args).fetchall())
        except OverflowError:
            return []
        except sqlite3.DatabaseError as e:
            raise _damaged(self.path, e) from None

    def check(self) -> None:
        """``PRAGMA quick_check``: one clear line naming the file when the database is damaged."""
        try:
            rows = [r[0] for r in self._conn.execute("PRAGMA quick_check").fetchall()]
        except sqlite3.DatabaseError as e:
            raise _damaged(self.path, e) from None
        if rows != ["ok"]:
            raise _damaged(self.path, rows[0] if rows else "no answer to quick_check")

    # -- paintings ----------------------------------------------------------------------------------------------
    def add_paintings(self, rows: Iterable[NewPainting]) -> tuple[int, int]:
        """Insert or update paintings by ``key``; return (inserted, updated)."""
        now = self.clock()
        inserted = updated = 0
        with self.atomic() as c:
            existing = {r[0] for r in c.execute("SELECT key FROM paintings")}
            for p in rows:
                values = (
                    p.title, p.artist, p.year, p.artist_died, p.genre, p.style, p.image_path,
                    json.dumps(list(p.tags), ensure_ascii=False), p.description, int(p.is_portrait), p.source,
                    p.title_fr, p.gender,
                )  # fmt: skip
                if p.key in existing:
                    c.execute(
                        "UPDATE paintings SET title=?, artist=?, year=?, artist_died=?, genre=?, style=?,"
                        " image_path=?, tags=?, description=?, is_portrait=?, source=?, title_fr=?, gender=?"
                        " WHERE key=?",
                        (*values, p.key),
                    )
                    updated += 1
                else:
                    c.execute(
                        "INSERT INTO paintings (title, artist, year, artist_died, genre, style, image_path, tags,"
                        " description, is_portrait, source, title_fr, gender, key, added_at)"
                        " VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                        (*values, p.key, now),
                    )
                    existing.add(p.key)
                    inserted += 1
        return inserted, updated

    def painting(self, painting_id: int) -> PaintingRow:
        r = self._one("SELECT * FROM paintings WHERE id=?", (painting_id,))
        if r is None:
            raise StoreError(f"no painting with id {painting_id}")
        return _painting(r)

    def find_painting(self, ref: str) -> PaintingRow:
        """A painting by id, key, or unique title (case-insensitive)."""
        r = self._one("SELECT * FROM paintings WHERE key=?", (ref,))
        if r is None and ref.isdigit():
            r = self._one("SELECT * FROM paintings WHERE id=?", (int(ref),))
        if r is None:
            rows = self._all("SELECT * FROM paintings WHERE lower(title)=lower(?)", (ref,))
            if len(rows) > 1:
                raise StoreError(f"painting {ref!r}: {len(rows)} paintings have that title; use the key")
            r = rows[0] if rows else None
        if r is None:
            raise StoreError(f"painting {ref!r}: not in the catalog")
        return _painting(r)

    def portrait_candidates(self, *, include_used: bool = False) -> list[tuple[int, str]]:
        """(id, image_path) of every portrait, optionally leaving out those already in a batch, by id."""
        sql = "SELECT id, image_path FROM paintings WHERE is_portrait=1"
        if not include_used:
            sql += " AND id NOT IN (SELECT painting_id FROM items)"
        return [(r[0], r[1]) for r in self._conn.execute(sql + " ORDER BY id")]

    def painting_genres(self) -> list[tuple[int, str]]:
        """(id, genre) of every painting, by id."""
        return [(r[0], r[1] or "") for r in self._conn.execute("SELECT id, genre FROM paintings ORDER BY id")]

    def portrait_ids(self, *, include_used: bool = False) -> list[int]:
        """Ids of every portrait (optionally leaving out those already in a batch), by id; no paths, so cheap."""
        sql = "SELECT id FROM paintings WHERE is_portrait=1"
        if not include_used:
            sql += " AND id NOT IN (SELECT painting_id FROM items)"
        return [r[0] for r in self._conn.execute(sql + " ORDER BY id")]

    def image_paths(self, painting_ids: Sequence[int]) -> dict[int, str]:
        """image_path of each of these paintings, by id (ids not in the catalog are left out)."""
        out: dict[int, str] = {}
        ids = list(painting_ids)
        for start in range(0, len(ids), 500):
            chunk = ids[start : start + 500]
            marks = ",".join("?" * len(chunk))
            out.update((r[0], r[1]) for r in self._conn.execute(
                f"SELECT id, image_path FROM paintings WHERE id IN ({marks})", chunk
            ))  # fmt: skip
        return out

    def catalog_stats(self) -> dict[str, Any]:
        one = self._one(
            "SELECT count(*) AS n, sum(is_portrait) AS portraits, count(DISTINCT artist) AS artists,"
            " sum(CASE WHEN id IN (SELECT painting_id FROM items) THEN 1 ELSE 0 END) AS used FROM paintings"
        )
        assert one is not None
        genres = self._all("SELECT coalesce(genre, '?') g, count(*) n FROM paintings GROUP BY g ORDER BY n DESC")
        artists = self._all("SELECT artist, count(*) n FROM paintings GROUP BY artist ORDER BY n DESC LIMIT 10")
        sources = self._all("SELECT source, count(*) n FROM paintings GROUP BY source ORDER BY n DESC")
        return {
            "paintings": one["n"],
            "portraits": one["portraits"] or 0,
            "artists": one["artists"],
            "used": one["used"] or 0,
            "genres": {r["g"]: r["n"] for r in genres},
            "top_artists": {r["artist"]: r["n"] for r in artists},
            "sources": {r["source"]: r["n"] for r in sources},
        }

    # -- batches and items --------------------------------------------------------------------------------------
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
        r = self._one("SELECT * FROM batches WHERE id=?", (batch_id,))
        if r is None:
            raise StoreError(f"no batch {batch_id}")
        return _batch(r)

    def batches(self) -> list[BatchRow]:
        return [_batch(r) for r in self._all("SELECT * FROM batches ORDER BY id")]

    def latest_batch(self) -> BatchRow | None:
        r = self._one("SELECT * FROM batches ORDER BY id DESC LIMIT 1")
        return _batch(r) if r else None

    # -- leases: one live owner per batch ----------------------------------------------------------------------
    def lease(self, batch_id: int) -> LeaseRow | None:
        r = self._one("SELECT * FROM leases WHERE batch_id=?", (batch_id,))
        return _lease(r) if r else None

    def lease_alive(self, lease: LeaseRow, *, stale_after: float) -> bool:
        """Whether a lease's owner still runs: on this host its pid (and the pid's start time) decides; from
        another host (a workspace on a shared disk) only its heartbeat can, fresher than ``stale_after`` s."""
        if lease.host == socket.gethostname():
            return process_alive(lease.pid, lease.pid_start)
        return self.clock() - lease.heartbeat_at < stale_after

    def busy(self, batch_id: int, me: Holder, *, stale_after: float) -> LeaseRow | None:
        """The lease of another live owner of this batch, or None when ``me`` may run it."""
        lease = self.lease(batch_id)
        if lease is None or lease.owner == me.owner or not self.lease_alive(lease, stale_after=stale_after):
            return None
        return lease

    def acquire_lease(self, batch_id: int, me: Holder, *, stale_after: float) -> LeaseRow | None:
        """Make ``me`` the batch's one owner. A live other owner → :class:`BatchBusy` and nothing changes; a dead
        one's lease (pid gone, or heartbeat older than ``stale_after`` s) is taken over: return it."""
        now = self.clock()
        with self.atomic() as c:
            r = c.execute("SELECT * FROM leases WHERE batch_id=?", (batch_id,)).fetchone()
            old = _lease(r) if r else None
            if old is not None and old.owner != me.owner and self.lease_alive(old, stale_after=stale_after):
                raise BatchBusy(batch_id, busy_message(batch_id, old, now))
            c.execute(
                "INSERT OR REPLACE INTO leases (batch_id, owner, host, pid, pid_start, command, started_at,"
                " heartbeat_at) VALUES (?,?,?,?,?,?,?,?)",
                (batch_id, me.owner, me.host, me.pid, me.pid_start, me.command,
                 old.started_at if old is not None and old.owner == me.owner else now, now),
            )  # fmt: skip
        return old if old is not None and old.owner != me.owner else None

    def heartbeat(self, batch_id: int, me: Holder) -> bool:
        """Refresh the lease; False when ``me`` no longer owns it (taken over as stale)."""
        with self.atomic() as c:
            n = c.execute("UPDATE leases SET heartbeat_at=? WHERE batch_id=? AND owner=?",
                          (self.clock(), batch_id, me.owner)).rowcount  # fmt: skip
        return n > 0

    def release_lease(self, batch_id: int, me: Holder) -> None:
        with self.atomic() as c:
            c.execute("DELETE FROM leases WHERE batch_id=? AND owner=?", (batch_id, me.owner))

    def set_batch_status(self, batch_id: int, status: str) -> None:
        with self.atomic() as c:
            finished = self.clock() if status == "FINISHED" else None
            c.execute("UPDATE batches SET status=?, finished_at=? WHERE id=?", (status, finished, batch_id))

    def items(self, batch_id: int) -> list[ItemRow]:
        return [_item(r) for r in self._all("SELECT * FROM items WHERE batch_id=? ORDER BY position", (batch_id,))]

    def item(self, item_id: int) -> ItemRow:
        r = self._one("SELECT * FROM items WHERE id=?", (item_id,))
        if r is None:
            raise StoreError(f"no item {item_id}")
        return _item(r)

    def items_of_painting(self, painting_id: int) -> list[ItemRow]:
        return [_item(r) for r in self._all("SELECT * FROM items WHERE painting_id=? ORDER BY id", (painting_id,))]

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

    # -- attempts -----------------------------------------------------------------------------------------------
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
        r = self._one("SELECT * FROM attempts WHERE id=?", (attempt_id,))
        if r is None:
            raise StoreError(f"no attempt {attempt_id}")
        return _attempt(r)

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
        sql = "SELECT a.* FROM attempts a JOIN items i ON i.id=a.item_id WHERE 1=1"
        args: list[Any] = []
        if batch_id is not None:
            sql += " AND i.batch_id=?"
            args.append(batch_id)
        if item_id is not None:
            sql += " AND a.item_id=?"
            args.append(item_id)
        if not include_superseded:
            sql += " AND a.superseded=0"
        return [_attempt(r) for r in self._all(sql + " ORDER BY a.id", args)]

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

    # -- artifacts ----------------------------------------------------------------------------------------------
    def artifacts(self, item_id: int, *, step: int | None = None, language: str | None = None,
                  kind: str | None = None) -> list[ArtifactRow]:  # fmt: skip
        sql = "SELECT * FROM artifacts WHERE item_id=? AND superseded=0"
        args: list[Any] = [item_id]
        for col, val in (("step", step), ("language", language), ("kind", kind)):
            if val is not None:
                sql += f" AND {col}=?"
                args.append(val)
        return [_artifact(r) for r in self._all(sql + " ORDER BY id", args)]

    # -- events -------------------------------------------------------------------------------------------------
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

    # -- review decisions ---------------------------------------------------------------------------------------
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
        return [_review(r) for r in self._all(sql + " ORDER BY id", args)]

    def review_stats(self, batch_id: int | None = None) -> dict[str, Any]:
        """Review decisions as data for the report: every decision, the latest per item, the rejection rate and
        the reasons given (a rejection may give several)."""
        sql = "SELECT r.* FROM reviews r JOIN items i ON i.id=r.item_id"
        args: list[Any] = []
        if batch_id is not None:
            sql += " WHERE i.batch_id=?"
            args.append(batch_id)
        rows = [_review(r) for r in self._all(sql + " ORDER BY r.id", args)]
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

    def items_in_states(self, states: Iterable[ItemState]) -> list[ItemRow]:
        """Items of every batch in one of ``states``, oldest batch first."""
        wanted = [s.value for s in states]
        marks = ",".join("?" * len(wanted)) or "''"
        return [_item(r) for r in self._all(
            f"SELECT * FROM items WHERE state IN ({marks}) ORDER BY batch_id, position", wanted
        )]  # fmt: skip

    # -- posts ----------------------------------------------------------------------------------------------------
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
        r = self._one("SELECT * FROM posts WHERE id=?", (post_id,))
        if r is None:
            raise StoreError(f"no post {post_id}")
        return _post(r)

    def posts(self, *, day: str | None = None, states: Iterable[str] | None = None,
              item_id: int | None = None) -> list[PostRow]:  # fmt: skip
        sql = "SELECT * FROM posts WHERE 1=1"
        args: list[Any] = []
        if day is not None:
            sql += " AND day=?"
            args.append(day)
        if item_id is not None:
            sql += " AND item_id=?"
            args.append(item_id)
        if states is not None:
            wanted = list(states)
            sql += f" AND state IN ({','.join('?' * len(wanted)) or chr(39) * 2})"
            args += wanted
        return [_post(r) for r in self._all(sql + " ORDER BY day, slot, id", args)]

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
