"""URLs as they may be shown: in logs, messages, reports and the database."""

from __future__ import annotations

from urllib.parse import urlsplit, urlunsplit


def safe_url(url: str) -> str:
    """``url`` without user:password and query string (what may appear in logs and messages)."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return "<bad url>"
    host = parts.hostname or ""
    if parts.port:
        host = f"{host}:{parts.port}"
    return urlunsplit((parts.scheme, host, parts.path, "", ""))
