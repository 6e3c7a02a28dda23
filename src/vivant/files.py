"""Small file helpers shared across the code: a file's SHA-256, a painting key as a safe file-name part."""

from __future__ import annotations

import hashlib
from pathlib import Path


def file_stem(key: str) -> str:
    """A painting key as one safe file-name part (keys may hold '/' from nested catalog folders)."""
    return key.replace("/", "__").replace("\\", "__").lstrip(".") or "painting"


def sha256_of(path: Path) -> str:
    """The SHA-256 of a file's bytes (hex), read a MiB at a time."""
    h = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()
