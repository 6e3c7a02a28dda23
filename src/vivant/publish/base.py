"""What every platform adapter shares: the protocol, the result, the error tree, HTTP helpers.

PublishError           a post failed (message safe to log: never a token)
├── TransientError     network trouble or a 5xx: try again later with backoff
├── StopForToday       quota, daily cap, rate limit or a rejected token: no more posts on that platform today
└── PermanentError     the platform refuses this post (bad request): give up on it
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Generic, Protocol, TypeVar

import httpx

from vivant.errors import VivantError

if TYPE_CHECKING:
    from vivant.publish.credentials import Credentials

S = TypeVar("S")

log = logging.getLogger(__name__)

DEFAULT_TIMEOUT = httpx.Timeout(connect=15.0, read=120.0, write=120.0, pool=15.0)


class PublishError(VivantError):
    """A post could not be made. The message holds the platform's words, never a credential."""


class TransientError(PublishError):
    """Try again later (network error, 5xx, upload session lost)."""


class StopForToday(PublishError):
    """Quota exhausted, daily cap reached, rate limited or token rejected: stop this platform for the day."""


class PermanentError(PublishError):
    """The platform refuses this post; retrying the same request cannot help."""


@dataclass(frozen=True)
class PostMetadata:
    """What a platform is told about one video (from the pool entry)."""

    title: str
    description: str
    hashtags: list[str]
    language: str
    ai_generated: bool = True
    ai_disclosure: str = ""
    painting: str = ""


@dataclass(frozen=True)
class PostJob:
    """One post to make: the file, its metadata, the slot time, and the resume point of an earlier try."""

    post_id: int
    platform: str
    video: Path
    thumbnail: Path | None
    meta: PostMetadata
    publish_at: float | None = None
    ref: dict[str, Any] = field(default_factory=dict)
    day: str = ""
    stem: str = ""


@dataclass(frozen=True)
class PostResult:
    remote_id: str
    url: str


SaveRef = Callable[[dict[str, Any]], None]
"""Called with the upload's resume point (session URL, publish id, container id) before it is relied upon."""


class Adapter(Protocol):
    name: str

    def publish(self, job: PostJob, save_ref: SaveRef) -> PostResult:
        """Make the post, or finish the one ``job.ref`` points to; never post twice for one ``job``."""
        ...


class HttpAdapter(Generic[S]):
    """What every platform adapter holds: its settings, the credentials, an injectable transport and sleep."""

    name = ""

    def __init__(
        self,
        settings: S,
        credentials: Credentials,
        *,
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] = time.sleep,
        status_polls: int = 60,
        poll_seconds: float = 5.0,
    ) -> None:
        self.settings = settings
        self.status_polls = status_polls
        """Times a post's processing status is asked before it is left for the next run."""
        self.poll_seconds = poll_seconds
        self.credentials = credentials
        self.transport = transport
        self.sleep = sleep


def client(base_url: str = "", *, transport: httpx.BaseTransport | None = None) -> httpx.Client:
    return httpx.Client(base_url=base_url, timeout=DEFAULT_TIMEOUT, transport=transport, follow_redirects=False)


def request(
    c: httpx.Client,
    method: str,
    url: str,
    *,
    what: str,
    classify: Callable[[httpx.Response], PublishError | None],
    retries: int = 3,
    backoff: float = 1.0,
    sleep: Callable[[float], None] = time.sleep,
    **kwargs: Any,
) -> httpx.Response:
    """One API call, retried with backoff on network errors and 5xx; other errors are classified by the
    adapter (``classify`` returns the error to raise, or None when the response is fine)."""
    attempt = 0
    while True:
        attempt += 1
        try:
            response = c.request(method, url, **kwargs)
        except httpx.TransportError as e:
            if attempt > retries:
                raise TransientError(f"{what}: {type(e).__name__}") from None
            log.info("%s: %s; trying again", what, type(e).__name__)
            sleep(backoff * 2 ** (attempt - 1))
            continue
        if response.status_code in (500, 502, 503, 504) and attempt <= retries:
            log.info("%s: HTTP %d; trying again", what, response.status_code)
            sleep(backoff * 2 ** (attempt - 1))
            continue
        error = classify(response)
        if error is not None:
            raise error
        return response


def short(text: str, limit: int = 300) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def json_of(response: httpx.Response) -> dict[str, Any]:
    try:
        data = response.json()
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}
