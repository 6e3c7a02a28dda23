"""A ComfyUI job's life on a :class:`~vivant.backends.comfyui.pool.ComfyPool`, run on the pool's event loop.

:func:`run_job` adopts a prompt an earlier, interrupted attempt left on a server (no double submit); else it
takes a place on an endpoint (:meth:`ComfyPool.pick`), lets the endpoint switch models, uploads the inputs
under unique names, records the new prompt id through the step's hook *before* posting it, and waits for it. A
prompt lost to a restart is submitted again; one whose endpoint stopped answering goes to another endpoint; one
past its timeout is interrupted (and the server restarted, when configured). :func:`progress_listener` turns
the socket's messages into the step's progress.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from vivant.backends.comfyui.errors import ComfyConnectionError, ComfyError, ComfyLost, ComfyOutputError, ComfyTimeout
from vivant.backends.comfyui.protocol import Outcome
from vivant.backends.comfyui.workflow import FILE_PLACEHOLDERS, Workflow
from vivant.urls import safe_url

if TYPE_CHECKING:
    from vivant.backends.comfyui.pool import ComfyPool, Endpoint

log = logging.getLogger(__name__)

MAX_RESUBMITS = 3
"""Times a prompt lost to a server restart is submitted again."""
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


async def run_job(pool: ComfyPool, job: Job, hooks: JobHooks) -> JobResult:
    """Run one job on ``pool`` to completion, or raise the error it ended with (see the module's docstring)."""
    adopted = await adopt(pool, job, hooks)
    if adopted is not None:
        return adopted
    submissions = 0
    avoid: Endpoint | None = None
    again: dict[str, Any] | None = None  # the prompt before this one, when it is sent again
    while True:
        family = pool.family(job)
        ep = await pool.pick(job.cost, avoid, family, hooks)
        avoid = None
        prompt_id = str(uuid.uuid4())
        ok = False
        entered = False
        sent_at: float | None = None
        try:
            await pool.switch_models_for(ep, family, job.label)
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
            pool.stats.add("submitted")
            if again is not None:  # the attempt's remote id is now the new one: the event keeps the old
                lost = round(time.monotonic() - again.pop("since"), 3)
                hooks.notice("unit_resubmitted", remote_id=prompt_id, endpoint=safe_url(ep.url),
                             submission=submissions, lost_seconds=lost, **again)  # fmt: skip
                again = None
            sent_at = time.monotonic()
            await ep.client.submit(graph, prompt_id, listener=progress_listener(hooks, job.workflow))
            hooks.progress(0.0, phase="queued", endpoint=ep.url, prompt_id=prompt_id)
            outcome = await ep.client.wait(prompt_id, timeout=pool.settings.job_timeout)
            ok = True
            return await collect(ep, job, outcome, submissions)
        except ComfyTimeout:
            pool.stats.add("timeouts")
            await ep.client.interrupt(prompt_id)
            if pool.settings.restart_command and pool.settings.restart_after_timeout:
                await pool.restart(ep, why=f"prompt {prompt_id} stuck past {pool.settings.job_timeout:.0f} s")
            raise
        except ComfyLost as e:
            pool.balancer.forget_models(ep.index)  # the server restarted: nothing is loaded
            pool.stats.add("resubmitted")
            if submissions > MAX_RESUBMITS:
                raise
            log.info("%s: prompt %s lost on %s; submitting again", job.label, prompt_id, ep.url)
            pool.stats.add("", f"resubmit {ep.url}: {prompt_id} lost")
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
            if submissions > MAX_RESUBMITS + len(pool.endpoints):
                raise
            pool.mark_down(ep, str(e), hooks)
            pool.stats.add("moved")
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
                await pool.balancer.leave_models(ep.index, family)
            await pool.release(ep, job.cost, ok=ok)
            ep.client.forget(prompt_id)


async def adopt(pool: ComfyPool, job: Job, hooks: JobHooks) -> JobResult | None:
    """Follow a prompt of an earlier attempt that a server still holds, instead of submitting again."""
    for rid in hooks.previous_remote_ids:
        for ep in pool.healthy_now():
            try:
                await ep.client.ensure_connected()
                where = await ep.client.locate(rid)
                if where is None:
                    continue
                ep.client.watch(rid, progress_listener(hooks, job.workflow))
                hooks.endpoint(safe_url(ep.url))
                await asyncio.to_thread(hooks.set_remote_id, rid)
                pool.balancer.take(ep.index, job.cost)  # already queued there: counted, never held back
                family = pool.family(job)
                pool.balancer.enter(ep.index, family)  # already there: counted, never held back
                try:
                    outcome = await ep.client.wait(rid, timeout=pool.settings.job_timeout)
                finally:
                    await pool.balancer.leave_models(ep.index, family)
                    await pool.release(ep, job.cost, ok=True)
                pool.stats.add("adopted")
                return await collect(ep, job, outcome, 0)
            except ComfyError as e:
                log.info("%s: earlier prompt %s not reused: %s", job.label, rid, e)
    return None


async def collect(ep: Endpoint, job: Job, outcome: Outcome, submissions: int) -> JobResult:
    """Download the finished prompt's output file (the workflow's output node) into the job's folder."""
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
    return JobResult(dest, outcome.prompt_id, ep.url, outcome.queue_wait, outcome.compute, submissions)


def progress_listener(hooks: JobHooks, workflow: Workflow) -> Callable[[str, dict[str, Any]], None]:
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
