"""The one redaction point: every secret value this process learns is registered here, and every text that
leaves the process (log lines, CLI output, error texts written to the database, the publishing plan) goes
through :func:`redact`.

Who registers: the credentials loader (every value of ``credentials.toml``), each token refresh (the access
token a platform hands back at run time), the configured API keys (``[llm]``, ``[whisper]``) and the review
page's token. Who redacts: :class:`RedactingFilter` on the root logger's handlers (installed by the CLI), the
store's writes of error texts and events, the CLI's error line and the publishing plan.

A registered value is replaced by ``***`` wherever it appears. Values shorter than :data:`MIN_LENGTH` are not
registered (a one-letter "secret" would blank every word holding that letter).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable
from typing import Any

from pydantic import SecretStr

MIN_LENGTH = 6
MASK = "***"

_lock = threading.Lock()
_secrets: tuple[str, ...] = ()


def register(*values: str | SecretStr | None) -> None:
    """Add secret values (plain or :class:`SecretStr`); empty, ``None`` and very short values are ignored."""
    global _secrets
    found = []
    for v in values:
        text = v.get_secret_value() if isinstance(v, SecretStr) else v
        if text and len(text) >= MIN_LENGTH:
            found.append(text)
    if not found:
        return
    with _lock:
        merged = set(_secrets) | set(found)
        _secrets = tuple(sorted(merged, key=len, reverse=True))  # longest first: no half-masked value


def register_all(values: Iterable[str | SecretStr | None]) -> None:
    register(*values)


def registered() -> int:
    """How many secret values are registered (never the values)."""
    return len(_secrets)


def forget_all() -> None:
    """Forget every registered value (tests)."""
    global _secrets
    with _lock:
        _secrets = ()


def redact(text: str) -> str:
    """``text`` with every registered secret replaced by ``***``."""
    secrets = _secrets
    if not secrets or not text:
        return text
    for s in secrets:
        if s in text:
            text = text.replace(s, MASK)
    return text


def redact_data(value: Any) -> Any:
    """A JSON-like value (dicts, lists, strings) with every string redacted."""
    if not _secrets:
        return value
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, dict):
        return {k: redact_data(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return type(value)(redact_data(v) for v in value)
    return value


class RedactingFilter(logging.Filter):
    """Blanks registered secrets in a record's message, arguments and traceback before a handler writes it."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not _secrets:
            return True
        try:
            message = record.getMessage()
        except Exception:  # a malformed record: leave it to the handler's own error path
            return True
        cleaned = redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        if record.stack_info:
            record.stack_info = redact(record.stack_info)
        return True


def guard_handlers(logger: logging.Logger | None = None) -> None:
    """Put one :class:`RedactingFilter` on every handler of ``logger`` (the root logger by default)."""
    for handler in (logger or logging.getLogger()).handlers:
        if not any(isinstance(f, RedactingFilter) for f in handler.filters):
            handler.addFilter(RedactingFilter())
