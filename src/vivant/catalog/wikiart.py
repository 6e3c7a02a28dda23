"""WikiArt lists: the ArtGAN genre lists (``Style_Dir/artist-slug_title-slug[-YEAR].jpg,genre``, genre names
from ``genre_class``) and the derived ``path,style,artist_slug,title_slug,year,genre,split`` list; titles and
artists are made from the slugs."""

from __future__ import annotations

import functools
import os
import re
from collections.abc import Iterator, Mapping
from pathlib import Path

from vivant.catalog.columns import Raw, norm_col
from vivant.catalog.fields import IMAGE_EXTENSIONS, cap, clean, fix_mojibake, humanize, parse_year, slug_key
from vivant.catalog.readers import csv_rows, read_text
from vivant.catalog.report import ImportReport
from vivant.errors import CatalogError

ARTGAN_GENRES: dict[int, str] = {
    0: "abstract_painting", 1: "cityscape", 2: "genre_painting", 3: "illustration", 4: "landscape",
    5: "nude_painting", 6: "portrait", 7: "religious_painting", 8: "sketch_and_study", 9: "still_life",
}  # fmt: skip
"""The ArtGAN WikiArt genre index (``WikiArt Dataset/Genre/genre_class``), used when that file is not found."""

_TRAILING_COPY = re.compile(r"\(\d+\)$")
_NOT_DETECTED = re.compile(r"not_detected_\d+")
_WIKI_TITLE = re.compile(r"^(?P<t>.*?)(?:-(?P<y>1\d{3}|20[0-2]\d)(?:-\d{1,2})?)?$")


def split_wikiart_slug(title_slug: str) -> tuple[str, int | None]:
    """``the-magpie-1869`` -> ("The Magpie", 1869); copy suffixes (``-1912-2``, ``(1)``) are dropped."""
    s = _TRAILING_COPY.sub("", title_slug.strip())
    if _NOT_DETECTED.fullmatch(s):
        return "Untitled", None
    m = _WIKI_TITLE.match(s)
    assert m is not None  # the pattern matches any string
    title, year = m.group("t"), m.group("y")
    if not title:  # the whole slug is a year
        return s, None
    text = humanize(fix_mojibake(title)).replace("Self Portrait", "Self-Portrait")
    return text, int(year) if year else None


def looks_like_wikiart_list(row: list[str]) -> bool:
    return (
        len(row) == 2
        and row[1].strip().lstrip("-").isdigit()
        and os.path.splitext(row[0].strip())[1].lower() in IMAGE_EXTENSIONS
    )


def is_wikiart_parsed(header: list[str]) -> bool:
    cols = {norm_col(c) for c in header}
    return {"path", "artist_slug", "title_slug"} <= cols


def genre_names(path: Path, genre_index: Path | Mapping[int, str] | None, report: ImportReport) -> dict[int, str]:
    if isinstance(genre_index, Mapping):
        return {int(k): str(v) for k, v in genre_index.items()}
    candidates = [genre_index] if genre_index is not None else [
        path.parent / n for n in ("genre_class", "genre_class.txt", "genre_class.csv")
    ]  # fmt: skip
    for c in candidates:
        if c is not None and c.is_file():
            names: dict[int, str] = {}
            for line in read_text(c).splitlines():
                parts = re.split(r"[\s,;]+", line.strip(), maxsplit=1)
                if len(parts) == 2 and parts[0].isdigit():
                    names[int(parts[0])] = parts[1].strip()
            if not names:
                raise CatalogError(f"{c}: no genre lines like '6 portrait' in this genre index file")
            return names
        if genre_index is not None:
            raise CatalogError(f"{c}: no such genre index file")
    report.notes.append("no genre_class file beside the list; used the built-in ArtGAN genre names")
    return dict(ARTGAN_GENRES)


def _wikiart_path_parts(img_path: str) -> tuple[str | None, str, str]:
    """(style, artist slug, title slug) of ``Style_Dir/artist-slug_title-slug.jpg``."""
    p = img_path.replace("\\", "/")
    style, _, name = p.rpartition("/")
    stem = os.path.splitext(name)[0]
    artist, sep, title = stem.partition("_")
    if not sep:
        artist, title = "", stem
    return (style.rsplit("/", 1)[-1] or None), artist, title


_STYLE_NAMES = {
    "action_painting": "Action Painting",
    "art_nouveau_modern": "Art Nouveau (Modern)",
    "mannerism_late_renaissance": "Mannerism (Late Renaissance)",
    "naive_art_primitivism": "Naive Art (Primitivism)",
    "post_impressionism": "Post-Impressionism",
    "ukiyo_e": "Ukiyo-e",
}


def _style_name(style: str | None) -> str | None:
    """``Post_Impressionism`` -> ``Post-Impressionism``, ``Color_Field_Painting`` -> ``Color Field Painting``."""
    if not style or not style.strip():
        return None
    key = style.strip().lower()
    if key in _STYLE_NAMES:
        return _STYLE_NAMES[key]
    return " ".join(cap(w) for w in re.split(r"[_\s]+", style.strip()) if w)


@functools.lru_cache(maxsize=8192)
def _artist_name(slug: str) -> str:
    return humanize(slug, name=True)


def _wikiart_raw(origin: str, img: str, style: str | None, artist_slug: str, title_slug: str,
                 year: object, genre: str | None, base: str) -> Raw:  # fmt: skip
    title, slug_year = split_wikiart_slug(title_slug)
    if slug_year is None and clean(year):  # a year column, where the slug has none: only a plausible one
        try:
            given = parse_year(year)
        except ValueError:
            given = None
        slug_year = given if given is not None and 1000 <= given <= 2029 else None
    artist_slug = fix_mojibake(artist_slug).strip(" -")
    artist = _artist_name(artist_slug) if artist_slug else "Unknown"
    return Raw(
        origin=origin, image=img, title=title, artist=artist, year=slug_year, genre=genre,
        style=_style_name(style), base=base, key=slug_key(img),  # WikiArt's "Style/artist_title" is its identity
    )  # fmt: skip


def read_wikiart_list(path: Path, text: str, genres: Mapping[int, str], base: str) -> Iterator[Raw]:
    for n, row in enumerate(csv_rows(text, str(path)), 1):
        origin = f"{path.name}:{n}"
        img = row[0].strip()
        label = row[1].strip() if len(row) > 1 else ""
        genre = genres.get(int(label), label) if label.lstrip("-").isdigit() else (label or None)
        style, artist_slug, title_slug = _wikiart_path_parts(img)
        yield _wikiart_raw(origin, img, style, artist_slug, title_slug, None, genre, base)


def read_wikiart_parsed(path: Path, rows: Iterator[list[str]], header: list[str], base: str) -> Iterator[Raw]:
    idx = {norm_col(c): i for i, c in enumerate(header)}

    def get(row: list[str], col: str) -> str | None:
        i = idx.get(col)
        return row[i].strip() if i is not None and i < len(row) else None

    for n, row in enumerate(rows, 2):
        img = get(row, "path") or ""
        dir_style, path_artist, path_title = _wikiart_path_parts(img)
        genre = get(row, "genre")
        if genre and genre.isdigit():
            genre = ARTGAN_GENRES.get(int(genre), genre)
        yield _wikiart_raw(
            f"{path.name}:{n}", img, get(row, "style") or dir_style, get(row, "artist_slug") or path_artist,
            get(row, "title_slug") or path_title, get(row, "year"), genre, base,
        )  # fmt: skip
