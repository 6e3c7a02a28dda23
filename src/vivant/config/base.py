"""What every section of ``vivant.toml`` shares: unknown keys refused, field docs read from attribute docstrings."""

from __future__ import annotations

import os

from pydantic import BaseModel, ConfigDict, SecretStr

CONFIG_NAME = "vivant.toml"


class Section(BaseModel):
    """A table of ``vivant.toml``. Each field's docstring is its description, and ``vivant init``'s comment."""

    model_config = ConfigDict(extra="forbid", validate_default=True, use_attribute_docstrings=True)


def secret_of(env_name: str, value: SecretStr | None) -> SecretStr | None:
    """A server's key: the environment variable ``env_name`` when it is set and not empty, else ``value``."""
    found = os.environ.get(env_name, "") if env_name else ""
    return SecretStr(found) if found else value
