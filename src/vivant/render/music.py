"""The music bed's file: chosen deterministically from ``[render] music_dir``."""

from __future__ import annotations

import hashlib
import logging
from pathlib import Path

log = logging.getLogger(__name__)

MUSIC_SUFFIXES = (".mp3", ".wav", ".ogg", ".flac", ".m4a")


def pick_music(music_dir: Path | None, seed: str) -> Path | None:
    """A music file of ``music_dir`` chosen by ``seed`` (same seed, same folder: same file); None if none."""
    if music_dir is None or not music_dir.is_dir():
        if music_dir is not None:
            log.warning("music folder %s does not exist; using the generated ambient bed", music_dir)
        return None
    files = sorted(p for p in music_dir.iterdir() if p.is_file() and p.suffix.lower() in MUSIC_SUFFIXES)
    if not files:
        return None
    digest = hashlib.sha256(seed.encode("utf-8")).digest()
    return files[int.from_bytes(digest[:8], "big") % len(files)]
