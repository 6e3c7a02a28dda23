"""Reading ``vivant.toml``: one-line errors naming the key, keys of older releases named and ignored."""

from __future__ import annotations

import logging
import tomllib
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from vivant.config.base import CONFIG_NAME
from vivant.config.settings import Settings
from vivant.errors import ConfigError

log = logging.getLogger(__name__)

REMOVED: dict[str, str] = {
    "comfyui.request_timeout": "HTTP requests to ComfyUI wait 30 s",
    "comfyui.poll_interval": "a silent socket is polled after 2 s",
    "comfyui.down_after": "a server silent for 60 s is left to the others",
    "comfyui.max_resubmits": "a prompt lost to a restart is sent again up to 3 times",
    "comfyui.max_in_flight": "64 jobs of a step are queued at once",
    "comfyui.health_timeout": "a restarted server gets 180 s to answer",
    "comfyui.words_per_second": "TTS length is estimated at 2.5 words a second",
    "comfyui.lipsync_crossfade": "windows are joined with a 0.2 s crossfade",
    "comfyui.client_id": "the socket's clientId is derived from the host name and the workspace",
    "llm.connect_timeout": "connections wait 10 s",
    "llm.down_for": "an unreachable server is left to the others for 60 s",
    "whisper.beam_size": "faster-whisper searches with a beam of 5",
    "voice.piper_voice": "piper voices are named in the [voice.LANG] lists",
    "voice.espeak_voices": "the espeak-ng voice of a language is voice.fallback's",
    "render.prepare_long_side": "step 0's working image is 1280 px on its long side",
    "qa.silence_drop_db": "silence is 18 dB under the narration",
    "qa.min_sync_correlation": "the mouth/voice offset is measured from a correlation of 0.3",
    "publish.interval_seconds": "the long-running publisher wakes up at least every 300 s",
    "publish.tiktok.chunk_bytes": "uploads go in 10 MiB chunks",
    "publish.tiktok.status_polls": "a post's status is asked up to 60 times",
    "publish.tiktok.poll_seconds": "a post's status is asked every 5 s",
    "publish.instagram.status_polls": "a container's status is asked up to 60 times",
    "publish.instagram.poll_seconds": "a container's status is asked every 5 s",
}
"""Keys of earlier releases that became fixed protocol settings, with what the program now does instead.
A file that still sets one loads: the key is named in a warning and ignored."""


def drop_removed(raw: dict[str, Any], *, source: str = CONFIG_NAME) -> list[str]:
    """Remove the :data:`REMOVED` keys from parsed TOML (in place), log one warning line each; return them."""
    dropped: list[str] = []
    for key, now in REMOVED.items():
        *parents, leaf = key.split(".")
        table: Any = raw
        for name in parents:
            table = table.get(name) if isinstance(table, dict) else None
        if isinstance(table, dict) and leaf in table:
            del table[leaf]
            dropped.append(key)
            log.warning("%s: %s is no longer a setting (%s); it is ignored: delete the line", source, key, now)
    return dropped


def _describe(err: ValidationError) -> str:
    first = err.errors()[0]
    key = ".".join(str(p) for p in first["loc"]) or "(top level)"
    msg = first["msg"]
    if first["type"] == "extra_forbidden":
        msg = "unknown key"
    more = len(err.errors()) - 1
    return f"{key}: {msg}" + (f" (and {more} more problem{'s' if more > 1 else ''})" if more else "")


def parse(text: str, *, source: str = CONFIG_NAME, base: Path | None = None) -> Settings:
    """Validate TOML text; raise :class:`ConfigError` naming the key on any problem."""
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(f"{source}: not valid TOML: {e}") from None
    drop_removed(raw, source=source)
    try:
        settings = Settings.model_validate(raw)
    except ValidationError as e:
        raise ConfigError(f"{source}: {_describe(e)}") from None
    return settings.resolved(base or Path.cwd())


def load(path: Path) -> Settings:
    """Read and validate ``vivant.toml`` at ``path``."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such config file (run `vivant init` first)") from None
    except (OSError, UnicodeDecodeError) as e:
        raise ConfigError(f"{path}: cannot read: {e}") from None
    return parse(text, source=str(path), base=path.parent.resolve())


def find(start: Path | None = None) -> Path | None:
    """Find ``vivant.toml`` in ``start`` or its parents."""
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        candidate = folder / CONFIG_NAME
        if candidate.is_file():
            return candidate
    return None
