"""Count the leaf keys of ``vivant.toml``'s model (issue 14: "148 keys, about 35 of them protocol tuning").

A leaf is a field whose value is not a settings model; sub-models and dict-of-model fields (``[qa.platforms.NAME]``)
are entered, and a dict-of-model counts the keys of one entry. Run: ``python benchmarks/config_keys.py [--list]``.
"""

from __future__ import annotations

import sys
import typing
from typing import Any

from pydantic import BaseModel

from vivant.config import Settings


def _model_of(annotation: Any) -> type[BaseModel] | None:
    """The settings model an annotation holds directly, or as the value type of a dict."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    origin = typing.get_origin(annotation)
    if origin is dict:
        return _model_of(typing.get_args(annotation)[1])
    return None


def leaf_keys(model: type[BaseModel], prefix: str = "") -> list[str]:
    keys: list[str] = []
    for name, field in model.model_fields.items():
        sub = _model_of(field.annotation)
        origin_is_dict = typing.get_origin(field.annotation) is dict
        if sub is None:
            keys.append(prefix + name)
        else:
            keys.extend(leaf_keys(sub, f"{prefix}{name}.{'NAME.' if origin_is_dict else ''}"))
    return keys


def main(argv: list[str]) -> int:
    keys = leaf_keys(Settings)
    if "--list" in argv:
        for key in keys:
            print(key)
    print(f"{len(keys)} leaf keys")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
