"""The event socket of one ComfyUI server (``/ws?clientId=...``, with websockets).

One socket per client, opened with a stable ``clientId`` *before* any prompt is posted (the server sends a
prompt's execution messages only to the socket whose id equals the prompt's ``client_id``), reconnected with
backoff when it drops. Each message about a watched prompt updates its :class:`~.protocol.Watch` (started,
finished, the terminal error) and goes to the prompt's listener.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import websockets
from websockets.asyncio.client import connect as ws_connect

from vivant.backends.comfyui.errors import ComfyConnectionError
from vivant.backends.comfyui.protocol import JobListener, Timeouts, Watch, WsConnect

log = logging.getLogger(__name__)


class EventSocket:
    """The socket task of one server and the prompts it watches. Use inside the client's event loop."""

    def __init__(
        self,
        base_url: str,
        client_id: str,
        timeouts: Timeouts,
        *,
        connect: WsConnect | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        parts = urlsplit(base_url)
        scheme = "wss" if parts.scheme == "https" else "ws"
        self.url = urlunsplit((scheme, parts.netloc, parts.path.rstrip("/") + "/ws", f"clientId={client_id}", ""))
        self.t = timeouts
        self.clock = clock
        self._connect = connect or ws_connect
        self.watches: dict[str, Watch] = {}
        self._task: asyncio.Task[None] | None = None
        self._wake = asyncio.Event()
        self.connected = asyncio.Event()
        self.last_message = 0.0
        self.reconnects = 0
        self._closing = False

    async def ensure_connected(self, healthy: Callable[[], Awaitable[bool]], timeout: float | None = None) -> None:
        """Start the socket task if needed and wait until it is open. A reconnection waiting out its backoff is
        tried now; when the socket still does not open but the server answers (``healthy``: it is just back),
        it gets one more try before the server is called unreachable."""
        if self._task is None or self._task.done():
            self._closing = False
            self._task = asyncio.create_task(self._loop(), name=f"comfy-ws {self.url}")
        for last in (False, True):
            if self.connected.is_set():
                return
            self._wake.set()
            try:
                await asyncio.wait_for(self.connected.wait(), timeout or self.t.connect)
                return
            except TimeoutError:
                if last or not await healthy():
                    break
        raise ComfyConnectionError(f"{self.url}: the event socket does not open")

    async def _loop(self) -> None:
        delay = self.t.reconnect_min
        first = True
        while not self._closing:
            try:
                async with self._connect(
                    self.url, open_timeout=self.t.connect, ping_interval=10, ping_timeout=self.t.request,
                    max_size=None, close_timeout=1,
                ) as ws:  # fmt: skip
                    if not first:
                        self.reconnects += 1
                    first = False
                    delay = self.t.reconnect_min
                    self.connected.set()
                    self.last_message = self.clock()
                    async for raw in ws:
                        if isinstance(raw, bytes):
                            continue  # previews
                        try:
                            msg = json.loads(raw)
                        except ValueError:
                            continue
                        self.dispatch(msg)
            except asyncio.CancelledError:
                raise
            except (OSError, TimeoutError, websockets.WebSocketException) as e:
                log.debug("%s: socket: %s", self.url, e)
            finally:
                self.connected.clear()
            if self._closing:
                break
            self._wake.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), delay)  # a job needing the socket cuts the pause short
            delay = min(delay * 2, self.t.reconnect_max)

    def dispatch(self, msg: dict[str, Any]) -> None:
        """One message from the server: news of a watched prompt (other messages only count as a sign of life)."""
        now = self.clock()
        self.last_message = now
        kind = str(msg.get("type", ""))
        data = msg.get("data") or {}
        watch = self.watches.get(str(data.get("prompt_id", "")))
        if watch is None:
            return
        watch.last_heard = now
        if kind == "execution_start":
            watch.started = now
        elif kind in ("execution_error", "execution_interrupted"):
            watch.terminal = (kind, data)
        elif kind == "execution_success":
            watch.finished = now
        elif kind == "executing" and data.get("node") is None:
            watch.finished = watch.finished or now
            watch.done.set()
        if watch.listener is not None:
            try:
                watch.listener(kind, data)
            except Exception:
                log.exception("listener failed on %s", kind)

    def watch(self, prompt_id: str, listener: JobListener | None = None) -> Watch:
        w = self.watches.get(prompt_id)
        if w is None:
            w = self.watches[prompt_id] = Watch(prompt_id, listener, submitted=self.clock(),
                                                submitted_wall=time.time())  # fmt: skip
        elif listener is not None:
            w.listener = listener
        return w

    def forget(self, prompt_id: str) -> None:
        self.watches.pop(prompt_id, None)

    async def close(self) -> None:
        self._closing = True
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task
