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

Models. A job may name the model files it loads (its *family*). Once it has a place on a server that holds jobs
of another family, :meth:`Balancer.enter_models` makes it wait until at most one of those is left (the one
running), then tells the caller it switches the server's models (ComfyUI: ``POST /free``, which the server
carries out right after that job); until the caller says the switch is done, the jobs behind it wait too. A job
of the old family that arrives late still goes in while the switch waits. So when the next step's jobs reach a
pool before the last step's are done, each server changes models once, at its own pace.
:class:`Balancer` is for threads; :class:`AsyncBalancer` for code running on one asyncio loop.
"""

from __future__ import annotations

import asyncio
import itertools
import threading
import time
from collections import Counter
from collections.abc import AsyncIterator, Callable, Hashable, Iterator, Sequence
from contextlib import asynccontextmanager, contextmanager, suppress
from dataclasses import dataclass, field


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
    models: Hashable | None = None
    """The family of the jobs last let in (what it has loaded, or is about to)."""
    held: Counter[Hashable] = field(default_factory=Counter)
    """Jobs let in and not yet left, by family."""
    switching: bool = False
    """A job is changing its models: the others wait until it is done."""
    switches: int = 0


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
        self.waiting: list[tuple[int, int | None, Hashable | None]] = []
        """(ticket, avoid, family) of the jobs waiting for a place, first come first."""
        self.generation: dict[Hashable, int] = {}
        """Each family's rank by first sight: a later one is the next step's."""

    def choose(self, avoid: int | None = None, family: Hashable | None = None) -> int | None:
        """The server for the next job, or None when none can take it now (every one that is up holds
        ``depth`` jobs, or the only ones with room would have to go back to an older family while another
        server still has it loaded: that server takes it when it has room)."""
        now = self.clock()
        up = [k for k, s in enumerate(self.slots) if s.down_until <= now]
        if not up:  # all down: the least recently failed one, so the caller finds out for itself
            up = [min(range(len(self.slots)), key=lambda k: self.slots[k].down_until)]
        free = [k for k in up if self.depth is None or self.slots[k].in_flight < self.depth]
        if family:
            rank = self.generation.setdefault(family, len(self.generation))
            loaded = any(self.slots[k].models == family for k in up)

            def backwards(k: int) -> bool:
                models = self.slots[k].models
                return loaded and models is not None and models != family and self.generation[models] > rank

            free = [k for k in free if not backwards(k)]
        preferred = [k for k in free if k != avoid] or free
        if not preferred:
            return None
        return min(preferred, key=lambda k: (self.slots[k].work, self.slots[k].in_flight, k))

    def queue(self, avoid: int | None, family: Hashable | None) -> tuple[int, int | None, Hashable | None]:
        entry = (next(self._tickets), avoid, family)
        self.waiting.append(entry)
        return entry

    def place(self, ticket: int, cost: float) -> int | None:
        """Give waiting job ``ticket`` its place, if its turn has come (see :meth:`my_turn`)."""
        k = self.my_turn(ticket)
        if k is not None:
            self.take(k, cost)
        return k

    def my_turn(self, ticket: int) -> int | None:
        """The server for waiting job ``ticket`` if no job ahead of it can be placed now (else None)."""
        for t, avoid, family in self.waiting:
            k = self.choose(avoid, family)
            if t == ticket:
                return k
            if k is not None:
                return None
        return None

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

    def may_enter(self, k: int, family: Hashable | None) -> bool:
        """Whether a job of ``family`` (None or empty: loads nothing) may go to server ``k`` now."""
        slot = self.slots[k]
        if not family:
            return True
        if slot.switching:
            return False
        if slot.models is None or slot.models == family:
            return True
        others = [n for f, n in slot.held.items() if f and f != family]
        return sum(others) <= 1

    def enter(self, k: int, family: Hashable | None) -> bool:
        """Let the job in; True when it changes the server's models (the caller then calls :meth:`switched`)."""
        slot = self.slots[k]
        slot.held[family] += 1
        if not family or slot.models == family:
            return False
        change = slot.models is not None
        slot.models = family
        if change:
            slot.switching = True
            slot.switches += 1
        return change

    def leave(self, k: int, family: Hashable | None) -> None:
        self.slots[k].held[family] -= 1

    def forget_models(self, k: int) -> None:
        """The server restarted: nothing is loaded."""
        self.slots[k].models = None

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

    def acquire(self, cost: float = 1.0, *, avoid: int | None = None, family: Hashable | None = None) -> int:
        """A place on a server for a job (of model ``family``, when it loads models); blocks until one is free
        for it, first come first served among the jobs that can be placed."""
        with self._cond:
            entry = self.queue(avoid, family)
            try:
                while (k := self.place(entry[0], cost)) is None:
                    # a server marked down comes back on its own: look again then, at the latest
                    self._cond.wait(timeout=self.next_change())
                return k
            finally:
                self.waiting.remove(entry)
                self._cond.notify_all()

    def release(self, k: int, cost: float = 1.0, *, ok: bool = True) -> None:
        with self._cond:
            self.give(k, cost, ok=ok)
            self._cond.notify_all()

    def enter_models(self, k: int, family: Hashable | None) -> bool:
        """Wait until a job of ``family`` may go to server ``k`` (see the module); True when it switches the
        server's models, and then :meth:`switched` must follow."""
        with self._cond:
            while not self.may_enter(k, family):
                self._cond.wait()
            return self.enter(k, family)

    def switched(self, k: int) -> None:
        with self._cond:
            self.slots[k].switching = False
            self._cond.notify_all()

    def leave_models(self, k: int, family: Hashable | None) -> None:
        with self._cond:
            self.leave(k, family)
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
    def lease(self, cost: float = 1.0, *, avoid: int | None = None, family: Hashable | None = None) -> Iterator[int]:
        """``with balancer.lease(cost) as k:`` (released on exit; counted as failed if the body raised)."""
        k = self.acquire(cost, avoid=avoid, family=family)
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

    async def acquire(self, cost: float = 1.0, *, avoid: int | None = None, family: Hashable | None = None) -> int:
        """As :meth:`Balancer.acquire`."""
        async with self.cond:
            entry = self.queue(avoid, family)
            try:
                while (k := self.place(entry[0], cost)) is None:
                    with suppress(TimeoutError):
                        await asyncio.wait_for(self.cond.wait(), self.next_change())
                return k
            finally:
                self.waiting.remove(entry)
                self.cond.notify_all()

    async def release(self, k: int, cost: float = 1.0, *, ok: bool = True) -> None:
        async with self.cond:
            self.give(k, cost, ok=ok)
            self.cond.notify_all()

    async def enter_models(self, k: int, family: Hashable | None) -> bool:
        """As :meth:`Balancer.enter_models`."""
        async with self.cond:
            while not self.may_enter(k, family):
                await self.cond.wait()
            return self.enter(k, family)

    async def switched(self, k: int) -> None:
        async with self.cond:
            self.slots[k].switching = False
            self.cond.notify_all()

    async def leave_models(self, k: int, family: Hashable | None) -> None:
        async with self.cond:
            self.leave(k, family)
            self.cond.notify_all()

    async def wake(self) -> None:
        """Let waiting jobs look again (after a server was marked up or down)."""
        async with self.cond:
            self.cond.notify_all()

    @asynccontextmanager
    async def lease(self, cost: float = 1.0, *, avoid: int | None = None,
                    family: Hashable | None = None) -> AsyncIterator[int]:  # fmt: skip
        k = await self.acquire(cost, avoid=avoid, family=family)
        ok = False
        try:
            yield k
            ok = True
        finally:
            await self.release(k, cost, ok=ok)
