"""The errors of the OpenAI-compatible backends: step errors (the engine retries them) whose ``str()`` is one line
naming the server and the model, never the API key."""

from __future__ import annotations

from collections.abc import Sequence

from vivant.errors import ExternalToolError


class LLMError(ExternalToolError):
    """The LLM server could not give a usable answer. ``str()`` is one line naming the server and model."""


class LLMConnectionError(LLMError):
    """The server could not be reached (refused, DNS, reset)."""


class LLMTimeout(LLMError):
    """Connect, read or total deadline passed."""


class _ConnectTimeout(LLMTimeout):
    """No connection within the connect timeout: the request never reached the server (another may take it)."""


class LLMHTTPError(LLMError):
    """The server answered with an HTTP error status; ``body_tail`` holds the start of its message."""

    def __init__(self, message: str, *, status: int, body_tail: str) -> None:
        self.status = status
        self.body_tail = body_tail
        super().__init__(message)
        # a 4xx other than 408/429 is our request's fault: sending it again cannot help
        self.retryable = status >= 500 or status in (408, 429)


class LLMResponseError(LLMError):
    """The reply is not an OpenAI chat completion (bad JSON, no choices, empty content)."""


class LLMOutputInvalid(LLMError):
    """The model's output never passed validation; ``problems`` is the last list, ``replies`` every reply."""

    def __init__(self, message: str, *, problems: list[str], replies: list[str]) -> None:
        self.problems = problems
        self.replies = replies
        super().__init__(message)


class OutputProblems(ValueError):
    """Raised by a ``check`` callback: the reply parsed but breaks rules the schema cannot express."""

    def __init__(self, problems: Sequence[str]) -> None:
        self.problems = list(problems)
        super().__init__("; ".join(self.problems))
