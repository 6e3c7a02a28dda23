"""The platforms' tokens, read from their own TOML file (``[publish] credentials``, default
``credentials.toml`` in the workspace), one table per platform::

    [youtube]
    access_token = "..."            # or refresh_token + client_id + client_secret
    [tiktok]
    access_token = "..."
    [instagram]
    access_token = "..."
    user_id = "17841400000000000"

Values become :class:`pydantic.SecretStr`, so a repr or a log line shows ``**********``. The file should be
readable by its owner only (0600): a wider mode is refused. Every value read is registered with
:mod:`vivant.redact`, the one redaction point, so it is blanked in any log line, output or database text.
"""

from __future__ import annotations

import logging
import os
import stat
import tomllib
from pathlib import Path

from pydantic import SecretStr

from vivant import redact
from vivant.config import Settings
from vivant.errors import ConfigError

log = logging.getLogger(__name__)


class Credentials:
    """Secret values by platform; ``str()``/``repr()`` never show them."""

    def __init__(self, values: dict[str, dict[str, SecretStr]] | None = None, source: Path | None = None) -> None:
        self._values = values or {}
        self.source = source

    def __repr__(self) -> str:
        return f"Credentials(platforms={sorted(self._values)}, source={self.source})"

    def get(self, platform: str, key: str) -> SecretStr | None:
        return self._values.get(platform, {}).get(key)

    def need(self, platform: str, key: str) -> SecretStr:
        value = self.get(platform, key)
        if value is None or not value.get_secret_value():
            where = self.source or "the credentials file"
            raise ConfigError(f"{where}: [{platform}] {key} is missing")
        return value

    def secrets(self) -> list[str]:
        return [v.get_secret_value() for table in self._values.values() for v in table.values() if v.get_secret_value()]


def path_of(settings: Settings) -> Path:
    p = settings.publish.credentials.expanduser()
    return p if p.is_absolute() else settings.workspace / p


def load(settings: Settings, *, required: bool = False) -> Credentials:
    """Read the credentials file; an absent file gives no credentials (enough for the folder exporter)."""
    path = path_of(settings)
    if not path.is_file():
        if required:
            raise ConfigError(f"{path}: no credentials file (see `vivant publish --help`)")
        return Credentials(source=path)
    mode = stat.S_IMODE(path.stat().st_mode)
    if os.name == "posix" and mode & 0o077:
        raise ConfigError(f"{path}: readable by others (mode {mode:o}); run `chmod 600 {path}`")
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as e:
        raise ConfigError(f"{path}: cannot read: {e}") from None
    except tomllib.TOMLDecodeError as e:
        # tomllib's message names the line and column and never quotes a value (at most one character).
        raise ConfigError(f"{path}: not valid TOML: {e}") from None
    values: dict[str, dict[str, SecretStr]] = {}
    for platform, table in raw.items():
        if not isinstance(table, dict):
            raise ConfigError(f"{path}: {platform}: expected a [{platform}] table")
        values[platform] = {str(k): SecretStr(str(v)) for k, v in table.items()}
    credentials = Credentials(values, path)
    redact.register_all(credentials.secrets())
    return credentials


class Redactor(redact.RedactingFilter):
    """A logging filter that blanks these values (registered with :mod:`vivant.redact`) and any other
    registered secret."""

    def __init__(self, secrets: list[str]) -> None:
        super().__init__()
        redact.register_all(secrets)

    def _clean(self, text: str) -> str:
        return redact.redact(text)
