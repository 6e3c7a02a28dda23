"""``vivant init``'s commented ``vivant.toml``, generated from the settings models: each key's comment is its
field's docstring and its value the default, so the template cannot drift from the code."""

from __future__ import annotations

import json
import re
import textwrap
import typing
from pathlib import Path
from typing import Any

from pydantic import BaseModel
from pydantic.fields import FieldInfo

from vivant.config.settings import Settings

HEADER = """\
# Tableau Vivant configuration. Relative paths are relative to this file's folder.
# Every key is optional; the values shown are the defaults. `vivant doctor` checks what is configured.
# Sections shown commented out (# [llm] ...) are for production servers: uncomment what you use.
"""
OPTIONAL = ("speech", "llm", "whisper", "comfyui", "scheduler", "qa", "publish.youtube", "publish.tiktok",
            "publish.instagram")  # fmt: skip
"""Sections written commented out (with everything under them): servers and tuning a first night does not need."""
NOT_SET = "(not set by default)"
WIDTH = 118
_BARE = re.compile(r"[A-Za-z0-9_-]+")


def _model_of(annotation: Any) -> type[BaseModel] | None:
    """The settings model an annotation holds directly or as a dict's value type, else None."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    if typing.get_origin(annotation) is dict:
        return _model_of(typing.get_args(annotation)[1])
    return None


def leaf_keys(model: type[BaseModel] = Settings, prefix: str = "") -> list[tuple[str, FieldInfo]]:
    """Every key a user can set (dotted; ``NAME`` for a dict of tables' entry), with its field."""
    keys: list[tuple[str, FieldInfo]] = []
    for name, field in model.model_fields.items():
        sub = _model_of(field.annotation)
        if sub is None:
            keys.append((prefix + name, field))
        else:
            middle = "NAME." if typing.get_origin(field.annotation) is dict else ""
            keys.extend(leaf_keys(sub, f"{prefix}{name}.{middle}"))
    return keys


def _key(name: str) -> str:
    return name if _BARE.fullmatch(name) else json.dumps(name, ensure_ascii=False)


def _value(v: Any) -> str:
    """A default as TOML."""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int | float):
        return repr(v)
    if isinstance(v, str | Path):
        return json.dumps(str(v), ensure_ascii=False)
    if isinstance(v, list | tuple):
        return "[" + ", ".join(_value(x) for x in v) + "]"
    if isinstance(v, dict):
        return "{ " + ", ".join(f"{_key(str(k))} = {_value(x)}" for k, x in v.items()) + " }" if v else "{}"
    raise TypeError(f"no TOML form for {v!r}")


def _comment(text: str | None) -> list[str]:
    if not text:
        return []
    flat = " ".join(text.replace("``", "`").split())
    return textwrap.wrap(flat, WIDTH, initial_indent="# ", subsequent_indent="# ", break_on_hyphens=False)


def _section(path: str, model: BaseModel, doc: str | None, overrides: dict[str, Any], lines: list[str]) -> None:
    """Write one table (``path`` empty: the top level), then its tables of dicts and its sub-sections."""
    dotted = f"{path}." if path else ""
    off = "# " if any(path == o or path.startswith(o + ".") for o in OPTIONAL) else ""
    later: list[tuple[str, BaseModel, str | None]] = []
    tables: list[tuple[str, dict[str, Any], str | None]] = []
    body: list[str] = []
    for name, field in type(model).model_fields.items():
        value = overrides.get(dotted + name, getattr(model, name))
        if isinstance(value, BaseModel):
            later.append((dotted + name, value, field.description or type(value).__dict__.get("__doc__")))
            continue
        if isinstance(value, dict) and value and all(isinstance(x, BaseModel) for x in value.values()):
            later.extend((f"{dotted}{name}.{_key(k)}", x, field.description if i == 0 else None)
                         for i, (k, x) in enumerate(value.items()))  # fmt: skip
            continue
        text = _value(value) if value is not None else ""
        if isinstance(value, dict) and len(f"{name} = {text}") > WIDTH:
            tables.append((dotted + name, value, field.description))
            continue
        body += _comment(field.description)
        if value is None:
            body.append(f"# {name} = {NOT_SET}")
        elif isinstance(value, list) and len(f"{off}{name} = {text}") > WIDTH:  # one item a line
            body += [f"{off}{name} = [", *(f"{off}    {_value(x)}," for x in value), f"{off}]"]
        else:
            body.append(f"{off}{name} = {text}")
    if path:
        lines += ["", *_comment(doc), f"{off}[{path}]"]
    lines += body
    for table, value, table_doc in tables:
        lines += ["", *_comment(table_doc), f"{off}[{table}]", *(f"{off}{_key(str(k))} = {_value(x)}" for k, x in
                                                                 value.items())]  # fmt: skip
    for sub, sub_model, sub_doc in later:
        _section(sub, sub_model, sub_doc, overrides, lines)


def default_toml(*, zim_files: list[Path] | None = None, music_dir: Path | None = None) -> str:
    """The commented ``vivant.toml`` that ``vivant init`` writes. It parses to the defaults (with these two set)."""
    overrides: dict[str, Any] = {}
    if zim_files:
        overrides["research.zim_files"] = list(zim_files)
    if music_dir:
        overrides["render.music_dir"] = music_dir
    lines = [HEADER.rstrip("\n"), ""]
    _section("", Settings(), None, overrides, lines)
    return "\n".join(lines) + "\n"
