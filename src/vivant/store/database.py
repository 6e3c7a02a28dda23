"""The connection: WAL, a busy timeout, ``BEGIN IMMEDIATE`` writes with savepoints when nested, the migrations,
and one clear :class:`~vivant.errors.StoreError` naming the file when it is damaged."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Self, TypeVar

from vivant.errors import StoreError, WorkspaceError
from vivant.store.migrations import MIGRATIONS
from vivant.store.rows import from_row

Clock = Callable[[], float]
R = TypeVar("R")


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


def connect(path: Path) -> sqlite3.Connection:
    """Open (creating it and its folder if needed) the database file in WAL mode; no migration yet."""
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
    return conn


class Database:
    """One connection to one SQLite file, its transactions and its migrations; the query groups build on it."""

    def __init__(self, conn: sqlite3.Connection, path: Path, clock: Clock = time.time) -> None:
        self._conn = conn
        self.path = path
        self.clock = clock
        self._depth = 0

    def close(self) -> None:
        self._conn.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def migrate(self, migrations: Sequence[tuple[str, str]] = MIGRATIONS) -> list[str]:
        """Apply the named migrations not yet recorded; return their names. A database that records a migration
        this version does not know (made by a newer one) is refused before anything changes."""
        c = self._conn
        c.execute("CREATE TABLE IF NOT EXISTS migrations (name TEXT PRIMARY KEY, applied_at REAL NOT NULL)")
        done = {r[0] for r in c.execute("SELECT name FROM migrations")}
        unknown = sorted(done - {name for name, _ in migrations})
        if unknown:
            raise StoreError(
                f"{self.path}: the database records migration(s) {', '.join(unknown)} that this version of vivant"
                " does not know (a newer version made it); upgrade vivant to open it"
            )
        applied = []
        for name, sql in migrations:
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

    def _rows(self, cls: type[R], sql: str, args: Sequence[Any] = ()) -> list[R]:
        """The rows of a query as ``cls`` dataclasses."""
        return [from_row(cls, r) for r in self._all(sql, args)]

    def _filtered(
        self, cls: type[R], sql: str, args: Sequence[Any], filters: Iterable[tuple[str, Any]], order: str
    ) -> list[R]:
        """The rows of ``sql`` (which ends in a WHERE clause) narrowed by each (condition with one ``?``, value)
        whose value is not None, as ``cls`` dataclasses in ``order``."""
        params = list(args)
        for condition, value in filters:
            if value is not None:
                sql += f" AND {condition}"
                params.append(value)
        return self._rows(cls, f"{sql} ORDER BY {order}", params)

    def _by_id(self, cls: type[R], table: str, row_id: int, what: str) -> R:
        """The ``table`` row with this id as a ``cls``; :class:`StoreError` ("no {what} {id}") when there is none."""
        r = self._one(f"SELECT * FROM {table} WHERE id=?", (row_id,))
        if r is None:
            raise StoreError(f"no {what} {row_id}")
        return from_row(cls, r)

    def check(self) -> None:
        """``PRAGMA quick_check``: one clear line naming the file when the database is damaged."""
        try:
            rows = [r[0] for r in self._conn.execute("PRAGMA quick_check").fetchall()]
        except sqlite3.DatabaseError as e:
            raise _damaged(self.path, e) from None
        if rows != ["ok"]:
            raise _damaged(self.path, rows[0] if rows else "no answer to quick_check")
