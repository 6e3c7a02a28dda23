"""Overlap scheduling (``[scheduler] mode = "overlap"``): one lane per resource, step-major inside each lane.

The strict mode runs every step for every item before the next step, so while the ComfyUI GPU renders lip-sync
videos the LLM box and the CPU sit idle. Here each resource (``cpu``, ``gpu``, ``llm``, or whatever a step is
mapped to in ``[scheduler.resources]``) is a *lane* that takes its own steps in step order, every item through
step k before any item starts the lane's next step (so each model family still loads once a batch, and a
ComfyUI server never swaps back), while lanes run side by side. A unit starts as soon as the units it needs
(``Step.needs``, for the same item, and the same language where both steps are per-language) have succeeded.

In step order this is deadlock-free: a lane waits only for a step with a lower number, whose lane is then at that
step or an earlier one, and so on down to a lane whose current units are all ready. The default order lets a lane
start with the steps whose inputs come first (see :func:`lanes_of`), checked to be deadlock-free as well.

Only the calling thread touches the database, as in the engine's queue-ahead: step code runs in worker threads
(:meth:`Engine._execute` does no database access), settlement, retries and state changes happen here, and
``set_remote_id`` calls from workers are handed over through the inbox. Retries wait out the usual backoff
without holding other lanes back.
"""

from __future__ import annotations

import queue
import shutil
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import cast

from vivant.engine import Engine, UnitOutcome, _Unit
from vivant.errors import WorkspaceError
from vivant.roles import Language
from vivant.states import RUNNABLE, AttemptStatus, ItemState
from vivant.steps.base import Step, StepResult
from vivant.store import ItemRow, NewArtifact, PaintingRow

UnitKey = tuple[int, int, str]
"""(item id, step number, language or "")."""


def resource_of(engine: Engine, step: Step) -> str:
    """The lane a step runs in (:meth:`Engine.resource_of`)."""
    return engine.resource_of(step)


def lanes_of(engine: Engine) -> dict[str, list[Step]]:
    """Each resource's steps, in the order the lane takes them.

    ``order = "step"``: step order. ``order = "inputs"`` (default): a lane first takes the steps that wait on
    fewer steps of other lanes (so the ComfyUI GPU restores and re-imagines paintings while the LLM box still
    writes scripts), never before a step of its own lane that they need; an order under which lanes could wait
    on each other for ever is never used (step order is, then).
    """
    lanes: dict[str, list[Step]] = {}
    for step in engine.steps:
        lanes.setdefault(resource_of(engine, step), []).append(step)
    if engine.settings.scheduler.order == "step":
        return lanes
    where = {s.name: lane for lane, steps in lanes.items() for s in steps}
    by_name = {s.name: s for s in engine.steps}
    upstream: dict[str, set[str]] = {}
    for step in engine.steps:  # needs come earlier in the list (checked by vivant.steps)
        up: set[str] = set()
        for need in step.needs:
            if need in by_name:
                up |= {need} | upstream[need]
        upstream[step.name] = up
    ordered: dict[str, list[Step]] = {}
    for lane, steps in lanes.items():
        left, done = list(steps), list[Step]()
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


@dataclass
class _Retry:
    due: float
    delay: float
    error: str


@dataclass
class _State:
    futures: dict[Future[tuple[StepResult, list[NewArtifact]]], tuple[_Lane, _Unit]] = field(default_factory=dict)
    running: set[UnitKey] = field(default_factory=set)
    placed: set[UnitKey] = field(default_factory=set)
    """Running units whose job has reached its server (their backend recorded its remote id)."""
    attempt_units: dict[int, UnitKey] = field(default_factory=dict)
    retries: dict[UnitKey, _Retry] = field(default_factory=dict)
    errors: dict[UnitKey, str] = field(default_factory=dict)
    done: set[UnitKey] = field(default_factory=set)
    """Units that succeeded (read from the store once, then kept up to date here)."""
    items: list[ItemRow] = field(default_factory=list)


class OverlapScheduler:
    """Runs one batch's steps with lanes per resource; :meth:`Engine.run` calls :meth:`run` in overlap mode."""

    def __init__(self, engine: Engine, batch_id: int, langs: Sequence[Language],
                 paintings: dict[int, PaintingRow]) -> None:  # fmt: skip
        self.e = engine
        self.store = engine.store
        self.batch_id = batch_id
        self.langs = list(langs)
        self.paintings = paintings
        self.by_name = {s.name: s for s in engine.steps}
        self.lanes = [_Lane(name, steps) for name, steps in lanes_of(engine).items()]
        self.inbox: queue.Queue[tuple[str, object]] = queue.Queue()
        self.s = _State()
        self._needs: dict[tuple[int, str], list[tuple[Step, str]]] = {}
        self._settled_here = False
        # a backend's "enter step" hook (ComfyUI frees the last step's models) is only safe when one lane
        # holds all the steps of that backend; otherwise two lanes would free each other's models
        lanes_by_backend: dict[str, set[str]] = {}
        for lane in self.lanes:
            for step in lane.steps:
                lanes_by_backend.setdefault(engine._backend_name(step), set()).add(lane.name)
        self._enter_ok = {backend for backend, names in lanes_by_backend.items() if len(names) == 1}

    # -- readiness ----------------------------------------------------------------------------------------------
    def _needed(self, step: Step, lang: str) -> list[tuple[Step, str]]:
        key = (step.number, lang)
        if key not in self._needs:
            self._needs[key] = self._find_needed(step, lang)
        return self._needs[key]

    def _find_needed(self, step: Step, lang: str) -> list[tuple[Step, str]]:
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
        return out

    def _ready(self, item: ItemRow, step: Step, lang: str) -> bool:
        return all((item.id, n.number, lg) in self.s.done for n, lg in self._needed(step, lang))

    def _todo(self, step: Step) -> list[tuple[ItemRow, str]]:
        """Units of ``step`` still to run for items that can still run (item order, then language)."""
        return [
            (item, lang)
            for item in self.s.items
            if item.state in RUNNABLE
            for lang in self.e._units(step, self.langs)
            if (item.id, step.number, lang) not in self.s.done
        ]

    def _load(self) -> None:
        self.s.items = self.store.items(self.batch_id)
        for item in self.s.items:
            for step in self.e.steps:
                for lang in self.e._units(step, self.langs):
                    if self.store.succeeded(item.id, step.number, lang):
                        self.s.done.add((item.id, step.number, lang))

    # -- the loop -----------------------------------------------------------------------------------------------
    def run(self) -> None:
        workers = sum(max(1, self.e._parallel_units(self.e._backend_name(s))) for s in self.e.steps)
        pool = ThreadPoolExecutor(max_workers=min(workers, 256), thread_name_prefix="lane")
        try:
            self._loop(pool)
        except BaseException:
            for fut, (_lane, unit) in list(self.s.futures.items()):
                fut.cancel()
                shutil.rmtree(unit.tmp, ignore_errors=True)
                self.store.finish_attempt(unit.attempt.id, AttemptStatus.INTERRUPTED, error="interrupted",
                                          compute=self.e.monotonic() - unit.t0)  # fmt: skip
            pool.shutdown(wait=False, cancel_futures=True)
            raise
        pool.shutdown(wait=True)

    def _loop(self, pool: ThreadPoolExecutor) -> None:
        self._load()
        while True:
            self.s.items = self.store.items(self.batch_id)
            self._settled_here = False
            for lane in self.lanes:
                self._advance(lane, pool)
            if all(lane.step is None and not lane.draining for lane in self.lanes):
                return
            if self.s.futures:
                self._settle_one(self._timeout())
                while self.s.futures and not self.inbox.empty():  # settle all that ended before starting more
                    self._settle_one(0)
            elif self.s.retries:
                wait = max(0.0, min(r.due for r in self.s.retries.values()) - self.e.monotonic())
                self.e.sleep(wait)
                for r in self.s.retries.values():
                    r.due = min(r.due, self.e.monotonic())
            elif self._settled_here:
                continue  # an item failed while starting (no attempts left): read the states again
            else:  # nothing running, nothing to retry, yet some lane cannot start: should never happen
                stuck = [f"{lane.name}: step {lane.step.label}" for lane in self.lanes if lane.step is not None]
                stuck += [f"{lane.name}: step {s.label}" for lane in self.lanes for s, _t in lane.draining]
                raise RuntimeError("overlap scheduler stalled at " + ", ".join(stuck))

    def _timeout(self) -> float | None:
        if not self.s.retries:
            return None
        return max(0.0, min(r.due for r in self.s.retries.values()) - self.e.monotonic())

    def _advance(self, lane: _Lane, pool: ThreadPoolExecutor) -> None:
        """Start what the lane can start; move it to its next step when its current one is done, or handed over.

        A step whose units all run on a remote queue (every one on its server, none waiting for inputs or a retry) is
        *handed over* when the backend allows it (:meth:`Roles.early_handover`) and the lane's next step uses
        the same backend: the next step's jobs join the queue behind the last ones, each server taking them up as
        it finishes its own (the ComfyUI pool switches a server's models only once its old jobs are done), so no
        GPU waits for the slowest one at the end of a step. The handed-over step keeps its retries."""
        self._drain(lane, pool)
        while (step := lane.step) is not None:
            todo = self._todo(step)
            if not lane.started and todo:
                lane.started = True
                lane.t0 = self.e.monotonic()
                backend = self.e._backend_name(step)
                enter = getattr(self.e.roles, "enter_step", None)
                if enter is not None and backend in self._enter_ok:
                    enter(step.name, backend)
                self.e._emit("step_started", self.batch_id, step=step, units=len(todo), resource=lane.name)
            if not todo and self._running(step) == 0:
                if lane.started:
                    self._finished(lane, step, lane.t0)
                lane.index += 1
                lane.started = False
                continue
            self._start_ready(lane, step, todo, pool)
            if self._hand_over(lane, step, todo):
                lane.draining.append((step, lane.t0))
                lane.index += 1
                lane.started = False
                continue
            return

    def _start_ready(self, lane: _Lane, step: Step, todo: list[tuple[ItemRow, str]], pool: ThreadPoolExecutor) -> None:
        """Start the units of ``step`` whose inputs are there and whose retry is due, within the lane's width."""
        width = self.e._parallel_units(self.e._backend_name(step))
        now = self.e.monotonic()
        for n, (item, lang) in enumerate(todo):
            if lane.in_flight >= width:
                break
            key = (item.id, step.number, lang)
            if key in self.s.running or not self._ready(item, step, lang):
                continue
            retry = self.s.retries.get(key)
            if retry is not None and retry.due > now:
                continue
            self._start(lane, item, step, lang, (n, len(todo)), pool)

    def _running(self, step: Step) -> int:
        return sum(1 for key in self.s.running if key[1] == step.number)

    def _finished(self, lane: _Lane, step: Step, t0: float) -> None:
        self.e._emit("step_finished", self.batch_id, step=step, seconds=round(self.e.monotonic() - t0, 3),
                     resource=lane.name)  # fmt: skip

    def _hand_over(self, lane: _Lane, step: Step, todo: list[tuple[ItemRow, str]]) -> bool:
        """Whether the lane may start its next step while this one's last units still run (see :meth:`_advance`)."""
        nxt = lane.steps[lane.index + 1] if lane.index + 1 < len(lane.steps) else None
        backend = self.e._backend_name(step)
        allowed = getattr(self.e.roles, "early_handover", None)
        if nxt is None or allowed is None or not allowed(backend) or self.e._backend_name(nxt) != backend:
            return False
        # every unit left is on its way, and has reached its server: the next step's jobs then queue behind the
        # last ones instead of overtaking one still on its way (which would send a server back to old models)
        return all((item.id, step.number, lang) in self.s.placed for item, lang in todo)

    def _drain(self, lane: _Lane, pool: ThreadPoolExecutor) -> None:
        """Retries of handed-over steps; their end once nothing of theirs is left."""
        for step, t0 in list(lane.draining):
            todo = self._todo(step)
            if not todo and self._running(step) == 0:
                self._finished(lane, step, t0)
                lane.draining.remove((step, t0))
            elif todo:
                self._start_ready(lane, step, todo, pool)

    def _start(self, lane: _Lane, item: ItemRow, step: Step, lang: str, position: tuple[int, int],
               pool: ThreadPoolExecutor) -> bool:  # fmt: skip
        store = self.store
        key = (item.id, step.number, lang)
        item = store.item(item.id)
        if item.state not in RUNNABLE:
            return False
        painting = self.paintings[item.painting_id]
        if store.failures(item.id, step.number, lang) >= self.e.settings.retries.attempts:
            error = self.s.errors.get(key) or self.e._last_error(item.id, step.number, lang)
            self.e._apply_outcome(self.batch_id, item, painting, step, lang, _outcome(ok=False, error=error))
            self._settled_here = True
            return False
        retry = self.s.retries.pop(key, None)
        if retry is not None:
            self.e._emit("unit_retry", self.batch_id, item=item, painting=painting.key, step=step, language=lang,
                         attempt=store.failures(item.id, step.number, lang) + 1, delay=retry.delay,
                         error=retry.error)  # fmt: skip
        if item.state in (ItemState.PENDING, ItemState.REDO):
            store.set_state(item.id, ItemState.PROCESSING)
        unit = self.e._open_attempt(self.batch_id, item, painting, step, lang, position=position,
                                    remote_id_setter=self._set_remote_id)  # fmt: skip
        fut = pool.submit(self.e._execute, unit)
        fut.add_done_callback(lambda f: self.inbox.put(("done", f)))
        self.s.futures[fut] = (lane, unit)
        self.s.running.add(key)
        self.s.attempt_units[unit.attempt.id] = key
        lane.in_flight += 1
        return True

    def _set_remote_id(self, attempt_id: int, rid: str, endpoint: str | None) -> None:
        def record() -> None:
            self.store.set_remote_id(attempt_id, rid, endpoint)
            key = self.s.attempt_units.get(attempt_id)
            if key is not None:
                self.s.placed.add(key)

        if threading.current_thread() is threading.main_thread():
            record()
            return
        done = threading.Event()
        self.inbox.put(("call", (record, done)))
        done.wait()

    def _settle_one(self, timeout: float | None) -> None:
        """Handle one message from the workers (or return after ``timeout`` with nothing)."""
        try:
            kind, payload = self.inbox.get(timeout=timeout)
        except queue.Empty:
            self.e.flush_notices()
            return
        self.e.flush_notices()
        if kind == "call":
            call, done = cast(tuple[Callable[[], None], threading.Event], payload)
            try:
                call()
            finally:
                done.set()
            return
        fut = cast(Future[tuple[StepResult, list[NewArtifact]]], payload)
        lane, unit = self.s.futures.pop(fut)
        lane.in_flight -= 1
        key = (unit.item.id, unit.step.number, unit.lang)
        self.s.running.discard(key)
        self.s.placed.discard(key)
        self.s.attempt_units.pop(unit.attempt.id, None)
        try:
            result, artifacts = fut.result()
        except BaseException as e:
            try:
                error, retry = self.e._failed(self.batch_id, unit, e)
            except WorkspaceError:
                raise
            if retry and self.store.failures(unit.item.id, unit.step.number, unit.lang) < \
                    self.e.settings.retries.attempts:  # fmt: skip
                failures = self.store.failures(unit.item.id, unit.step.number, unit.lang)
                delay = self.e.settings.retries.backoff_seconds * (2 ** (max(failures, 1) - 1))
                self.s.retries[key] = _Retry(self.e.monotonic() + delay, delay, error)
                self.s.errors[key] = error
            else:
                self.e._apply_outcome(self.batch_id, unit.item, unit.painting, unit.step, unit.lang,
                                      _outcome(ok=False, error=error))  # fmt: skip
            return
        outcome = self.e._succeeded(self.batch_id, unit, result, artifacts)
        if not outcome.refused:
            self.s.done.add(key)
        self.e._apply_outcome(self.batch_id, unit.item, unit.painting, unit.step, unit.lang, outcome)


def _outcome(*, ok: bool, error: str = "") -> UnitOutcome:
    return UnitOutcome(ok=ok, error=error)
