"""An asyncio client for one ComfyUI server: HTTP with httpx, the event socket through :mod:`.eventsocket`.

It follows the protocol recorded from ComfyUI 0.3.64 (``shared/notes/comfyui-protocol.md``; its data and pure
readings are :mod:`.protocol`):

- the caller chooses the ``prompt_id`` (the server keeps it), so it can record it before ``POST /prompt``;
- completion is read from ``/history/{id}`` (or ``/api/jobs/{id}`` where the server has the jobs API), after
  the final ``executing`` with ``node: null`` (the history entry is written just before it); when the socket is
  silent or down, ``/history`` and ``/queue`` are polled; a prompt in neither is lost (server restart) and
  reported as :class:`ComfyLost`;
- every request has a timeout; httpx and websockets exceptions become this backend's errors here.

It knows nothing about steps or workflows; :mod:`vivant.backends.comfyui.pool` drives it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

from vivant.backends.comfyui.errors import (
    ComfyConnectionError,
    ComfyError,
    ComfyHTTPError,
    ComfyLost,
    ComfyTimeout,
    ComfyValidationError,
)
from vivant.backends.comfyui.eventsocket import EventSocket
from vivant.backends.comfyui.protocol import (
    JOB_PLACES,
    RECORDED_VERSION,
    Capabilities,
    JobListener,
    Outcome,
    Timeouts,
    Watch,
    WsConnect,
    job_entry,
    outcome,
    parse_version,
)

log = logging.getLogger(__name__)


class ComfyClient:
    """One ComfyUI server. Use inside a running event loop; call :meth:`close` when done."""

    def __init__(
        self,
        base_url: str,
        *,
        client_id: str,
        timeouts: Timeouts | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        connect: WsConnect | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.client_id = client_id
        self.t = timeouts or Timeouts()
        self.clock = clock
        self._http = httpx.AsyncClient(
            base_url=self.base_url,
            transport=transport,
            timeout=httpx.Timeout(self.t.request, connect=self.t.connect),
        )
        self.socket = EventSocket(self.base_url, client_id, self.t, connect=connect, clock=clock)
        self._queue_cache: tuple[float, set[str], set[str]] | None = None
        self._queue_lock = asyncio.Lock()
        self._caps: Capabilities | None = None
        self._caps_lock = asyncio.Lock()

    def __repr__(self) -> str:
        return f"ComfyClient({self.base_url})"

    # -- HTTP -----------------------------------------------------------------------------------------------
    async def _request(self, method: str, path: str, **kw: Any) -> httpx.Response:
        url = f"{self.base_url}{path}"
        try:
            return await self._http.request(method, path, **kw)
        except httpx.TimeoutException as e:
            raise ComfyTimeout(f"{url}: no answer in time ({type(e).__name__})") from None
        except httpx.TransportError as e:
            raise ComfyConnectionError(f"{url}: {type(e).__name__}: {e or 'connection failed'}") from None

    async def _json(self, method: str, path: str, **kw: Any) -> Any:
        r = await self._request(method, path, **kw)
        if r.status_code != 200:
            raise ComfyHTTPError(f"{self.base_url}{path}", r.status_code, r.text)
        if not r.content:
            return None
        try:
            return r.json()
        except ValueError:
            raise ComfyHTTPError(f"{self.base_url}{path}", r.status_code, "not JSON: " + r.text[:100]) from None

    async def system_stats(self) -> dict[str, Any]:
        data: dict[str, Any] = await self._json("GET", "/system_stats")
        return data

    async def object_info(self) -> dict[str, Any]:
        data: dict[str, Any] = await self._json("GET", "/object_info")
        return data

    async def healthy(self) -> bool:
        try:
            await self.system_stats()
        except ComfyError:
            return False
        return True

    async def capabilities(self) -> Capabilities:
        """Read ``/system_stats``' ``comfyui_version`` and find out (once) whether the server has the jobs API
        and its cancel route. Releases up to the recorded 0.3.64 are known to lack both and are not probed;
        newer or unknown ones are asked with requests that change nothing (a one-item list, the cancel of an
        id nobody uses, which answers ``{"cancelled": false}``)."""
        async with self._caps_lock:
            if self._caps is not None:
                return self._caps
            stats = await self.system_stats()
            version = parse_version((stats.get("system") or {}).get("comfyui_version"))
            jobs = cancel = False
            if version is None or version > RECORDED_VERSION:
                r = await self._request("GET", "/api/jobs", params={"limit": "1"})
                jobs = r.status_code == 200 and isinstance(_json_or_none(r), dict) and "jobs" in (r.json() or {})
                if jobs:
                    probe = str(uuid.UUID(int=0))
                    r = await self._request("POST", f"/api/jobs/{probe}/cancel")
                    cancel = r.status_code == 200 and isinstance(_json_or_none(r), dict) and "cancelled" in r.json()
            self._caps = Capabilities(version, jobs, cancel)
            log.info("%s: ComfyUI %s (jobs API: %s, job cancel: %s)", self.base_url, self._caps.version_text,
                     "yes" if jobs else "no", "yes" if cancel else "no")  # fmt: skip
            return self._caps

    async def job(self, prompt_id: str) -> dict[str, Any] | None:
        """``GET /api/jobs/{id}``: the job (``status`` pending / in_progress / completed / failed; a finished
        one carries ``outputs`` and ``execution_status``, the history entry's status) or None (404)."""
        r = await self._request("GET", f"/api/jobs/{prompt_id}")
        if r.status_code == 404:
            return None
        if r.status_code != 200:
            raise ComfyHTTPError(f"{self.base_url}/api/jobs/{prompt_id}", r.status_code, r.text)
        data = _json_or_none(r)
        if not isinstance(data, dict):
            raise ComfyHTTPError(f"{self.base_url}/api/jobs/{prompt_id}", r.status_code, "not a job: " + r.text[:100])
        return data

    async def _jobs_api(self) -> bool:
        try:
            return (await self.capabilities()).jobs
        except ComfyError:
            return False

    async def upload(self, path: Path, name: str, *, subfolder: str = "vivant") -> str:
        """Upload any file through /upload/image; return the reference a graph uses (``subfolder/name``)."""
        try:
            content = path.read_bytes()
        except OSError as e:
            raise ComfyError(f"{path}: cannot read the file to upload: {e.strerror or e}") from None
        r = await self._request(
            "POST", "/upload/image", files={"image": (name, content)}, data={"subfolder": subfolder, "type": "input"}
        )
        if r.status_code != 200:
            raise ComfyHTTPError(f"{self.base_url}/upload/image", r.status_code, r.text)
        got = r.json()
        sub = str(got.get("subfolder") or "")
        return f"{sub}/{got['name']}" if sub else str(got["name"])

    async def submit(self, graph: dict[str, Any], prompt_id: str, *, listener: JobListener | None = None) -> Watch:
        """Post a prompt under ``prompt_id``; the socket must be open (see :meth:`ensure_connected`)."""
        watch = self.watch(prompt_id, listener)
        watch.submitted, watch.submitted_wall = self.clock(), time.time()
        body = {"prompt": graph, "client_id": self.client_id, "prompt_id": prompt_id}
        r = await self._request("POST", "/prompt", json=body)
        where = f"{self.base_url}/prompt"
        if r.status_code == 400:
            try:
                data = r.json()
            except ValueError:
                data = {}
            self.forget(prompt_id)
            raise ComfyValidationError(where, data.get("error"), data.get("node_errors") or {})
        if r.status_code != 200:
            self.forget(prompt_id)
            raise ComfyHTTPError(where, r.status_code, r.text)
        data = r.json()
        if data.get("node_errors"):
            # only the valid outputs would run: take the prompt back and fail as a whole
            await self.interrupt(prompt_id)
            self.forget(prompt_id)
            raise ComfyValidationError(where, {"message": "some outputs failed validation"}, data["node_errors"])
        return watch

    async def queue_ids(self, *, max_age: float = 0.0) -> tuple[set[str], set[str]]:
        """(running, pending) prompt ids; a snapshot younger than ``max_age`` seconds is reused."""
        async with self._queue_lock:
            now = self.clock()
            if self._queue_cache and now - self._queue_cache[0] <= max_age:
                return self._queue_cache[1], self._queue_cache[2]
            data = await self._json("GET", "/queue") or {}
            running = {str(q[1]) for q in data.get("queue_running", [])}
            pending = {str(q[1]) for q in data.get("queue_pending", [])}
            self._queue_cache = (self.clock(), running, pending)
            return running, pending

    async def history(self, prompt_id: str) -> dict[str, Any] | None:
        data = await self._json("GET", f"/history/{prompt_id}") or {}
        entry = data.get(prompt_id)
        return entry if isinstance(entry, dict) else None

    async def locate(self, prompt_id: str) -> str | None:
        """Where the server has ``prompt_id``: ``running``, ``pending``, ``done`` (history) or None."""
        if await self._jobs_api():
            job = await self.job(prompt_id)
            return None if job is None else JOB_PLACES.get(str(job.get("status")), "done")
        if await self.history(prompt_id) is not None:
            return "done"
        running, pending = await self.queue_ids()
        if prompt_id in running:
            return "running"
        return "pending" if prompt_id in pending else None

    async def interrupt(self, prompt_id: str) -> None:
        """Stop ``prompt_id`` whether it runs or waits (the server ignores ids it is not running)."""
        if await self._cancel_job(prompt_id):
            return
        await self.cancel(prompt_id)
        with contextlib.suppress(ComfyError):
            await self._request("POST", "/interrupt", json={"prompt_id": prompt_id})

    async def cancel(self, prompt_id: str) -> None:
        if await self._cancel_job(prompt_id):
            return
        with contextlib.suppress(ComfyError):
            await self._request("POST", "/queue", json={"delete": [prompt_id]})

    async def _cancel_job(self, prompt_id: str) -> bool:
        """``POST /api/jobs/{id}/cancel`` where the server has it (running: interrupted; pending: dequeued;
        finished or unknown: nothing). False when the server lacks it or the call failed (use the old routes)."""
        try:
            if not (await self.capabilities()).cancel:
                return False
            r = await self._request("POST", f"/api/jobs/{prompt_id}/cancel")
        except ComfyError:
            return False
        return r.status_code == 200

    async def free(self) -> None:
        r = await self._request("POST", "/free", json={"unload_models": True, "free_memory": True})
        if r.status_code != 200:
            raise ComfyHTTPError(f"{self.base_url}/free", r.status_code, r.text)

    async def download(self, ref: dict[str, Any], dest: Path) -> Path:
        """Stream one output file (``{"filename", "subfolder", "type"}``) through /view into ``dest``."""
        params = {"filename": ref["filename"], "subfolder": ref.get("subfolder", ""), "type": ref.get("type", "output")}
        url = f"{self.base_url}/view"
        tmp = dest.with_name(dest.name + ".part")
        timeout = httpx.Timeout(self.t.request, connect=self.t.connect, read=self.t.download_stall)
        try:
            async with self._http.stream("GET", "/view", params=params, timeout=timeout) as r:
                if r.status_code != 200:
                    await r.aread()
                    raise ComfyHTTPError(f"{url}?filename={params['filename']}", r.status_code, r.text)
                with tmp.open("wb") as f:
                    async for chunk in r.aiter_bytes(1 << 20):
                        f.write(chunk)
        except httpx.TimeoutException:
            tmp.unlink(missing_ok=True)
            raise ComfyTimeout(f"{url}: download of {params['filename']} stalled") from None
        except httpx.TransportError as e:
            tmp.unlink(missing_ok=True)
            raise ComfyConnectionError(f"{url}: download of {params['filename']}: {type(e).__name__}: {e}") from None
        tmp.replace(dest)
        return dest

    # -- socket (see :class:`EventSocket`) --------------------------------------------------------------------
    @property
    def connected(self) -> asyncio.Event:
        return self.socket.connected

    @property
    def reconnects(self) -> int:
        return self.socket.reconnects

    async def ensure_connected(self, timeout: float | None = None) -> None:
        """Open the event socket (see :meth:`EventSocket.ensure_connected`)."""
        await self.socket.ensure_connected(self.healthy, timeout)

    def watch(self, prompt_id: str, listener: JobListener | None = None) -> Watch:
        return self.socket.watch(prompt_id, listener)

    def forget(self, prompt_id: str) -> None:
        self.socket.forget(prompt_id)

    # -- waiting ----------------------------------------------------------------------------------------------
    async def wait(self, prompt_id: str, *, timeout: float) -> Outcome:
        """Wait until ``prompt_id`` ends; return its outputs or raise the matching error.

        ``timeout`` counts from the prompt's start: time spent queued behind other jobs is not held against it.
        Raises :class:`ComfyTimeout` (the caller interrupts), :class:`ComfyLost` (restart),
        :class:`ComfyConnectionError` (nothing answered for ``down_after`` seconds), or the prompt's own error.
        """
        watch = self.watch(prompt_id)
        absent = 0
        unreachable_since: float | None = None
        outage = 0.0
        try:
            while True:
                now = self.clock()
                deadline = None if watch.started is None else watch.started + timeout
                if deadline is not None and now >= deadline:
                    raise ComfyTimeout(f"{self.base_url}: prompt {prompt_id} did not finish within {timeout:.0f} s "
                                       "of starting")  # fmt: skip
                left = self.t.poll_interval if deadline is None else min(self.t.poll_interval, deadline - now)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(watch.done.wait(), left)
                now = self.clock()
                heard = max(watch.last_heard, self.socket.last_message)
                if not watch.done.is_set() and self.connected.is_set() and now - heard < self.t.poll_interval:
                    continue  # the socket is alive: keep listening
                try:
                    entry, running, pending = await self._poll(prompt_id, finished=watch.done.is_set())
                except (ComfyConnectionError, ComfyTimeout, ComfyHTTPError) as e:
                    unreachable_since = unreachable_since or now
                    if now - unreachable_since >= self.t.down_after:
                        raise ComfyConnectionError(f"{self.base_url}: no answer for {self.t.down_after:.0f} s "
                                                   f"while waiting for prompt {prompt_id} ({e})") from None  # fmt: skip
                    continue
                if unreachable_since is not None:
                    outage = max(outage, now - unreachable_since)
                unreachable_since = None
                if entry is not None:
                    return outcome(watch, entry, self.base_url)
                if prompt_id in running or prompt_id in pending:
                    absent = 0
                    if watch.started is None and prompt_id in running:
                        watch.started = now
                    watch.done.clear()
                    continue
                absent += 1
                if absent >= 2:
                    lost = ComfyLost(f"{self.base_url}: prompt {prompt_id} is in neither the queue nor the history "
                                     "(the server restarted?)")  # fmt: skip
                    lost.unreachable_for = round(outage, 3)
                    raise lost
                watch.done.clear()
        finally:
            self.forget(prompt_id)

    async def _poll(self, prompt_id: str, *, finished: bool) -> tuple[dict[str, Any] | None, set[str], set[str]]:
        """(history entry when finished, running ids, pending ids): one ``GET /api/jobs/{id}`` where the server
        has the jobs API, else ``/history/{id}`` then ``/queue``. ``finished``: the socket said it ended (the
        entry is written just before that message; be patient)."""
        jobs = await self._jobs_api()
        running: set[str] = set()
        pending: set[str] = set()
        if jobs:
            entry, running, pending = await self._poll_job(prompt_id)
        else:
            entry = await self.history(prompt_id)
        for _ in range(5 if entry is None and finished else 0):
            await asyncio.sleep(0.05)
            if jobs:
                entry, running, pending = await self._poll_job(prompt_id)
            else:
                entry = await self.history(prompt_id)
            if entry is not None:
                break
        if entry is None and not jobs:
            running, pending = await self.queue_ids(max_age=self.t.poll_interval / 2)
        return entry, running, pending

    async def _poll_job(self, prompt_id: str) -> tuple[dict[str, Any] | None, set[str], set[str]]:
        """One ``GET /api/jobs/{id}`` in place of ``/history`` + ``/queue`` (see :func:`job_entry`)."""
        job = await self.job(prompt_id)
        return (None, set(), set()) if job is None else job_entry(job, prompt_id)

    async def run(self, graph: dict[str, Any], prompt_id: str, *, timeout: float,
                  listener: JobListener | None = None) -> Outcome:  # fmt: skip
        """Open the socket, submit, wait; interrupt the prompt if it runs past ``timeout``."""
        await self.ensure_connected()
        await self.submit(graph, prompt_id, listener=listener)
        try:
            return await self.wait(prompt_id, timeout=timeout)
        except ComfyTimeout:
            await self.interrupt(prompt_id)
            raise

    async def close(self) -> None:
        await self.socket.close()
        await self._http.aclose()


def _json_or_none(r: httpx.Response) -> Any:
    try:
        return r.json()
    except ValueError:
        return None
