"""A small client for a pool of OpenAI-compatible servers (vLLM, SGLang, llama.cpp, Ollama, llama-swap, speaches,
Kokoro-FastAPI...): chat completions, ``/models``, ``/audio/transcriptions`` and ``/audio/speech``.

It speaks HTTP with httpx and nothing else: no vendor SDK, an injectable transport (``httpx.MockTransport`` in
tests), and three limits on every call: the connect timeout, the read timeout (longest silence between two
bytes) and a total deadline, checked while the body or the stream is read, so a server that trickles tokens
forever still ends. :meth:`LLMClient.structured` asks for JSON matching a pydantic model
(:mod:`vivant.backends.openai.structured`).

Several servers with the same models (``base_url`` and ``[llm] endpoints``) share the requests: each one goes
to the server that is up with the fewest requests outstanding, at most ``parallel`` per server when there are
several (the others wait, first come first served, and go to whichever server frees a place first; see
:mod:`vivant.backends.balance`). A server that cannot be reached (refused, reset, DNS, connect timeout) is
marked down for ``down_for`` seconds and the request goes to the next one, each server at most once per
request. A read timeout or an HTTP error is not sent elsewhere: the server may have processed the request.

Errors are :mod:`vivant.backends.openai.errors`' :class:`LLMError` subclasses; their messages name the server
that was used and the model, never the API key (kept as a :class:`pydantic.SecretStr`, sent only in the header).

This module knows nothing about paintings or prompts: see :mod:`vivant.backends.openai.writer`.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
from pydantic import SecretStr

from vivant.backends.balance import Balancer
from vivant.backends.openai.errors import (
    LLMConnectionError,
    LLMError,
    LLMHTTPError,
    LLMResponseError,
    LLMTimeout,
    _ConnectTimeout,
)
from vivant.backends.openai.structured import StructuredOutput, ask
from vivant.roles import current_attempt
from vivant.urls import safe_url

if TYPE_CHECKING:
    from vivant.config import LLMSettings

log = logging.getLogger(__name__)

Message = dict[str, Any]
"""One chat message: ``{"role": ..., "content": str | list of parts}`` (OpenAI's shape)."""

_BODY_TAIL = 300
"""How many characters of an error body are quoted in the message."""
_MAX_BODY = 8 * 1024 * 1024
"""A reply larger than this is not a chat completion."""


# -- helpers ----------------------------------------------------------------------------------------------------


def pool_urls(base_url: str, more_urls: Sequence[str] = ()) -> list[str]:
    """The servers of a pool: ``base_url`` first, then ``more_urls``; trailing slashes and repeats removed."""
    urls: list[str] = []
    for url in [base_url, *more_urls]:
        url = url.strip().rstrip("/")
        if url and url not in urls:
            urls.append(url)
    return urls


@dataclass
class ChatReply:
    content: str
    finish_reason: str | None = None
    usage: dict[str, Any] = field(default_factory=dict)
    seconds: float = 0.0
    server: str = ""
    """The server that answered (without credentials)."""


@dataclass(frozen=True)
class Form:
    """A multipart form: plain fields (a list value repeats the field) and files as (name, bytes, type)."""

    fields: dict[str, str | list[str]]
    files: dict[str, tuple[str, bytes, str]]


# -- the client -------------------------------------------------------------------------------------------------


class LLMClient:
    """Chat completions against a pool of OpenAI-compatible servers serving the same models.

    Thread-safe: one client may serve many threads at once (the httpx client and the balancer are; nothing else
    changes after construction). ``base_url`` is the first server, ``base_urls`` all of them.
    """

    def __init__(
        self,
        base_url: str,
        model: str,
        *,
        more_urls: Sequence[str] = (),
        parallel: int = 1,
        down_for: float = 60.0,
        api_key: SecretStr | str | None = None,
        connect_timeout: float = 10.0,
        read_timeout: float = 120.0,
        request_timeout: float = 300.0,
        structured_output: StructuredOutput = "json_schema",
        max_retries: int = 2,
        temperature: float = 0.7,
        max_tokens: int = 1024,
        stream: bool = False,
        extra_body: dict[str, Any] | None = None,
        transport: httpx.BaseTransport | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        """``clock`` measures ``down_for`` (tests inject one; request timeouts stay on the real clock)."""
        self._clock = clock
        self.base_urls: tuple[str, ...] = tuple(pool_urls(base_url, more_urls)) or (base_url.rstrip("/"),)
        self.base_url = self.base_urls[0]
        self.parallel = max(1, parallel)
        self.down_for = down_for
        self._names = tuple(safe_url(u) for u in self.base_urls)
        # with several servers, ``parallel`` requests each; with one, its callers decide how many
        self._balancer = Balancer(self._names, depth=self.parallel, clock=clock)
        self._local = threading.local()
        self.model = model
        self._api_key = api_key if isinstance(api_key, SecretStr) or api_key is None else SecretStr(api_key)
        self.request_timeout = request_timeout
        self.structured_output: StructuredOutput = structured_output
        self.max_retries = max(0, max_retries)
        self.temperature = temperature
        self.max_tokens = max_tokens
        self.stream = stream
        self.extra_body = dict(extra_body or {})
        timeout = httpx.Timeout(connect=connect_timeout, read=read_timeout, write=read_timeout, pool=connect_timeout)
        in_flight = self.parallel * len(self.base_urls)
        limits = httpx.Limits(max_connections=max(100, 2 * in_flight), max_keepalive_connections=max(20, in_flight))
        self._http = httpx.Client(timeout=timeout, limits=limits, transport=transport, follow_redirects=False)

    @classmethod
    def from_settings(
        cls, settings: LLMSettings, *, model: str | None = None, transport: httpx.BaseTransport | None = None
    ) -> LLMClient:
        return cls(
            settings.base_url,
            model or settings.model,
            more_urls=settings.endpoints,
            parallel=settings.parallel,
            api_key=settings.key(),
            read_timeout=settings.read_timeout,
            request_timeout=settings.request_timeout,
            structured_output=settings.structured_output,
            max_retries=settings.max_retries,
            temperature=settings.temperature,
            max_tokens=settings.max_tokens,
            stream=settings.stream,
            extra_body=settings.extra_body,
            transport=transport,
        )

    @property
    def last_server(self) -> str:
        """The server that answered this thread's latest chat (without credentials; "" before any)."""
        return str(getattr(self._local, "server", ""))

    def __repr__(self) -> str:
        servers = self._names[0] if len(self._names) == 1 else list(self._names)
        return f"LLMClient({servers!r}, model={self.model!r})"

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> LLMClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- plumbing ---------------------------------------------------------------------------------------------
    def _where(self, model: str | None = None, server: str = "") -> str:
        """``LLM server URL (model M)``: ``server`` is the one used (safe URL; default: the first)."""
        return f"LLM server {server or self._names[0]} (model {model or self.model})"

    def _headers(self) -> dict[str, str]:
        headers = {"Accept": "application/json"}
        if self._api_key is not None and self._api_key.get_secret_value():
            headers["Authorization"] = f"Bearer {self._api_key.get_secret_value()}"
        return headers

    def _redact(self, text: str) -> str:
        if self._api_key is not None and self._api_key.get_secret_value():
            text = text.replace(self._api_key.get_secret_value(), "***")
        return text

    def _chunks(self, response: httpx.Response, deadline: float, where: str) -> Iterator[bytes]:
        for chunk in response.iter_bytes():
            yield chunk
            if time.monotonic() > deadline:
                raise LLMTimeout(f"{where}: no complete answer within {self.request_timeout:g} s")

    def _request(
        self, method: str, path: str, body: dict[str, Any] | None, model: str | None = None, form: Form | None = None
    ) -> tuple[int, bytes, bool, str]:
        """Send one request to a server of the pool; return (status, body bytes, SSE stream?, server used).

        A server that cannot be reached is marked down and the next one is tried (each at most once); when
        none could be, the last error is raised, naming the servers tried.
        """
        tried: list[int] = []
        last: LLMError | None = None
        while len(tried) < len(self.base_urls):
            k = self._balancer.acquire(avoid=tried[-1] if tried else None)
            if k in tried:  # every server not tried yet is marked down too: leave it to the next request
                self._balancer.release(k)
                break
            tried.append(k)
            where = self._where(model, self._names[k])
            ok = False
            try:
                status, data, is_sse = self._send(self.base_urls[k], method, path, body, where, form)
                ok = True
            except (LLMConnectionError, _ConnectTimeout) as e:
                last = e
                self._balancer.down(k, self.down_for)
                if len(self.base_urls) > 1:
                    log.warning("%s; left to the other servers for %g s", e, self.down_for)
                continue
            finally:
                self._balancer.release(k, ok=ok)
            if self._balancer.slots[k].down_until > self._clock():
                self._balancer.up(k)  # it answered: back in the pool before its time is up
            return status, data, is_sse, self._names[k]
        assert last is not None
        if len(tried) > 1 or len(self.base_urls) > 1:
            names = ", ".join(self._names[k] for k in tried)
            skipped = len(self.base_urls) - len(tried)
            others = f"; {skipped} more marked down" if skipped else ""
            raise type(last)(f"{last} (servers tried: {names}{others})") from None
        raise last

    def _send(
        self, base_url: str, method: str, path: str, body: dict[str, Any] | None, where: str, form: Form | None = None
    ) -> tuple[int, bytes, bool]:
        """One request to one server (JSON ``body``, or a multipart ``form``); return (status, body bytes, whether
        it was an SSE stream)."""
        url = f"{base_url}{path}"
        deadline = time.monotonic() + self.request_timeout
        payload: dict[str, Any] = {"json": body} if form is None else {"data": form.fields, "files": form.files}
        try:
            with self._http.stream(method, url, headers=self._headers(), **payload) as response:
                is_sse = response.headers.get("content-type", "").startswith("text/event-stream")
                data = bytearray()
                for chunk in self._chunks(response, deadline, where):
                    data += chunk
                    if len(data) > _MAX_BODY:
                        raise LLMResponseError(f"{where}: reply larger than {_MAX_BODY // 1024 // 1024} MiB")
                return response.status_code, bytes(data), is_sse
        except httpx.ConnectTimeout:
            raise _ConnectTimeout(f"{where}: timed out connecting") from None
        except httpx.TimeoutException as e:
            kind = {
                httpx.ReadTimeout: "waiting for the answer",
                httpx.WriteTimeout: "sending the request",
                httpx.PoolTimeout: "waiting for a connection",
            }.get(type(e), "talking to the server")
            raise LLMTimeout(f"{where}: timed out {kind}") from None
        except httpx.TransportError as e:
            raise LLMConnectionError(
                f"{where}: cannot reach the server ({type(e).__name__}: {self._redact(str(e))})"
            ) from None

    def _check_status(self, status: int, data: bytes, where: str) -> None:
        if status < 400:
            return
        text = data.decode("utf-8", errors="replace")
        try:  # OpenAI-style {"error": {"message": ...}} or {"detail": ...}
            parsed = json.loads(text)
            if isinstance(parsed, dict):
                err = parsed.get("error", parsed.get("detail", text))
                text = str(err.get("message", err)) if isinstance(err, dict) else str(err)
        except ValueError:
            pass
        tail = " ".join(self._redact(text).split())[:_BODY_TAIL]
        raise LLMHTTPError(f"{where}: HTTP {status}: {tail or '(empty body)'}", status=status, body_tail=tail)

    @staticmethod
    def _parse_sse(data: bytes, where: str) -> ChatReply:
        parts: list[str] = []
        finish: str | None = None
        usage: dict[str, Any] = {}
        for raw in data.decode("utf-8", errors="replace").splitlines():
            line = raw.strip()
            if not line.startswith("data:"):
                continue
            payload = line[5:].strip()
            if payload == "[DONE]":
                break
            try:
                event = json.loads(payload)
            except ValueError:
                raise LLMResponseError(f"{where}: bad stream event {payload[:80]!r}") from None
            for choice in event.get("choices") or []:
                delta = choice.get("delta") or {}
                if isinstance(delta.get("content"), str):
                    parts.append(delta["content"])
                finish = choice.get("finish_reason") or finish
            usage = event.get("usage") or usage
        return ChatReply(content="".join(parts), finish_reason=finish, usage=usage)

    @staticmethod
    def _parse_completion(data: bytes, where: str) -> ChatReply:
        try:
            parsed = json.loads(data)
            choice = parsed["choices"][0]
            content = choice["message"]["content"]
        except (ValueError, KeyError, IndexError, TypeError):
            head = data[:120].decode("utf-8", errors="replace")
            raise LLMResponseError(f"{where}: not a chat completion: {head!r}") from None
        if not isinstance(content, str):
            raise LLMResponseError(f"{where}: the answer has no text content")
        return ChatReply(content=content, finish_reason=choice.get("finish_reason"), usage=parsed.get("usage") or {})

    # -- API ----------------------------------------------------------------------------------------------------
    def models(self) -> list[str]:
        """The model ids a server of the pool lists at ``/models``."""
        status, data, _, server = self._request("GET", "/models", None)
        where = self._where(server=server)
        self._check_status(status, data, where)
        try:
            return [str(m["id"]) for m in json.loads(data)["data"]]
        except (ValueError, KeyError, TypeError):
            raise LLMResponseError(f"{where}: /models did not list models") from None

    def chat(
        self,
        messages: list[Message],
        *,
        model: str | None = None,
        response_format: dict[str, Any] | None = None,
        temperature: float | None = None,
        max_tokens: int | None = None,
        seed: int | None = None,
    ) -> ChatReply:
        """One chat completion; the reply's text (streamed or not, the result is the same)."""
        body: dict[str, Any] = {
            **self.extra_body,
            "model": model or self.model,
            "messages": messages,
            "temperature": self.temperature if temperature is None else temperature,
            "max_tokens": max_tokens or self.max_tokens,
            "stream": self.stream,
        }
        if response_format is not None:
            body["response_format"] = response_format
        if seed is not None:
            body["seed"] = seed
        started = time.monotonic()
        status, data, is_sse, server = self._request("POST", "/chat/completions", body, model)
        where = self._where(model, server)
        self._check_status(status, data, where)
        reply = self._parse_sse(data, where) if is_sse else self._parse_completion(data, where)
        reply.seconds = round(time.monotonic() - started, 3)
        reply.server = server
        self._local.server = server
        log.debug("%s: %d characters in %.1f s (%s)", where, len(reply.content), reply.seconds, reply.finish_reason)
        return reply

    def transcribe(self, audio: Path, *, language: str, prompt: str = "", model: str | None = None) -> dict[str, Any]:
        """``POST /audio/transcriptions`` (OpenAI's form: ``verbose_json`` with word timestamps): the server's
        JSON answer. Served by speaches (faster-whisper-server), LocalAI, vLLM with a Whisper model..."""
        fields: dict[str, str | list[str]] = {
            "model": model or self.model, "language": language, "response_format": "verbose_json",
            "timestamp_granularities[]": ["word", "segment"],
        }  # fmt: skip
        if prompt:
            fields["prompt"] = prompt
        try:
            data = audio.read_bytes()
        except OSError as e:
            raise LLMError(f"{audio}: cannot read the audio ({e.strerror})") from None
        kind = {".wav": "audio/wav", ".mp3": "audio/mpeg", ".m4a": "audio/mp4"}.get(audio.suffix.lower(), "audio/wav")
        form = Form(fields, {"file": (audio.name, data, kind)})
        status, body, _sse, server = self._request("POST", "/audio/transcriptions", None, model, form)
        where = self._where(model, server)
        self._check_status(status, body, where)
        self._local.server = server
        try:
            answer = json.loads(body)
        except ValueError:
            raise LLMResponseError(f"{where}: the transcription is not JSON: {body[:80]!r}") from None
        if not isinstance(answer, dict):
            raise LLMResponseError(f"{where}: the transcription is not a JSON object")
        return answer

    def speech(self, body: dict[str, Any], *, model: str | None = None) -> bytes:
        """``POST /audio/speech`` (OpenAI's form: model, voice, input, response_format...): the audio bytes.
        Served by Kokoro-FastAPI, speaches, chatterbox-tts-api, vLLM-Omni (Qwen3-TTS)..."""
        status, data, _sse, server = self._request("POST", "/audio/speech", body, model)
        self._check_status(status, data, self._where(model, server))
        self._local.server = server
        return data

    structured = ask
    """``client.structured(messages, Model, check=..., ...)``: JSON matching ``Model``, validated, the problems fed
    back and asked again (:func:`vivant.backends.openai.structured.ask`)."""


def pool_client(
    base_url: str, model: str, endpoints: Sequence[str], api_key: SecretStr | None, llm: LLMSettings
) -> LLMClient:
    """A client for a pool of its own (``[speech]``, ``[whisper]`` servers) or, when ``base_url`` is empty, for the
    ``[llm]`` servers; ``[llm]``'s parallel requests, down time and timeouts either way."""
    own = bool(base_url)
    return LLMClient(
        base_url if own else llm.base_url, model, more_urls=endpoints if own else llm.endpoints,
        parallel=llm.parallel, api_key=api_key if own else llm.key(),
        read_timeout=llm.read_timeout, request_timeout=llm.request_timeout,
    )  # fmt: skip


def note_server(client: LLMClient) -> None:
    """Tell the running step which server of the pool answered (its attempt records it)."""
    attempt = current_attempt()
    if attempt is not None and client.last_server:
        attempt.timing.endpoint = client.last_server
