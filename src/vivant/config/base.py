"""What every section of ``vivant.toml`` shares: unknown keys refused, field docs read from attribute docstrings."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

CONFIG_NAME = "vivant.toml"


class Section(BaseModel):
    """A table of ``vivant.toml``. Each field's docstring is its description, and ``vivant init``'s comment."""

    model_config = ConfigDict(extra="forbid", validate_default=True, use_attribute_docstrings=True)
