"""Which server of a pool gets the next job: the policy shared by the ComfyUI and LLM endpoint pools.

A pool holds the servers that share one resource's work (two ComfyUI GPU boxes, three vLLM replicas). Every
job carries an estimated cost (seconds of audio to animate, words to speak, 1 for an image) and goes to the
server that is up and has the least estimated work outstanding, then the fewest jobs, then the one named first
in the config.

``depth`` caps the jobs each server holds at once. With one server there is no reason to hold anything back
(everything queued on it keeps running while this program restarts), but with several, queuing every job up
front fixes the split before anyone knows which server runs faster or which jobs run long; a small depth (2:
the one running and the next, so a server never waits for us) makes the others wait here and go to whichever
server frees a place first. A faster GPU then simply takes more jobs, and the night ends with every server
finishing within about one job of the others.

Waiting jobs are served first come, first served. A server marked down is passed over until its time is up
(or chosen anyway when every server is down, so the caller's own retry policy decides when to give up).
:class:`Balancer` is for threads; :class:`AsyncBalancer` for code running on one asyncio loop.
"""

from __future__ import annotations

import asyncio
import itertools
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from contextlib import asynccontextmanager, contextmanager, suppress
from dataclasses import dataclass


@dataclass
class Slot:
    """One server's share as the balancer sees it."""

    name: str
    in_flight: int = 0
    work: float = 0.0
    """Estimated cost of the jobs it holds."""
    down_until: float = 0.0
    done: int = 0
    failed: int = 0
    peak: int = 0
    """Most jobs it held at once."""


class _Core:
    """The state and the choice; the two front ends add the waiting."""

    def __init__(self, names: Sequence[str], depth: int | None, clock: Callable[[], float]) -> None:
        if not names:
            raise ValueError("a pool needs at least one server")
        self.slots = [Slot(n) for n in names]
        # with one server every job may be queued on it; with several, ``depth`` each (0/None: no cap)
        self.depth = depth if depth and len(names) > 1 else None
        self.clock = clock
        self._tickets = itertools.count()
        self.waiting: list[int] = []

    def choose(self, avoid: int | None = None) -> int | None:
        """The server for the next job, or None when every server that is up holds ``depth`` jobs."""
        now = self.clock()
        up = [k for k, s in enumerate(self.slots) if s.down_until <= now]
        if not up:  # all down: the least recently failed one, so the caller finds out for itself
            up = [min(range(len(self.slots)), key=lambda k: self.slots[k].down_until)]
        free = [k for k in up if self.depth is None or self.slots[k].in_flight < self.depth]
        preferred = [k for k in free if k != avoid] or free
        if not preferred:
            return None
        return min(preferred, key=lambda k: (self.slots[k].work, self.slots[k].in_flight, k))

    def take(self, k: int, cost: float) -> None:
        slot = self.slots[k]
        slot.in_flight += 1
        slot.work += cost
        slot.peak = max(slot.peak, slot.in_flight)

    def give(self, k: int, cost: float, *, ok: bool) -> None:
        slot = self.slots[k]
        slot.in_flight -= 1
        slot.work = max(0.0, slot.work - cost)
        if ok:
            slot.done += 1
        else:
            slot.failed += 1

    def mark_down(self, k: int, seconds: float) -> None:
        self.slots[k].down_until = self.clock() + seconds

    def mark_up(self, k: int) -> None:
        self.slots[k].down_until = 0.0

    def next_change(self) -> float | None:
        """Seconds until a server now marked down may be tried again (None: none is down)."""
        now = self.clock()
        later = [s.down_until - now for s in self.slots if s.down_until > now]
        return max(0.01, min(later)) if later else None


class Balancer(_Core):
    """Thread-safe: :meth:`acquire` blocks (first come, first served) until a server has room."""

    def __init__(self, names: Sequence[str], *, depth: int | None = None,
                 clock: Callable[[], float] = time.monotonic) -> None:  # fmt: skip
        super().__init__(names, depth, clock)
        self._cond = threading.Condition()

    def acquire(self, cost: float = 1.0, *, avoid: int | None = None) -> int:
        with self._cond:
            ticket = next(self._tickets)
            self.waiting.append(ticket)
            try:
                while True:
                    k = self.choose(avoid) if self.waiting[0] == ticket else None
                    if k is not None:
                        self.take(k, cost)
                        return k
                    # a server marked down comes back on its own: look again then, at the latest
                    self._cond.wait(timeout=self.next_change())
            finally:
                self.waiting.remove(ticket)
                self._cond.notify_all()

    def release(self, k: int, cost: float = 1.0, *, ok: bool = True) -> None:
        with self._cond:
            self.give(k, cost, ok=ok)
            self._cond.notify_all()

    def down(self, k: int, seconds: float) -> None:
        with self._cond:
            self.mark_down(k, seconds)
            self._cond.notify_all()

    def up(self, k: int) -> None:
        with self._cond:
            self.mark_up(k)
            self._cond.notify_all()

    @contextmanager
    def lease(self, cost: float = 1.0, *, avoid: int | None = None) -> Iterator[int]:
        """``with balancer.lease(cost) as k:`` (released on exit; counted as failed if the body raised)."""
        k = self.acquire(cost, avoid=avoid)
        ok = False
        try:
            yield k
            ok = True
        finally:
            self.release(k, cost, ok=ok)


class AsyncBalancer(_Core):
    """For one asyncio loop: :meth:`acquire` awaits (first come, first served) until a server has room."""

    def __init__(self, names: Sequence[str], *, depth: int | None = None,
                 clock: Callable[[], float] = time.monotonic) -> None:  # fmt: skip
        super().__init__(names, depth, clock)
        self._cond: asyncio.Condition | None = None

    @property
    def cond(self) -> asyncio.Condition:
        if self._cond is None:  # created on the loop that uses it
            self._cond = asyncio.Condition()
        return self._cond

    async def acquire(self, cost: float = 1.0, *, avoid: int | None = None) -> int:
        async with self.cond:
            ticket = next(self._tickets)
            self.waiting.append(ticket)
            try:
                while True:
                    k = self.choose(avoid) if self.waiting[0] == ticket else None
                    if k is not None:
                        self.take(k, cost)
                        return k
                    with suppress(TimeoutError):
                        await asyncio.wait_for(self.cond.wait(), self.next_change())
            finally:
                self.waiting.remove(ticket)
                self.cond.notify_all()

    async def release(self, k: int, cost: float = 1.0, *, ok: bool = True) -> None:
        async with self.cond:
            self.give(k, cost, ok=ok)
            self.cond.notify_all()

    async def wake(self) -> None:
        """Let waiting jobs look again (after a server was marked up or down)."""
        async with self.cond:
            self.cond.notify_all()

    @asynccontextmanager
    async def lease(self, cost: float = 1.0, *, avoid: int | None = None) -> AsyncIterator[int]:
        k = await self.acquire(cost, avoid=avoid)
        ok = False
        try:
            yield k
            ok = True
        finally:
            await self.release(k, cost, ok=ok)
