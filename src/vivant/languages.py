"""The languages the videos are made in: the one place that lists them."""

from __future__ import annotations

from typing import Literal, get_args

Language = Literal["fr", "en"]
LANGUAGES: tuple[Language, ...] = get_args(Language)
"""Every supported language, in the default order of a night (``languages`` in ``vivant.toml``)."""
