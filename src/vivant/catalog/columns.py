"""Which column (CSV) or field (JSON, sidecar) holds what, and :class:`Raw`, one source row before any check."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

from vivant.catalog.fields import clean, parse_bool, parse_tags
from vivant.errors import CatalogError

_ALIASES: dict[str, tuple[str, ...]] = {
    "image": ("file", "image", "image_path", "path", "filename", "file_name", "filepath", "img", "image_file"),
    "title": ("title", "name", "painting", "painting_title", "work"),
    "artist": ("artist", "painter", "author", "creator", "artist_name"),
    "year": ("year", "date", "created", "creation_year", "year_created"),
    "genre": ("genre", "kind", "category", "type"),
    "style": ("style", "movement"),
    "artist_died": ("artist_died", "death_year", "died", "artist_death", "artist_death_year", "deathyear"),
    "tags": ("tags", "keywords", "labels"),
    "description": ("description", "desc", "caption", "about"),
    "key": ("key", "slug", "painting_key"),
    "is_portrait": ("is_portrait", "portrait"),
    "title_fr": ("title_fr", "titre", "french_title", "title_french"),
    "gender": ("gender", "voice", "sex", "sitter_gender"),
}
REQUIRED = ("title", "artist", "image")


def norm_col(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", name.strip().lstrip("\ufeff").lower()).strip("_")


@dataclass(frozen=True)
class ColumnMap:
    """Which column (CSV) or field (JSON, sidecar) holds each value; None: find it by its usual names."""

    title: str | None = None
    artist: str | None = None
    year: str | None = None
    image: str | None = None
    genre: str | None = None
    style: str | None = None
    artist_died: str | None = None
    tags: str | None = None
    description: str | None = None
    key: str | None = None
    is_portrait: str | None = None
    title_fr: str | None = None
    gender: str | None = None

    @classmethod
    def from_pairs(cls, pairs: Iterable[str]) -> ColumnMap:
        """From ``field=column`` strings (as a CLI option would give them)."""
        known = {f.name for f in fields(cls)}
        values: dict[str, str] = {}
        for pair in pairs:
            name, sep, column = pair.partition("=")
            name = name.strip()
            if not sep or name not in known or not column.strip():
                raise CatalogError(
                    f"column mapping {pair!r}: expected FIELD=COLUMN with FIELD one of {', '.join(sorted(known))}"
                )
            values[name] = column.strip()
        return cls(**values)

    def resolve(self, columns: Iterable[str]) -> dict[str, str]:
        """Field -> actual column name, for the fields found among ``columns``.

        An explicitly named column that is absent is reported under its field in the ``missing`` sense: it is
        left out here, and :func:`resolve_or_fail` names it.
        """
        present = list(columns)
        by_norm: dict[str, str] = {}
        for c in present:
            by_norm.setdefault(norm_col(c), c)
        out: dict[str, str] = {}
        for f in fields(self):
            explicit = getattr(self, f.name)
            if explicit is not None:
                actual = explicit if explicit in present else by_norm.get(norm_col(explicit))
                if actual is not None:
                    out[f.name] = actual
                continue
            for alias in _ALIASES[f.name]:
                if alias in by_norm:
                    out[f.name] = by_norm[alias]
                    break
        return out


def resolve_or_fail(cmap: ColumnMap, columns: list[str], source: Path) -> dict[str, str]:
    resolved = cmap.resolve(columns)
    missing = []
    for f in fields(cmap):
        explicit = getattr(cmap, f.name)
        if explicit is not None and f.name not in resolved:
            missing.append(f"{f.name} (column {explicit!r})")
        elif f.name in REQUIRED and f.name not in resolved:
            missing.append(f.name)
    if missing:
        shown = ", ".join(repr(c) for c in columns) or "none"
        raise CatalogError(f"{source}: missing column(s) {', '.join(missing)}; the columns present are {shown}")
    return resolved


@dataclass
class Raw:
    """One source row, before checks. ``origin`` names it in examples (file:line)."""

    origin: str
    image: str | None
    title: str | None
    artist: str | None = None
    year: object = None
    artist_died: object = None
    genre: str | None = None
    style: str | None = None
    tags: tuple[str, ...] = ()
    description: str | None = None
    key: str | None = None
    is_portrait: bool | None = None
    title_fr: str | None = None
    gender: str | None = None
    base: str = ""
    """Folder a relative image path is resolved against."""


def raw_from_mapping(obj: Mapping[str, Any], cols: Mapping[str, str], origin: str, base: str) -> Raw:
    def get(name: str) -> Any:
        col = cols.get(name)
        return obj.get(col) if col is not None else None

    portrait_value = get("is_portrait")
    return Raw(
        origin=origin, image=clean(get("image")), title=clean(get("title")), artist=clean(get("artist")),
        year=get("year"), artist_died=get("artist_died"), genre=clean(get("genre")), style=clean(get("style")),
        tags=parse_tags(get("tags")), description=clean(get("description")), key=clean(get("key")),
        is_portrait=parse_bool(portrait_value) if portrait_value is not None else None, base=base,
        title_fr=clean(get("title_fr")), gender=clean(get("gender")),
    )  # fmt: skip
