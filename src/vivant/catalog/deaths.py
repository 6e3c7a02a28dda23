"""Artists' death years: the built-in table (``vivant/data/artist_deaths.csv``, WikiArt slugs of frequent
portrait artists) and a user's own list added to it."""

from __future__ import annotations

import csv
import io
import logging
from collections.abc import Mapping
from importlib import resources
from pathlib import Path

from vivant.catalog.fields import name_key, parse_year
from vivant.catalog.readers import csv_rows, read_text
from vivant.errors import CatalogError

log = logging.getLogger(__name__)


def _builtin() -> dict[str, int]:
    text = resources.files("vivant").joinpath("data", "artist_deaths.csv").read_text(encoding="utf-8")
    return {row[0]: int(row[1]) for row in csv.reader(io.StringIO(text)) if len(row) == 2 and row[1].isdigit()}


ARTIST_DEATHS: dict[str, int] = _builtin()
"""Death years of frequent WikiArt portrait artists, by WikiArt slug (a few common spellings added): the package's
``data/artist_deaths.csv``."""


def load_artist_deaths(path: Path) -> dict[str, int]:
    """A CSV of (artist name or slug, death year) rows, header optional; keys in :func:`name_key` form."""
    out: dict[str, int] = {}
    for n, row in enumerate(csv_rows(read_text(path), str(path)), 1):
        if len(row) < 2:
            raise CatalogError(f"{path}:{n}: expected 'artist,death_year'")
        try:
            year = parse_year(row[1])
        except ValueError:
            year = None
        if year is None:
            if n == 1:  # a header
                continue
            raise CatalogError(f"{path}:{n}: {row[1]!r} is not a death year")
        out[name_key(row[0])] = year
    return out


def deaths_table(artist_deaths: Path | Mapping[str, int] | None) -> dict[str, int]:
    table = {name_key(k): v for k, v in ARTIST_DEATHS.items()}
    if isinstance(artist_deaths, Mapping):
        table.update({name_key(k): int(v) for k, v in artist_deaths.items()})
    elif artist_deaths is not None:
        table.update(load_artist_deaths(artist_deaths))
    return table
