"""The exception tree of the ComfyUI backend. Every message is one readable line meant for the user.

ComfyError (ExternalToolError: retried by the engine unless said otherwise)
├── ComfyConnectionError   the server cannot be reached (refused, reset, DNS, socket closed)
│   └── ComfyEndpointDown  every configured endpoint is down
├── ComfyHTTPError         an unexpected HTTP status (carries the status and the body's start)
├── ComfyTimeout           a request or a whole job ran past its limit (the job was interrupted)
├── ComfyValidationError   POST /prompt refused the graph (400, or 200 with node_errors): not retried
├── ComfyExecutionError    the graph failed while running (``execution_error``)
├── ComfyInterrupted       the prompt was interrupted (``execution_interrupted``)
├── ComfyLost              the prompt vanished from queue and history (the server restarted)
├── ComfyOutputError       the finished prompt lacks the output the workflow promised
└── WorkflowError          a workflow file or its bindings are wrong, or preflight failed: not retried
"""

from __future__ import annotations

from typing import Any

from vivant.errors import ExternalToolError


class ComfyError(ExternalToolError):
    """Base class of the ComfyUI backend's errors."""


class ComfyConnectionError(ComfyError):
    """The server could not be reached or dropped the connection."""


class ComfyEndpointDown(ComfyConnectionError):
    """No configured endpoint answers."""


class ComfyHTTPError(ComfyError):
    def __init__(self, url: str, status: int, body: str = "") -> None:
        self.url, self.status, self.body = url, status, body
        short = " ".join(body.split())[:200]
        super().__init__(f"{url}: HTTP {status}" + (f": {short}" if short else ""))


class ComfyTimeout(ComfyError):
    """A request or a job ran past its time limit."""


class ComfyValidationError(ComfyError):
    """The server refused the graph. ``problems`` lists (node id, class, input, message)."""

    retryable = False

    def __init__(self, where: str, error: dict[str, Any] | None, node_errors: dict[str, Any]) -> None:
        self.error = error or {}
        self.node_errors = node_errors
        self.problems = describe_node_errors(node_errors)
        head = str(self.error.get("message") or "the prompt failed validation")
        details = str(self.error.get("details") or "")
        if details and not self.problems:
            head += f" ({details})"
        text = "; ".join(self.problems[:4]) + (f" (+{len(self.problems) - 4} more)" if len(self.problems) > 4 else "")
        super().__init__(f"{where}: {head}" + (f": {text}" if text else ""))


class ComfyExecutionError(ComfyError):
    """``execution_error``: a node raised while the graph ran."""

    def __init__(self, where: str, data: dict[str, Any]) -> None:
        self.data = data
        node = data.get("node_id", "?")
        cls = data.get("node_type", "?")
        etype = data.get("exception_type", "error")
        msg = " ".join(str(data.get("exception_message", "")).split())
        super().__init__(f"{where}: node {node} ({cls}) failed: {etype}: {msg}")


class ComfyInterrupted(ComfyError):
    """``execution_interrupted``: someone (or our timeout) interrupted the prompt."""


class ComfyLost(ComfyError):
    """The prompt is in neither the queue nor the history: the server lost it (restart)."""

    unreachable_for: float = 0.0
    """How long the server did not answer before it came back without the prompt (0: it never stopped)."""


class ComfyOutputError(ComfyError):
    """The prompt finished but the output the workflow names is missing."""


class WorkflowError(ComfyError):
    """A workflow file, its bindings, or its preflight against ``/object_info`` is wrong."""

    retryable = False


def describe_node_errors(node_errors: dict[str, Any]) -> list[str]:
    """``node_errors`` of POST /prompt as lines: ``node 2 (ImageScale) input 'height': Required input is missing``."""
    out: list[str] = []
    for node_id, entry in (node_errors or {}).items():
        if not isinstance(entry, dict):
            continue
        cls = entry.get("class_type", "?")
        for err in entry.get("errors", []) or []:
            extra = err.get("extra_info") or {}
            name = extra.get("input_name") if isinstance(extra, dict) else None
            msg = str(err.get("message", "error"))
            details = str(err.get("details", ""))
            where = f"node {node_id} ({cls})" + (f" input {name!r}" if name else "")
            out.append(f"{where}: {msg}" + (f" [{details}]" if details and details != name else ""))
    return out
