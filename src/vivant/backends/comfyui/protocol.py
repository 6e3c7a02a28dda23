"""What ComfyUI's protocol says, as data: a client's timeouts, what the socket told about a prompt, a finished
prompt, a server's version and capabilities, and the pure readings of a history entry or a job (no I/O here).

The protocol is the one recorded from ComfyUI 0.3.64 (``shared/notes/comfyui-protocol.md``), plus the jobs API of
newer releases where a server has it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from vivant.backends.comfyui.errors import ComfyError, ComfyExecutionError, ComfyInterrupted

JobListener = Callable[[str, dict[str, Any]], None]
"""(message type, data) for every socket message about one prompt."""
WsConnect = Callable[..., Any]


@dataclass
class Timeouts:
    request: float = 30.0
    connect: float = 5.0
    download_stall: float = 30.0
    """Longest wait for the next chunk of a /view download."""
    poll_interval: float = 2.0
    """Poll /history and /queue when nothing was heard for this long (or the socket is down)."""
    down_after: float = 30.0
    """Give up on an endpoint after this long without any answer."""
    reconnect_min: float = 0.1
    """First pause before reconnecting a dropped socket; it doubles up to ``reconnect_max``."""
    reconnect_max: float = 10.0
    """Longest pause between two reconnections while nobody needs the socket: a job that needs it (through
    :meth:`ComfyClient.ensure_connected`) cuts the pause short, so a server back up is used at once."""


@dataclass
class Watch:
    """What the socket told about one prompt."""

    prompt_id: str
    listener: JobListener | None = None
    submitted: float = 0.0
    submitted_wall: float = 0.0
    started: float | None = None
    finished: float | None = None
    last_heard: float = 0.0
    done: asyncio.Event = field(default_factory=asyncio.Event)
    terminal: tuple[str, dict[str, Any]] | None = None


@dataclass(frozen=True)
class Outcome:
    """A finished prompt: its history entry and the timing seen by this client."""

    prompt_id: str
    outputs: dict[str, Any]
    queue_wait: float | None
    compute: float | None


RECORDED_VERSION = (0, 3, 64)
"""The release whose protocol ``shared/notes/comfyui-protocol.md`` records (no jobs API)."""


def parse_version(text: object) -> tuple[int, ...] | None:
    """``"0.3.64"`` -> ``(0, 3, 64)``; compared as numbers, so 0.10 > 0.9 (a suffix such as ``-rc1`` is dropped)."""
    parts: list[int] = []
    for piece in str(text or "").strip().lstrip("vV").split("."):
        digits = ""
        for ch in piece:
            if not ch.isdigit():
                break
            digits += ch
        if not digits:
            break
        parts.append(int(digits))
        if len(digits) != len(piece):
            break
    return tuple(parts) or None


@dataclass(frozen=True)
class Capabilities:
    """What a server offers beyond the recorded 0.3.64 protocol."""

    version: tuple[int, ...] | None = None
    jobs: bool = False
    """``GET /api/jobs`` and ``/api/jobs/{id}`` (Comfy-Org/ComfyUI PR #11054)."""
    cancel: bool = False
    """``POST /api/jobs/{id}/cancel`` (PR #14493)."""

    @property
    def version_text(self) -> str:
        return ".".join(map(str, self.version)) if self.version else "unknown"


JOB_PLACES = {"pending": "pending", "in_progress": "running", "completed": "done", "failed": "done"}
"""The jobs API's statuses as :meth:`ComfyClient.locate` names them."""


def job_entry(job: dict[str, Any], prompt_id: str) -> tuple[dict[str, Any] | None, set[str], set[str]]:
    """A ``GET /api/jobs/{id}`` answer read as ``/history`` + ``/queue`` would be: (history-like entry of a
    finished job, {id} if running, {id} if pending)."""
    status = str(job.get("status"))
    if status in ("completed", "failed"):
        execution = job.get("execution_status") or {}
        if not execution and status == "failed":
            error = job.get("execution_error")
            messages = [["execution_error", error]] if isinstance(error, dict) else []
            execution = {"status_str": "error", "messages": messages}
        entry = {"outputs": job.get("outputs") or {}, "status": execution or {"status_str": "success"}}
        return entry, set(), set()
    here = {prompt_id}
    return None, (here if status == "in_progress" else set()), (here if status == "pending" else set())


def outcome(watch: Watch, entry: dict[str, Any], server: str) -> Outcome:
    """The finished prompt of a history entry with its timing (the server's timestamps, else what the socket
    saw), or the prompt's own error (:class:`ComfyExecutionError`, :class:`ComfyInterrupted`)."""
    where = f"{server}: prompt {watch.prompt_id}"
    status = entry.get("status") or {}
    messages = {m[0]: m[1] for m in status.get("messages", []) if isinstance(m, list) and len(m) == 2}
    if status.get("status_str") != "success":
        if "execution_error" in messages:
            raise ComfyExecutionError(where, messages["execution_error"])
        if "execution_interrupted" in messages:
            d = messages["execution_interrupted"]
            node, cls = d.get("node_id", "?"), d.get("node_type", "?")
            raise ComfyInterrupted(f"{where}: interrupted at node {node} ({cls})")
        raise ComfyError(f"{where}: ended with status {status.get('status_str')!r}")
    start_ts = (messages.get("execution_start") or {}).get("timestamp")
    end_ts = (messages.get("execution_success") or {}).get("timestamp")
    compute: float | None = None
    if isinstance(start_ts, int | float) and isinstance(end_ts, int | float):
        compute = (end_ts - start_ts) / 1000
    if compute is None and watch.started is not None and watch.finished is not None:
        compute = watch.finished - watch.started
    if watch.started is not None:
        queue_wait: float | None = watch.started - watch.submitted
    elif isinstance(start_ts, int | float):
        queue_wait = start_ts / 1000 - watch.submitted_wall
    else:
        queue_wait = None
    if queue_wait is not None:
        queue_wait = max(0.0, queue_wait)
    return Outcome(watch.prompt_id, entry.get("outputs") or {}, queue_wait, compute)
