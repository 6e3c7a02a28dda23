"""The ComfyUI endpoints of one run and the life of a job on them.

A :class:`ComfyPool` owns a background thread running an asyncio loop and one :class:`ComfyClient` per
endpoint. The role implementations (called from the engine's worker threads) hand it a :class:`Job`; the pool

- adopts a prompt recorded by an earlier, interrupted attempt when a server still has it (no double submit);
- picks the healthy endpoint with the least estimated work outstanding (:mod:`vivant.backends.balance`; with
  several endpoints each holds ``queue_depth`` jobs and the rest wait for the first to free a place),
  uploads the inputs under unique names, records the new prompt id
  through the step's hook *before* posting it, and waits for it;
- submits again a prompt lost to a restart, or moves it to another endpoint when its endpoint is down;
- interrupts a job past its timeout (and runs the restart command, when one is configured);
- when a job loads other model files than the jobs before it on an endpoint, sends it there only once at most
  one job of the old models is left on that endpoint (the one running) and asks the server to free its memory
  (``POST /free``, which ComfyUI carries out right after that job): each endpoint switches models at its own
  pace, never reloading the old ones, even while the next step's jobs already wait in the pool;
- between steps that load different models, when configured, restarts the servers and waits until
  ``/system_stats`` answers.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import shlex
import threading
import time
import uuid
from collections.abc import Callable, Coroutine, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlsplit

import httpx

from vivant.backends.balance import AsyncBalancer
from vivant.backends.comfyui.client import ComfyClient, Outcome, Timeouts, WsConnect
from vivant.backends.comfyui.errors import (
    ComfyConnectionError,
    ComfyEndpointDown,
    ComfyError,
    ComfyLost,
    ComfyOutputError,
    ComfyTimeout,
    WorkflowError,
)
from vivant.backends.comfyui.workflow import FILE_PLACEHOLDERS, Workflow, preflight
from vivant.backends.ffmpeg import die_with_parent
from vivant.config import ComfySettings
from vivant.urls import safe_url

log = logging.getLogger(__name__)
T = TypeVar("T")


TIMEOUTS = Timeouts(down_after=60.0)
"""The timeouts of a pool made without its own (read when the pool is made; tests shorten them)."""
MAX_RESUBMITS = 3
"""Times a prompt lost to a server restart is submitted again."""
HEALTH_TIMEOUT = 180.0
"""Seconds a restarted server gets to answer /system_stats."""
EventSink = Callable[..., None]


@dataclass
class Job:
    """One prompt to run: a workflow, its placeholder values (files are local paths), where the output goes."""

    workflow: Workflow
    values: dict[str, Any]
    out_dir: Path
    label: str = ""
    cost: float = 1.0
    """Estimated work (seconds of video or speech; 1 for an image): what the endpoints' loads are counted in."""
    models: frozenset[str] | None = None
    """The model files it loads (default: those its workflow names)."""

    def model_family(self) -> frozenset[str]:
        return self.workflow.model_files() if self.models is None else self.models


@dataclass
class JobHooks:
    """What the engine lends a job (see :class:`vivant.steps.base.StepContext`); all optional."""

    previous_remote_ids: tuple[str, ...] = ()
    set_remote_id: Callable[[str], None] = lambda _rid: None
    progress: EventSink = lambda *_a, **_k: None
    endpoint: Callable[[str], None] = lambda _url: None
    """Told the server a job is sent to (or found on), before waiting for it."""
    notice: EventSink = lambda *_a, **_k: None
    """``notice(kind, **data)``: an incident of this job (``unit_resubmitted``, ``endpoint_down``,
    ``endpoint_up``) for the engine to record (``StepContext.notice``)."""


@dataclass
class JobResult:
    path: Path
    prompt_id: str
    endpoint: str
    queue_wait: float | None
    compute: float | None
    submissions: int


@dataclass
class Endpoint:
    url: str
    client: ComfyClient
    index: int = 0
    """Its place in the pool's balancer."""
    object_info: dict[str, Any] | None = None
    jobs_done: int = 0

    @property
    def host(self) -> str:
        return urlsplit(self.url).hostname or ""

    @property
    def port(self) -> str:
        return str(urlsplit(self.url).port or "")


@dataclass
class PoolStats:
    submitted: int = 0
    adopted: int = 0
    resubmitted: int = 0
    moved: int = 0
    timeouts: int = 0
    restarts: int = 0
    frees: int = 0
    events: list[str] = field(default_factory=list)


class ComfyPool:
    """Every configured endpoint, and a private event loop thread that runs their clients."""

    def __init__(
        self,
        settings: ComfySettings,
        *,
        client_id: str,
        transport: httpx.AsyncBaseTransport | None = None,
        connect: WsConnect | None = None,
        urls: list[str] | None = None,
        key: str = "comfyui.endpoints",
        switch_models: bool | None = None,
        timeouts: Timeouts | None = None,
    ) -> None:
        self.timeouts = timeouts or TIMEOUTS
        self.urls = list(settings.endpoints if urls is None else urls)
        self.key = key
        """The config key naming these servers (for messages)."""
        if not self.urls:
            raise WorkflowError(f"{key} is empty: name at least one ComfyUI server")
        self.settings = settings
        self.client_id = client_id
        self.balancer = AsyncBalancer(self.urls, depth=settings.queue_depth or None)
        self.switch_models = settings.free_between_steps if switch_models is None else switch_models
        """Free an endpoint's memory when its jobs change model files (``comfyui.free_between_steps``)."""

        self.stats = PoolStats()
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="comfyui-loop", daemon=True)
        self._thread.start()
        t = self.timeouts

        async def make() -> list[Endpoint]:
            return [
                Endpoint(url, ComfyClient(url, client_id=client_id, timeouts=t, transport=transport, connect=connect),
                         index=k)
                for k, url in enumerate(self.urls)
            ]  # fmt: skip

        self.endpoints = self.call(make())
        self._last_models: frozenset[str] | None = None
        self._last_step: str | None = None
        self._restart_lock: asyncio.Lock | None = None
        self._closed = False

    # -- thread bridge ------------------------------------------------------------------------------------------
    def call(self, coro: Coroutine[Any, Any, T], timeout: float | None = None) -> T:
        """Run ``coro`` on the pool's loop from any other thread and return its result."""
        fut = asyncio.run_coroutine_threadsafe(coro, self._loop)
        try:
            return fut.result(timeout)
        except BaseException:
            fut.cancel()
            raise

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True

        async def shut() -> None:
            for ep in self.endpoints:
                await ep.client.close()

        with contextlib.suppress(Exception):
            self.call(shut(), timeout=10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=5)
        with contextlib.suppress(Exception):
            self._loop.close()

    # -- endpoints ----------------------------------------------------------------------------------------------
    def _healthy_now(self) -> list[Endpoint]:
        now = time.monotonic()
        return [ep for ep in self.endpoints if self.balancer.slots[ep.index].down_until <= now]

    def loads(self) -> dict[str, tuple[int, float]]:
        """Endpoint -> (jobs held, estimated work held): what the balancer sees now."""
        return {ep.url: (self.balancer.slots[ep.index].in_flight, self.balancer.slots[ep.index].work)
                for ep in self.endpoints}  # fmt: skip

    async def _pick(self, cost: float, avoid: Endpoint | None = None, family: frozenset[str] | None = None,
                    hooks: JobHooks | None = None) -> Endpoint:  # fmt: skip
        """Take a place on the endpoint with the least work outstanding that is up (waiting, first come first
        served, while every one holds ``queue_depth`` jobs); :meth:`_release` gives it back."""
        deadline = time.monotonic() + self.timeouts.down_after
        while not self._healthy_now():  # all marked down: see whether one came back
            for ep in self.endpoints:
                if await ep.client.healthy():
                    self.balancer.mark_up(ep.index)
                    self.stats.events.append(f"up {ep.url}")
                    log.info("ComfyUI endpoint %s answers again", ep.url)
                    if hooks is not None:
                        hooks.notice("endpoint_up", endpoint=safe_url(ep.url))
            if self._healthy_now():
                await self.balancer.wake()
                break
            if time.monotonic() >= deadline:
                raise ComfyEndpointDown(f"no ComfyUI endpoint of {self.key} answers: " + ", ".join(self.urls))
            await asyncio.sleep(min(1.0, self.timeouts.poll_interval))
        k = await self.balancer.acquire(cost, avoid=None if avoid is None else avoid.index, family=family)
        return self.endpoints[k]

    async def _release(self, ep: Endpoint, cost: float, *, ok: bool) -> None:
        await self.balancer.release(ep.index, cost, ok=ok)

    def models_of(self, ep: Endpoint) -> object:
        """The model files of the jobs last sent to ``ep`` (None before any)."""
        return self.balancer.slots[ep.index].models

    def _family(self, job: Job) -> frozenset[str] | None:
        """The model files a job loads, as the balancer counts them (None: none, or model switching is off)."""
        return (job.model_family() or None) if self.switch_models else None

    async def _switch_models(self, ep: Endpoint, family: frozenset[str] | None, label: str) -> None:
        """Before sending a job that loads ``family`` to ``ep``: wait while ``ep`` holds more than one job of other
        models (:meth:`AsyncBalancer.enter_models`); when the job changes its models, ask the server to free its
        memory, which it does right after the job running there, before ours."""
        if not await self.balancer.enter_models(ep.index, family):
            return
        try:
            await ep.client.free()
            self.stats.frees += 1
            self.stats.events.append(f"free {ep.url}: next {label}")
            log.info("%s: other models next (%s): POST /free", ep.url, label)
        except ComfyError as e:
            log.warning("%s: POST /free failed: %s", ep.url, e)
        finally:
            await self.balancer.switched(ep.index)

    def _mark_down(self, ep: Endpoint, why: str, hooks: JobHooks | None = None) -> None:
        self.balancer.mark_down(ep.index, max(self.timeouts.down_after, 1.0))
        self.stats.events.append(f"down {ep.url}: {why}")
        log.warning("ComfyUI endpoint %s is down: %s", ep.url, why)
        if hooks is not None:
            hooks.notice("endpoint_down", endpoint=safe_url(ep.url), why=why)

    async def _object_info(self, ep: Endpoint) -> dict[str, Any]:
        if ep.object_info is None:
            ep.object_info = await ep.client.object_info()
        return ep.object_info

    # -- jobs ---------------------------------------------------------------------------------------------------
    def run(self, job: Job, hooks: JobHooks | None = None) -> JobResult:
        """Run one job to completion (blocking; called from any thread but the pool's own)."""
        return self.call(self._run(job, hooks or JobHooks()))

    async def _run(self, job: Job, hooks: JobHooks) -> JobResult:
        adopted = await self._adopt(job, hooks)
        if adopted is not None:
            return adopted
        submissions = 0
        avoid: Endpoint | None = None
        again: dict[str, Any] | None = None  # the prompt before this one, when it is sent again
        while True:
            family = self._family(job)
            ep = await self._pick(job.cost, avoid, family, hooks)
            avoid = None
            prompt_id = str(uuid.uuid4())
            ok = False
            entered = False
            sent_at: float | None = None
            try:
                await self._switch_models(ep, family, job.label)
                entered = True
                await ep.client.ensure_connected()
                values = dict(job.values)
                for key in FILE_PLACEHOLDERS & set(values):
                    src = Path(values[key])
                    values[key] = await ep.client.upload(src, f"{prompt_id[:8]}-{key}{src.suffix.lower()}")
                graph = job.workflow.render(values)
                hooks.endpoint(safe_url(ep.url))
                await asyncio.to_thread(hooks.set_remote_id, prompt_id)
                submissions += 1
                self.stats.submitted += 1
                if again is not None:  # the attempt's remote id is now the new one: the event keeps the old
                    lost = round(time.monotonic() - again.pop("since"), 3)
                    hooks.notice("unit_resubmitted", remote_id=prompt_id, endpoint=safe_url(ep.url),
                                 submission=submissions, lost_seconds=lost, **again)  # fmt: skip
                    again = None
                sent_at = time.monotonic()
                await ep.client.submit(graph, prompt_id, listener=_listener(hooks, job.workflow))
                hooks.progress(0.0, phase="queued", endpoint=ep.url, prompt_id=prompt_id)
                outcome = await ep.client.wait(prompt_id, timeout=self.settings.job_timeout)
                ok = True
                return await self._collect(ep, job, outcome, submissions)
            except ComfyTimeout:
                self.stats.timeouts += 1
                await ep.client.interrupt(prompt_id)
                if self.settings.restart_command and self.settings.restart_after_timeout:
                    await self.restart(ep, why=f"prompt {prompt_id} stuck past {self.settings.job_timeout:.0f} s")
                raise
            except ComfyLost as e:
                self.balancer.forget_models(ep.index)  # the server restarted: nothing is loaded
                self.stats.resubmitted += 1
                if submissions > MAX_RESUBMITS:
                    raise
                log.info("%s: prompt %s lost on %s; submitting again", job.label, prompt_id, ep.url)
                self.stats.events.append(f"resubmit {ep.url}: {prompt_id} lost")
                if e.unreachable_for:
                    hooks.notice("endpoint_down", endpoint=safe_url(ep.url), down_seconds=e.unreachable_for,
                                 why="no answer, then back without the prompt (restarted)")  # fmt: skip
                    hooks.notice("endpoint_up", endpoint=safe_url(ep.url))
                again = {
                    "old_remote_id": prompt_id,
                    "old_endpoint": safe_url(ep.url),
                    "since": time.monotonic() if sent_at is None else sent_at,
                    "reason": "lost: the server restarted without it",
                    "down_seconds": e.unreachable_for,
                }
            except ComfyConnectionError as e:
                if submissions > MAX_RESUBMITS + len(self.endpoints):
                    raise
                self._mark_down(ep, str(e), hooks)
                self.stats.moved += 1
                avoid = ep
                if sent_at is not None:  # it had been sent: it goes to another server (or waits for this one)
                    again = {
                        "old_remote_id": prompt_id,
                        "old_endpoint": safe_url(ep.url),
                        "since": sent_at,
                        "reason": f"moved: {safe_url(ep.url)} stopped answering",
                    }
            finally:
                if entered:
                    await self.balancer.leave_models(ep.index, family)
                await self._release(ep, job.cost, ok=ok)
                ep.client.forget(prompt_id)

    def run_many(self, jobs: list[tuple[Job, JobHooks]]) -> list[JobResult | BaseException]:
        """Run several jobs at once (blocking): each goes through :meth:`run`'s whole life, all of them on the
        pool's balancer, so with several endpoints they spread over them. Returns each job's result or error,
        in order; one job failing does not stop the others."""

        async def all_of() -> list[JobResult | BaseException]:
            return await asyncio.gather(*(self._run(job, hooks) for job, hooks in jobs), return_exceptions=True)

        return self.call(all_of())

    async def _adopt(self, job: Job, hooks: JobHooks) -> JobResult | None:
        """Follow a prompt of an earlier attempt that a server still holds, instead of submitting again."""
        for rid in hooks.previous_remote_ids:
            for ep in self._healthy_now():
                try:
                    await ep.client.ensure_connected()
                    where = await ep.client.locate(rid)
                    if where is None:
                        continue
                    ep.client.watch(rid, _listener(hooks, job.workflow))
                    hooks.endpoint(safe_url(ep.url))
                    await asyncio.to_thread(hooks.set_remote_id, rid)
                    self.balancer.take(ep.index, job.cost)  # already queued there: counted, never held back
                    family = self._family(job)
                    self.balancer.enter(ep.index, family)  # already there: counted, never held back
                    try:
                        outcome = await ep.client.wait(rid, timeout=self.settings.job_timeout)
                    finally:
                        await self.balancer.leave_models(ep.index, family)
                        await self._release(ep, job.cost, ok=True)
                    self.stats.adopted += 1
                    return await self._collect(ep, job, outcome, 0)
                except ComfyError as e:
                    log.info("%s: earlier prompt %s not reused: %s", job.label, rid, e)
        return None

    async def _collect(self, ep: Endpoint, job: Job, outcome: Outcome, submissions: int) -> JobResult:
        out = outcome.outputs.get(job.workflow.output_node) or {}
        files = [f for key in ("images", "gifs", "video", "videos", "audio") for f in out.get(key, [])
                 if isinstance(f, dict) and f.get("filename")]  # fmt: skip
        if not files:
            raise ComfyOutputError(
                f"{ep.url}: prompt {outcome.prompt_id} of workflow {job.workflow.name}: the output node "
                f"{job.workflow.output_node} produced no file (outputs: {sorted(outcome.outputs)})"
            )
        ref = files[0]
        job.out_dir.mkdir(parents=True, exist_ok=True)
        dest = job.out_dir / f"comfy-{outcome.prompt_id[:8]}{Path(str(ref['filename'])).suffix}"
        await ep.client.download(ref, dest)
        ep.jobs_done += 1
        return JobResult(dest, outcome.prompt_id, ep.url, outcome.queue_wait, outcome.compute, submissions)

    # -- between steps, restarts, preflight ------------------------------------------------------------------------
    def enter_step(self, step: str, workflow: Workflow | None) -> None:
        """Called before a step: restart the servers when the model family changes and ``restart_between_steps``
        is set (freeing memory happens per endpoint as its jobs change models: see :meth:`_switch_models`)."""
        self.call(self._enter_step(step, workflow))

    async def _enter_step(self, step: str, workflow: Workflow | None) -> None:
        models = workflow.model_files() if workflow is not None else None
        previous, self._last_models = self._last_models, models if models is not None else self._last_models
        self._last_step = step
        if models is None or previous is None or previous == models:
            return
        if self.settings.restart_command and self.settings.restart_between_steps:
            for ep in self._healthy_now():
                await self.restart(ep, why=f"before step {step} (other models)")

    async def restart(self, ep: Endpoint, *, why: str) -> None:
        """Run the restart command for ``ep`` and wait until /system_stats answers again."""
        if self._restart_lock is None:
            self._restart_lock = asyncio.Lock()
        async with self._restart_lock:
            cmd = self.settings.restart_command.format(url=ep.url, host=ep.host, port=ep.port)
            log.warning("restarting %s (%s): %s", ep.url, why, cmd)
            self.stats.restarts += 1
            self.stats.events.append(f"restart {ep.url}: {why}")
            try:
                proc = await asyncio.create_subprocess_exec(
                    *shlex.split(cmd), stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE,
                    preexec_fn=die_with_parent(),
                )  # fmt: skip
                _, err = await asyncio.wait_for(proc.communicate(), HEALTH_TIMEOUT)
            except (OSError, TimeoutError) as e:
                raise ComfyConnectionError(f"{ep.url}: restart command {cmd!r} failed: {e}") from None
            if proc.returncode != 0:
                tail = err.decode("utf-8", "replace").strip().splitlines()[-1:] if err else []
                raise ComfyConnectionError(f"{ep.url}: restart command {cmd!r} exited {proc.returncode}"
                                           + (f": {tail[0]}" if tail else ""))  # fmt: skip
            ep.object_info = None
            self.balancer.forget_models(ep.index)
            deadline = time.monotonic() + HEALTH_TIMEOUT
            await asyncio.sleep(0.2)
            while not await ep.client.healthy():
                if time.monotonic() >= deadline:
                    self._mark_down(ep, "no answer after restart")
                    raise ComfyConnectionError(f"{ep.url}: not answering {HEALTH_TIMEOUT:.0f} s "
                                               "after the restart command")  # fmt: skip
                await asyncio.sleep(0.25)
            self.balancer.mark_up(ep.index)
            await self.balancer.wake()

    def preflight(self, workflows: Mapping[str, Workflow]) -> dict[str, list[str]]:
        """Problems of every workflow on every endpoint, keyed ``"<endpoint> <workflow>"``; raises if none answers."""
        return self.call(self._preflight(workflows))

    async def _preflight(self, workflows: Mapping[str, Workflow]) -> dict[str, list[str]]:
        report: dict[str, list[str]] = {}
        reached = 0
        for ep in self.endpoints:
            try:
                info = await self._object_info(ep)
            except ComfyError as e:
                self._mark_down(ep, str(e))
                continue
            reached += 1
            for step, wf in workflows.items():
                report[f"{ep.url} {step}"] = preflight(wf, info)
        if not reached:
            raise ComfyEndpointDown(f"no ComfyUI endpoint of {self.key} answers: " + ", ".join(self.urls))
        return report


def _listener(hooks: JobHooks, workflow: Workflow) -> Callable[[str, dict[str, Any]], None]:
    """Turn socket messages into the step's progress hook (fraction plus what the server is doing)."""
    total = max(1, len(workflow.graph))
    state: dict[str, Any] = {"done": 0}

    def on(kind: str, data: dict[str, Any]) -> None:
        if kind == "execution_start":
            hooks.progress(0.0, phase="running")
        elif kind == "progress_state":
            nodes = data.get("nodes") or {}
            state["done"] = sum(1 for n in nodes.values() if isinstance(n, dict) and n.get("state") == "finished")
            hooks.progress(min(0.99, state["done"] / total), phase="running")
        elif kind == "executing" and data.get("node") is not None:
            node = str(data["node"])
            cls = (workflow.graph.get(node) or {}).get("class_type", "")
            hooks.progress(min(0.99, state["done"] / total), phase="node", node=node, node_class=cls)
        elif kind == "progress":
            node = str(data.get("node", ""))
            cls = (workflow.graph.get(node) or {}).get("class_type", "")
            value, mx = data.get("value", 0), data.get("max", 1) or 1
            base = state["done"] / total
            hooks.progress(min(0.99, base + (value / mx) / total), phase="node", node=node, node_class=cls,
                           value=value, max=mx)  # fmt: skip

    return on
