"""Batch leases: one live owner per batch (host, pid and the pid's start time), its heartbeat, and the thread
that keeps it fresh while a night runs."""

from __future__ import annotations

import os
import socket
import sqlite3
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from vivant.errors import BatchBusy
from vivant.store.database import Clock, Database
from vivant.store.rows import LeaseRow, from_row


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


class LeaseQueries(Database):
    """The ``leases`` table."""

    def lease(self, batch_id: int) -> LeaseRow | None:
        r = self._one("SELECT * FROM leases WHERE batch_id=?", (batch_id,))
        return from_row(LeaseRow, r) if r else None

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
            old = from_row(LeaseRow, r) if r else None
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
