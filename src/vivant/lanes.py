"""The one loop that runs a batch's units: lanes of steps, each step-major, side by side as ``Step.needs`` allow.

Step mode (``[scheduler] mode = "step"``) is one lane holding every step in step order: every item goes through a
step before any item starts the next one. Overlap mode makes one lane per resource (``cpu``, ``gpu``, ``llm``, or
whatever a step is mapped to in ``[scheduler.resources]``), so while the ComfyUI GPU renders lip-sync videos the LLM
box writes scripts; each model family still loads once a batch. A unit starts as soon as the units it needs (for
the same item, and the same language where both steps are per-language) have succeeded.

A lane keeps up to ``Roles.parallel_units(backend)`` units of its step in flight (queue-ahead: every job of a
step on a remote server's queue before the first ends). A lone lane at width one runs its unit inline on the main
thread (so Ctrl-C reaches ffmpeg); otherwise units run in worker threads that never touch the database: this
thread opens and settles them (:mod:`vivant.unit`), records their remote ids (a worker hands its id over and
waits until it is committed) and emits what they noticed. A failed unit waits out the retry policy's delay
without holding anything else back.

In step order this is deadlock-free: a lane waits only for a step with a lower number, whose lane is then at that
step or an earlier one, and so on down to a lane whose current units are all ready. The default overlap order
lets a lane start with the steps whose inputs come first (:func:`lanes_of`), checked to be deadlock-free as well.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import cast

from vivant.roles import Language, RunHooks
from vivant.states import RUNNABLE
from vivant.steps.base import Step
from vivant.store import ItemRow, PaintingRow
from vivant.unit import Done, Emit, Unit, Units

UnitKey = tuple[int, int, str]
"""(item id, step number, language or "")."""


def lanes_of(steps: Sequence[Step], resource_of: Callable[[Step], str], order: str) -> dict[str, list[Step]]:
    """Each resource's steps, in the order the lane takes them.

    ``order = "step"``: step order. ``order = "inputs"`` (default): a lane first takes the steps that wait on
    fewer steps of other lanes (so the ComfyUI GPU restores and re-imagines paintings while the LLM box still
    writes scripts), never before a step of its own lane that they need; an order under which lanes could wait
    on each other for ever is never used (step order is, then).
    """
    lanes: dict[str, list[Step]] = {}
    for step in steps:
        lanes.setdefault(resource_of(step), []).append(step)
    if order == "step":
        return lanes
    where = {s.name: lane for lane, members in lanes.items() for s in members}
    by_name = {s.name: s for s in steps}
    upstream: dict[str, set[str]] = {}
    for step in steps:  # needs come earlier in the list (checked by vivant.steps)
        up: set[str] = set()
        for need in step.needs:
            if need in by_name:
                up |= {need} | upstream[need]
        upstream[step.name] = up
    ordered: dict[str, list[Step]] = {}
    for lane, members in lanes.items():
        left, done = list(members), list[Step]()
        while left:
            ready = [s for s in left if all(where[u] != lane or u in {d.name for d in done} for u in upstream[s.name])]
            best = min(ready, key=lambda s: (sum(where[u] != lane for u in upstream[s.name]), s.number))
            done.append(best)
            left.remove(best)
        ordered[lane] = done
    return ordered if _deadlock_free(ordered, by_name) else lanes


def _deadlock_free(lanes: dict[str, list[Step]], by_name: dict[str, Step]) -> bool:
    """Whether the lanes, each taking its steps in this order, always finish (a step ends once its needs have)."""
    heads = dict.fromkeys(lanes, 0)
    finished: set[str] = set()
    while True:
        moved = False
        for lane, steps in lanes.items():
            while heads[lane] < len(steps) and all(n in finished or n not in by_name for n in steps[heads[lane]].needs):
                finished.add(steps[heads[lane]].name)
                heads[lane] += 1
                moved = True
        if all(heads[lane] == len(steps) for lane, steps in lanes.items()):
            return True
        if not moved:
            return False


@dataclass
class _Lane:
    name: str
    steps: list[Step]
    index: int = 0
    in_flight: int = 0
    t0: float = 0.0
    started: bool = False
    draining: list[tuple[Step, float]] = field(default_factory=list)
    """Earlier steps handed over with units still running (or to retry), and when each started."""

    @property
    def step(self) -> Step | None:
        return self.steps[self.index] if self.index < len(self.steps) else None


class Lanes:
    """Runs one batch's units (:meth:`vivant.engine.Engine.run` calls :meth:`run`)."""

    def __init__(self, units: Units, hooks: RunHooks, batch_id: int, langs: Sequence[Language],
                 paintings: dict[int, PaintingRow], *, overlap: bool, order: str, emit: Emit,
                 sleep: Callable[[float], None], monotonic: Callable[[], float]) -> None:  # fmt: skip
        self.units = units
        self.store = units.store
        self.hooks = hooks
        self.batch_id = batch_id
        self.langs = list(langs)
        self.paintings = paintings
        self.overlap = overlap
        self.emit = emit
        self.sleep = sleep
        self.monotonic = monotonic
        steps = units.steps
        self.by_name = {s.name: s for s in steps}
        grouped = lanes_of(steps, units.resource_of, order) if overlap else {"steps": list(steps)}
        self.lanes = [_Lane(name, members) for name, members in grouped.items()]
        self.inbox: queue.Queue[tuple[str, object]] = queue.Queue()
        self.futures: dict[Future[Done], tuple[_Lane, Unit]] = {}
        self.running: set[UnitKey] = set()
        self.placed: set[UnitKey] = set()
        """Running units whose job has reached its server (their backend recorded its remote id)."""
        self.attempt_units: dict[int, UnitKey] = {}
        self.retries: dict[UnitKey, float] = {}
        """Units to try again, and when (on the injected clock)."""
        self.done: set[UnitKey] = set()
        """Units that succeeded (read from the store once, then kept up to date here)."""
        self.items: list[ItemRow] = []
        self._needs: dict[tuple[int, str], list[tuple[Step, str]]] = {}
        self._pool: ThreadPoolExecutor | None = None
        self._settled_here = False
        # a backend's "enter step" hook (ComfyUI frees the last step's models) is only safe when one lane
        # holds all the steps of that backend; otherwise two lanes would free each other's models
        lanes_by_backend: dict[str, set[str]] = {}
        for lane in self.lanes:
            for step in lane.steps:
                lanes_by_backend.setdefault(units.backend_of(step), set()).add(lane.name)
        self._enter_ok = {backend for backend, names in lanes_by_backend.items() if len(names) == 1}

    # -- readiness ----------------------------------------------------------------------------------------------
    def units_of(self, step: Step) -> list[str]:
        return list(self.langs) if step.per_language else [""]

    def _needed(self, step: Step, lang: str) -> list[tuple[Step, str]]:
        key = (step.number, lang)
        if key not in self._needs:
            out: list[tuple[Step, str]] = []
            for name in step.needs:
                need = self.by_name.get(name)
                if need is None:
                    continue
                if not need.per_language:
                    out.append((need, ""))
                elif step.per_language:
                    out.append((need, lang))
                else:
                    out.extend((need, lg) for lg in self.langs)
            self._needs[key] = out
        return self._needs[key]

    def _ready(self, item: ItemRow, step: Step, lang: str) -> bool:
        return all((item.id, n.number, lg) in self.done for n, lg in self._needed(step, lang))

    def _todo(self, step: Step) -> list[tuple[ItemRow, str]]:
        """Units of ``step`` still to run for items that can still run (item order, then language)."""
        return [
            (item, lang)
            for item in self.items
            if item.state in RUNNABLE
            for lang in self.units_of(step)
            if (item.id, step.number, lang) not in self.done
        ]

    # -- the loop -----------------------------------------------------------------------------------------------
    def run(self) -> None:
        try:
            self._loop()
        except BaseException:
            for fut, (_lane, unit) in list(self.futures.items()):
                fut.cancel()
                self.units.interrupt(unit)
            if self._pool is not None:
                self._pool.shutdown(wait=False, cancel_futures=True)  # workers blocked on remote jobs are left
            raise
        if self._pool is not None:
            self._pool.shutdown(wait=True)

    def _loop(self) -> None:
        self.items = self.store.items(self.batch_id)
        for item in self.items:
            for step in self.units.steps:
                for lang in self.units_of(step):
                    if self.store.succeeded(item.id, step.number, lang):
                        self.done.add((item.id, step.number, lang))
        while True:
            self.items = self.store.items(self.batch_id)
            runnable = {item.id for item in self.items if item.state in RUNNABLE}
            for key in [k for k in self.retries if k[0] not in runnable]:
                del self.retries[key]  # another language failed (or aborted) the item meanwhile
            self._settled_here = False
            for lane in self.lanes:
                self._advance(lane)
            if all(lane.step is None and not lane.draining for lane in self.lanes):
                return
            if self.futures:
                self._receive(self._until_retry())
                while self.futures and not self.inbox.empty():  # settle all that ended before starting more
                    self._receive(0)
            elif self.retries:
                wake = min(self.retries.values())
                self.sleep(max(0.0, wake - self.monotonic()))
                now = self.monotonic()
                for key, due in self.retries.items():  # the ones due by then (an injected clock may stand still)
                    if due <= wake:
                        self.retries[key] = min(due, now)
            elif self._settled_here:
                continue  # an item ended while starting (or inline): read the states again
            else:  # nothing running, nothing to retry, yet some lane cannot start: should never happen
                stuck = [f"{lane.name}: step {lane.step.label}" for lane in self.lanes if lane.step is not None]
                stuck += [f"{lane.name}: step {s.label}" for lane in self.lanes for s, _t in lane.draining]
                raise RuntimeError("the lane scheduler stalled at " + ", ".join(stuck))

    def _until_retry(self) -> float | None:
        """How long the workers may be waited for before a retry falls due (None: no retry to come; one already
        due waits for a place in its lane, which a worker's message frees)."""
        now = self.monotonic()
        later = [due for due in self.retries.values() if due > now]
        return min(later) - now if later else None

    def _advance(self, lane: _Lane) -> None:
        """Start what the lane can start; move it to its next step when its current one is done, or handed over.

        In overlap mode, a step whose units all run on a remote queue (every one on its server, none waiting for
        inputs or a retry) is *handed over* when the backend allows it (:meth:`RunHooks.early_handover`) and the
        lane's next step uses the same backend: the next step's jobs join the queue behind the last ones, each
        server taking them up as it finishes its own (the ComfyUI pool switches a server's models only once its
        old jobs are done), so no GPU waits for the slowest one at the end of a step. The handed-over step keeps
        its retries."""
        self._drain(lane)
        while (step := lane.step) is not None:
            todo = self._todo(step)
            if not lane.started and todo:
                lane.started = True
                lane.t0 = self.monotonic()
                backend = self.units.backend_of(step)
                if backend in self._enter_ok:
                    self.hooks.enter_step(step.name, backend)
                where = {"resource": lane.name} if self.overlap else {}
                self.emit("step_started", self.batch_id, step=step, units=len(todo), **where)
            if not todo and self._running(step) == 0:
                if lane.started:
                    self._finished(lane, step, lane.t0)
                lane.index += 1
                lane.started = False
                continue
            self._start_ready(lane, step, todo)
            if self._hand_over(lane, step, todo):
                lane.draining.append((step, lane.t0))
                lane.index += 1
                lane.started = False
                continue
            return

    def _start_ready(self, lane: _Lane, step: Step, todo: list[tuple[ItemRow, str]]) -> None:
        """Start the units of ``step`` whose inputs are there and whose retry is due, within the lane's width."""
        width = max(1, int(self.hooks.parallel_units(self.units.backend_of(step))))
        now = self.monotonic()
        for n, (item, lang) in enumerate(todo):
            if lane.in_flight >= width:
                break
            key = (item.id, step.number, lang)
            if key in self.running or not self._ready(item, step, lang):
                continue
            if self.retries.get(key, now) > now:
                continue
            self._start(lane, item, step, lang, (n, len(todo)), inline=width == 1 and self._alone())

    def _alone(self) -> bool:
        """Whether a unit may run inline: one lane, nothing else in flight."""
        return len(self.lanes) == 1 and not self.futures

    def _running(self, step: Step) -> int:
        return sum(1 for key in self.running if key[1] == step.number)

    def _finished(self, lane: _Lane, step: Step, t0: float) -> None:
        where = {"resource": lane.name} if self.overlap else {}
        self.emit("step_finished", self.batch_id, step=step, seconds=round(self.monotonic() - t0, 3), **where)

    def _hand_over(self, lane: _Lane, step: Step, todo: list[tuple[ItemRow, str]]) -> bool:
        """Whether the lane may start its next step while this one's last units still run (see :meth:`_advance`)."""
        nxt = lane.steps[lane.index + 1] if lane.index + 1 < len(lane.steps) else None
        backend = self.units.backend_of(step)
        if not self.overlap or nxt is None or self.units.backend_of(nxt) != backend:
            return False
        if not self.hooks.early_handover(backend):
            return False
        # every unit left is on its way, and has reached its server: the next step's jobs then queue behind the
        # last ones instead of overtaking one still on its way (which would send a server back to old models)
        return all((item.id, step.number, lang) in self.placed for item, lang in todo)

    def _drain(self, lane: _Lane) -> None:
        """Retries of handed-over steps; their end once nothing of theirs is left."""
        for step, t0 in list(lane.draining):
            todo = self._todo(step)
            if not todo and self._running(step) == 0:
                self._finished(lane, step, t0)
                lane.draining.remove((step, t0))
            elif todo:
                self._start_ready(lane, step, todo)

    def _start(self, lane: _Lane, item: ItemRow, step: Step, lang: str, position: tuple[int, int], *,
               inline: bool) -> None:  # fmt: skip
        unit = self.units.open(self.batch_id, item.id, self.paintings[item.painting_id], step, lang,
                               position=position, set_remote_id=self._set_remote_id)  # fmt: skip
        if unit is None:
            self._settled_here = True
            return
        self.retries.pop(unit.key, None)
        self.running.add(unit.key)
        self.attempt_units[unit.attempt.id] = unit.key
        lane.in_flight += 1
        if inline:
            try:
                done: Done | BaseException = self.units.execute(unit)
            except BaseException as e:
                done = e
            self._settle(lane, unit, done)
            self._settled_here = True
            return
        if self._pool is None:
            workers = sum(max(1, int(self.hooks.parallel_units(self.units.backend_of(s)))) for s in self.units.steps)
            self._pool = ThreadPoolExecutor(max_workers=min(workers, 256), thread_name_prefix="lane")
        fut = self._pool.submit(self.units.execute, unit)
        fut.add_done_callback(lambda f: self.inbox.put(("done", f)))
        self.futures[fut] = (lane, unit)

    def _set_remote_id(self, attempt_id: int, rid: str, endpoint: str | None) -> None:
        def record() -> None:
            self.store.set_remote_id(attempt_id, rid, endpoint)
            key = self.attempt_units.get(attempt_id)
            if key is not None:
                self.placed.add(key)

        if threading.current_thread() is threading.main_thread():
            record()
            return
        recorded = threading.Event()
        self.inbox.put(("call", (record, recorded)))
        recorded.wait()

    def _receive(self, timeout: float | None) -> None:
        """Handle one message from the workers (or return after ``timeout`` with nothing)."""
        try:
            kind, payload = self.inbox.get(timeout=timeout)
        except queue.Empty:
            self.units.flush_notices()
            return
        self.units.flush_notices()
        if kind == "call":
            call, recorded = cast(tuple[Callable[[], None], threading.Event], payload)
            try:
                call()
            finally:
                recorded.set()
            return
        fut = cast(Future[Done], payload)
        lane, unit = self.futures.pop(fut)
        try:
            done: Done | BaseException = fut.result()
        except BaseException as e:
            done = e
        self._settle(lane, unit, done)

    def _settle(self, lane: _Lane, unit: Unit, done: Done | BaseException) -> None:
        lane.in_flight -= 1
        self.running.discard(unit.key)
        self.placed.discard(unit.key)
        self.attempt_units.pop(unit.attempt.id, None)
        settled, delay = self.units.settle(unit, done)
        if settled == "succeeded":
            self.done.add(unit.key)
        elif settled == "retry":
            self.retries[unit.key] = self.monotonic() + delay
