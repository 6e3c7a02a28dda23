"""The ComfyUI endpoints of one run.

A :class:`ComfyPool` owns a background thread running an asyncio loop and one :class:`ComfyClient` per
endpoint. The role implementations (called from the engine's worker threads) hand it a :class:`Job`, whose life
is :mod:`vivant.backends.comfyui.jobs`; the pool

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
from collections import Counter
from collections.abc import Coroutine, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar
from urllib.parse import urlsplit

import httpx

from vivant.backends.balance import AsyncBalancer
from vivant.backends.comfyui.client import ComfyClient
from vivant.backends.comfyui.errors import (
    ComfyConnectionError,
    ComfyEndpointDown,
    ComfyError,
    WorkflowError,
)
from vivant.backends.comfyui.jobs import Job, JobHooks, JobResult, run_job
from vivant.backends.comfyui.protocol import Timeouts, WsConnect
from vivant.backends.comfyui.workflow import Workflow, preflight
from vivant.backends.ffmpeg import die_with_parent
from vivant.config import ComfySettings
from vivant.urls import safe_url

log = logging.getLogger(__name__)
T = TypeVar("T")

TIMEOUTS = Timeouts(down_after=60.0)
"""The timeouts of a pool made without its own (read when the pool is made; tests shorten them)."""
HEALTH_TIMEOUT = 180.0
"""Seconds a restarted server gets to answer /system_stats."""


@dataclass
class Endpoint:
    url: str
    client: ComfyClient
    index: int = 0
    """Its place in the pool's balancer."""
    object_info: dict[str, Any] | None = None

    @property
    def host(self) -> str:
        return urlsplit(self.url).hostname or ""

    @property
    def port(self) -> str:
        return str(urlsplit(self.url).port or "")


@dataclass
class PoolStats:
    """What happened on the pool: ``counts`` by kind (``submitted``, ``adopted``, ``resubmitted``, ``moved``,
    ``timeouts``, ``restarts``, ``frees``) and the notable ``events`` in order."""

    counts: Counter[str] = field(default_factory=Counter)
    events: list[str] = field(default_factory=list)

    def add(self, kind: str, event: str = "") -> None:
        if kind:
            self.counts[kind] += 1
        if event:
            self.events.append(event)


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
        self.urls = list(settings.endpoints if urls is None else urls)
        self.key = key
        """The config key naming these servers (for messages)."""
        if not self.urls:
            raise WorkflowError(f"{key} is empty: name at least one ComfyUI server")
        self.settings = settings
        self.timeouts = timeouts or TIMEOUTS
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
    def healthy_now(self) -> list[Endpoint]:
        now = time.monotonic()
        return [ep for ep in self.endpoints if self.balancer.slots[ep.index].down_until <= now]

    async def pick(self, cost: float, avoid: Endpoint | None = None, family: frozenset[str] | None = None,
                    hooks: JobHooks | None = None) -> Endpoint:  # fmt: skip
        """Take a place on the endpoint with the least work outstanding that is up (waiting, first come first
        served, while every one holds ``queue_depth`` jobs); :meth:`release` gives it back."""
        deadline = time.monotonic() + self.timeouts.down_after
        while not self.healthy_now():  # all marked down: see whether one came back
            for ep in self.endpoints:
                if await ep.client.healthy():
                    self.balancer.mark_up(ep.index)
                    self.stats.add("", f"up {ep.url}")
                    log.info("ComfyUI endpoint %s answers again", ep.url)
                    if hooks is not None:
                        hooks.notice("endpoint_up", endpoint=safe_url(ep.url))
            if self.healthy_now():
                await self.balancer.wake()
                break
            if time.monotonic() >= deadline:
                raise ComfyEndpointDown(f"no ComfyUI endpoint of {self.key} answers: " + ", ".join(self.urls))
            await asyncio.sleep(min(1.0, self.timeouts.poll_interval))
        k = await self.balancer.acquire(cost, avoid=None if avoid is None else avoid.index, family=family)
        return self.endpoints[k]

    async def release(self, ep: Endpoint, cost: float, *, ok: bool) -> None:
        await self.balancer.release(ep.index, cost, ok=ok)

    def family(self, job: Job) -> frozenset[str] | None:
        """The model files a job loads, as the balancer counts them (None: none, or model switching is off)."""
        return (job.model_family() or None) if self.switch_models else None

    async def switch_models_for(self, ep: Endpoint, family: frozenset[str] | None, label: str) -> None:
        """Before sending a job that loads ``family`` to ``ep``: wait while ``ep`` holds more than one job of other
        models (:meth:`AsyncBalancer.enter_models`); when the job changes its models, ask the server to free its
        memory, which it does right after the job running there, before ours."""
        if not await self.balancer.enter_models(ep.index, family):
            return
        try:
            await ep.client.free()
            self.stats.add("frees", f"free {ep.url}: next {label}")
            log.info("%s: other models next (%s): POST /free", ep.url, label)
        except ComfyError as e:
            log.warning("%s: POST /free failed: %s", ep.url, e)
        finally:
            await self.balancer.switched(ep.index)

    def mark_down(self, ep: Endpoint, why: str, hooks: JobHooks | None = None) -> None:
        self.balancer.mark_down(ep.index, max(self.timeouts.down_after, 1.0))
        self.stats.add("", f"down {ep.url}: {why}")
        log.warning("ComfyUI endpoint %s is down: %s", ep.url, why)
        if hooks is not None:
            hooks.notice("endpoint_down", endpoint=safe_url(ep.url), why=why)

    async def _object_info(self, ep: Endpoint) -> dict[str, Any]:
        if ep.object_info is None:
            ep.object_info = await ep.client.object_info()
        return ep.object_info

    # -- jobs ---------------------------------------------------------------------------------------------------
    def run(self, job: Job, hooks: JobHooks | None = None) -> JobResult:
        """Run one job to completion (blocking; called from any thread but the pool's own): see :func:`run_job`."""
        return self.call(run_job(self, job, hooks or JobHooks()))

    def run_many(self, jobs: list[tuple[Job, JobHooks]]) -> list[JobResult | BaseException]:
        """Run several jobs at once (blocking): each goes through :func:`run_job`'s whole life, all of them on the
        pool's balancer, so with several endpoints they spread over them. Returns each job's result or error,
        in order; one job failing does not stop the others."""

        async def all_of() -> list[JobResult | BaseException]:
            return await asyncio.gather(*(run_job(self, job, hooks) for job, hooks in jobs), return_exceptions=True)

        return self.call(all_of())

    # -- between steps, restarts, preflight ------------------------------------------------------------------------
    def enter_step(self, step: str, workflow: Workflow | None) -> None:
        """Called before a step: restart the servers when the model family changes and ``restart_between_steps``
        is set (freeing memory happens per endpoint as its jobs change models: see :meth:`switch_models_for`)."""
        self.call(self._enter_step(step, workflow))

    async def _enter_step(self, step: str, workflow: Workflow | None) -> None:
        models = workflow.model_files() if workflow is not None else None
        previous, self._last_models = self._last_models, models if models is not None else self._last_models
        if models is None or previous is None or previous == models:
            return
        if self.settings.restart_command and self.settings.restart_between_steps:
            for ep in self.healthy_now():
                await self.restart(ep, why=f"before step {step} (other models)")

    async def restart(self, ep: Endpoint, *, why: str) -> None:
        """Run the restart command for ``ep`` and wait until /system_stats answers again."""
        if self._restart_lock is None:
            self._restart_lock = asyncio.Lock()
        async with self._restart_lock:
            cmd = self.settings.restart_command.format(url=ep.url, host=ep.host, port=ep.port)
            log.warning("restarting %s (%s): %s", ep.url, why, cmd)
            self.stats.add("restarts", f"restart {ep.url}: {why}")
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
                    self.mark_down(ep, "no answer after restart")
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
                self.mark_down(ep, str(e))
                continue
            reached += 1
            for step, wf in workflows.items():
                report[f"{ep.url} {step}"] = preflight(wf, info)
        if not reached:
            raise ComfyEndpointDown(f"no ComfyUI endpoint of {self.key} answers: " + ", ".join(self.urls))
        return report
