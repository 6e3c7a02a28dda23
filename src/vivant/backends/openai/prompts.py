"""Prompt templates: :class:`string.Template` files (``$name`` placeholders) in :mod:`vivant.prompts`; a user's
``[llm] prompts_dir`` overrides any of them by file name."""

from __future__ import annotations

import string
from importlib.resources import files
from pathlib import Path

from vivant.errors import ConfigError
from vivant.roles import Painting


class Prompts:
    """Prompt templates by name (``facts.user`` -> ``facts.user.txt``); a user's folder overrides the package."""

    def __init__(self, override_dir: Path | None = None) -> None:
        self.override_dir = override_dir
        if override_dir is not None and not override_dir.is_dir():
            raise ConfigError(f"{override_dir}: prompts folder not found (llm.prompts_dir)")

    @staticmethod
    def packaged() -> Path:
        return Path(str(files("vivant").joinpath("prompts")))

    def path(self, name: str) -> Path:
        file = f"{name}.txt"
        if self.override_dir is not None and (self.override_dir / file).is_file():
            return self.override_dir / file
        return self.packaged() / file

    def text(self, name: str) -> str:
        path = self.path(name)
        try:
            return path.read_text(encoding="utf-8").strip()
        except OSError as e:
            raise ConfigError(f"{path}: cannot read the prompt template: {e}") from None

    def render(self, name: str, **values: object) -> str:
        path = self.path(name)
        try:
            return string.Template(self.text(name)).substitute({k: str(v) for k, v in values.items()})
        except KeyError as e:
            known = ", ".join(f"${k}" for k in sorted(values))
            raise ConfigError(f"{path}: unknown placeholder ${e.args[0]} (known: {known})") from None
        except ValueError as e:
            raise ConfigError(f"{path}: bad placeholder: {e} (write $$ for a dollar sign)") from None


def year_text(painting: Painting) -> str:
    """`` (1665)`` after a title in a prompt, or nothing."""
    return f" ({painting.year})" if painting.year else ""
