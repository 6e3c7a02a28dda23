"""The import: a catalog file or folder read (format detected), every row checked (bounds, image, title, year,
public domain, unique key) and added to the store through :meth:`~vivant.store.Store.add_paintings`."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Literal

from vivant.catalog.columns import ColumnMap, Raw
from vivant.catalog.deaths import deaths_table
from vivant.catalog.fields import IMAGE_EXTENSIONS, clean, name_key, norm_genre, parse_gender, parse_year, slug_key
from vivant.catalog.readers import absolute, csv_rows, load_portrait_list, read_csv, read_folder, read_json, read_text
from vivant.catalog.report import (
    BAD_YEAR,
    DUPLICATE_KEY,
    FIELD_TOO_LONG,
    MISSING_IMAGE,
    MISSING_TITLE,
    NOT_PD,
    UNKNOWN_DATES,
    ImportReport,
)
from vivant.catalog.wikiart import (
    genre_names,
    is_wikiart_parsed,
    looks_like_wikiart_list,
    read_wikiart_list,
    read_wikiart_parsed,
)
from vivant.config import CatalogSettings
from vivant.errors import CatalogError
from vivant.store import NewPainting, Store

log = logging.getLogger(__name__)


Format = Literal["csv", "wikiart", "json", "folder"]
FORMATS: tuple[str, ...] = ("csv", "wikiart", "json", "folder")
CATALOG_EXTENSIONS = frozenset({".csv", ".tsv", ".json"})

FIELD_LIMITS: dict[str, int] = {
    "title": 300, "title_fr": 300, "artist": 300, "key": 200, "genre": 200, "style": 200, "gender": 50,
    "image": 4096, "description": 20_000,
}  # fmt: skip
"""Longest value (characters) of each field a row may bring; a longer one drops the row (file:line named)."""
MAX_TAGS, MAX_TAG_LENGTH = 100, 100


class _Builder:
    """Checks raw rows and turns them into NewPainting records, counting into the report."""

    def __init__(
        self, settings: CatalogSettings, deaths: Mapping[str, int], *, keep_unknown_dates: bool,
        portraits: set[str] | None, seen: set[str],
    ) -> None:  # fmt: skip
        self.settings = settings
        self.deaths = deaths
        self.keep_unknown = keep_unknown_dates
        self.portrait_list = portraits
        self.portrait_genres = {norm_genre(g) for g in settings.portrait_genres}
        self.seen = seen
        self.key_images: dict[str, str] = {}
        """Key -> absolute image path of the keys made here from file stems (to tell namesakes from duplicates)."""
        self.assumed_portrait = 0
        self.from_table = 0

    def build(self, raws: Iterable[Raw], report: ImportReport, source: str) -> Iterator[NewPainting]:
        cutoff_died, cutoff_year = self.settings.pd_death_cutoff, self.settings.pd_year_cutoff
        for r in raws:
            report.read += 1
            image = clean(r.image)
            # portrait or not
            if self.portrait_list is not None:
                portrait = bool(image) and self._listed(r, image or "")
            elif r.is_portrait is not None:
                portrait = r.is_portrait
            elif r.genre:
                portrait = norm_genre(r.genre) in self.portrait_genres
            else:
                portrait = True
                self.assumed_portrait += 1
            if portrait:
                report.portraits_read += 1
            too_long = _too_long(r)
            if too_long:
                report.drop(FIELD_TOO_LONG, f"{r.origin}: {too_long}")
                continue
            if not image:
                report.drop(MISSING_IMAGE, r.origin)
                continue
            title = clean(r.title)
            if not title:
                report.drop(MISSING_TITLE, r.origin)
                continue
            try:
                year = parse_year(r.year)
            except ValueError:
                report.drop(BAD_YEAR, f"{r.origin}: year {r.year!r}")
                continue
            try:
                died = parse_year(r.artist_died)
            except ValueError:
                report.drop(BAD_YEAR, f"{r.origin}: artist died {r.artist_died!r}")
                continue
            artist = clean(r.artist) or "Unknown"
            if died is None:
                died = self.deaths.get(name_key(artist))
                if died is not None:
                    self.from_table += 1
            if died is not None:
                if died > cutoff_died:
                    report.drop(NOT_PD, f"{artist} (died {died})")
                    continue
            elif year is not None:
                if year > cutoff_year:
                    report.drop(NOT_PD, f"{title}, {year} (artist's death year unknown)")
                    continue
            elif not self.keep_unknown:
                report.drop(UNKNOWN_DATES, f"{artist}: {title}")
                continue
            given = clean(r.key)
            key = given or self._short_key(image, r.base)
            if key in self.seen:
                report.drop(DUPLICATE_KEY, f"{r.origin}: {key}")
                continue
            self.seen.add(key)
            if not given:
                self.key_images[key] = absolute(image, r.base)
            report.kept += 1
            if portrait:
                report.portraits += 1
            yield NewPainting(
                key=key, title=title, artist=artist, image_path=absolute(image, r.base), year=year,
                artist_died=died, genre=clean(r.genre), style=clean(r.style), tags=r.tags,
                description=clean(r.description), is_portrait=portrait, source=source,
                title_fr=clean(r.title_fr), gender=parse_gender(r.gender),
            )  # fmt: skip

    def _short_key(self, image: str, base: str) -> str:
        """A short, stable key for a row without one: the image's file stem ("mona-lisa"), never a whole path.

        Another image with the same stem in this import gets its folder's name in front ("sketches-mona-lisa"),
        then a number ("mona-lisa-2"); the same image listed twice keeps the same key (a duplicate, dropped).
        """
        target = absolute(image, base)
        parts = slug_key(image).split("/")
        stem = parts[-1] or "painting"
        options = [stem]
        if len(parts) > 1 and parts[-2]:
            options.append(f"{parts[-2]}-{stem}")
        options += [f"{stem}-{n}" for n in range(2, 10_000)]
        for option in options:
            owner = self.key_images.get(option)
            if owner is None or owner == target:
                return option
        return slug_key(image)

    def _listed(self, r: Raw, image: str) -> bool:
        listed = self.portrait_list
        assert listed is not None
        return (r.key is not None and r.key in listed) or slug_key(image) in listed or absolute(image, r.base) in listed


def _too_long(r: Raw) -> str:
    """The first field of ``r`` over its limit, as "title is 10,485,760 characters (at most 300)"; "" if none."""
    for name, limit in FIELD_LIMITS.items():
        value = getattr(r, name)
        if isinstance(value, str) and len(value) > limit:
            return f"{name} is {len(value):,} characters (at most {limit:,})"
    if len(r.tags) > MAX_TAGS:
        return f"{len(r.tags):,} tags (at most {MAX_TAGS})"
    long_tag = next((t for t in r.tags if len(t) > MAX_TAG_LENGTH), None)
    if long_tag is not None:
        return f"a tag is {len(long_tag):,} characters (at most {MAX_TAG_LENGTH})"
    return ""


def _detect(path: Path, fmt: str | None) -> str:
    if fmt is not None:
        if fmt not in FORMATS:
            raise CatalogError(f"{path}: unknown catalog format {fmt!r} (use one of {', '.join(FORMATS)})")
        return fmt
    if path.is_dir():
        return "dir"
    return "json" if path.suffix.lower() == ".json" else "csv"


def _import_file(
    store: Store, path: Path, fmt: str, builder: _Builder, *, settings: CatalogSettings, columns: ColumnMap,
    genre_index: Path | Mapping[int, str] | None,
) -> ImportReport:  # fmt: skip
    report = ImportReport(source=str(path), files=[path.name])
    base = str(settings.images_dir) if settings.images_dir else str(path.parent.resolve())
    raws: Iterable[Raw]
    if fmt == "folder":
        if not path.is_dir():
            raise CatalogError(f"{path}: not a folder (format 'folder' wants a folder of images)")
        report.fmt = "folder"
        raws = read_folder(path.resolve(), columns, report)
    elif fmt == "json":
        report.fmt = "json"
        raws = read_json(path, read_text(path, report), columns, base)
    else:
        text = read_text(path, report)
        rows = csv_rows(text, str(path))
        first = next(rows, None)
        if first is None:
            raise CatalogError(f"{path}: the catalog is empty")
        if is_wikiart_parsed(first):
            report.fmt = "wikiart"
            raws = read_wikiart_parsed(path, rows, first, base)
        elif looks_like_wikiart_list(first):
            report.fmt = "wikiart"
            raws = read_wikiart_list(path, text, genre_names(path, genre_index, report), base)
        elif fmt == "wikiart":
            raise CatalogError(
                f"{path}: not a WikiArt list (expected rows like 'Style/artist_title-1869.jpg,6' or the header "
                f"'path,style,artist_slug,title_slug,year,genre,split'); first row: {','.join(first)[:120]!r}"
            )
        else:
            report.fmt = "csv"
            raws = read_csv(path, rows, first, columns, base)
    source = f"{report.fmt}:{path.name}"
    report.inserted, report.updated = store.add_paintings(builder.build(raws, report, source))
    return report


FOLDER_CATALOGS = ("catalog.csv", "catalog.tsv", "catalog.json")
"""A folder of images holding one of these files is imported through it."""


def folder_catalog(folder: Path) -> Path | None:
    """The catalog file a folder of images carries (``catalog.csv``, ``.tsv`` or ``.json``), if any."""
    for name in FOLDER_CATALOGS:
        candidate = folder / name
        if candidate.is_file():
            return candidate
    return None


def import_catalog(
    store: Store,
    path: Path,
    settings: CatalogSettings,
    *,
    fmt: Format | None = None,
    columns: ColumnMap | None = None,
    genre_index: Path | Mapping[int, str] | None = None,
    keep_unknown_dates: bool = False,
    portraits_file: Path | None = None,
    artist_deaths: Path | Mapping[str, int] | None = None,
) -> ImportReport:
    """Import a catalog file or folder into ``store``; return what was read, kept and dropped.

    ``fmt``: ``csv``, ``wikiart``, ``json`` or ``folder``; None detects it (a folder with images at its top is a
    ``folder``; one without images imports each ``.csv``/``.tsv``/``.json`` in it). ``genre_index``: the WikiArt
    ``genre_class`` file (default: found beside the list). ``portraits_file``: a list of keys or image paths that
    are the portraits (it then decides alone). ``artist_deaths``: a CSV (or mapping) of artist -> death year,
    added to the built-in table. Raises :class:`CatalogError` for an unreadable file or missing columns.
    """
    path = Path(path).expanduser()
    if not path.exists():
        raise CatalogError(f"{path}: no such catalog file or folder")
    kind = _detect(path, fmt)
    cmap = columns or ColumnMap()
    deaths = deaths_table(artist_deaths)
    base = str(settings.images_dir) if settings.images_dir else str((path if path.is_dir() else path.parent).resolve())
    portraits = load_portrait_list(portraits_file, base) if portraits_file is not None else None
    builder = _Builder(settings, deaths, keep_unknown_dates=keep_unknown_dates, portraits=portraits, seen=set())

    if kind in ("dir", "folder") and path.is_dir():
        listing = folder_catalog(path)
        if listing is not None:  # the folder's own catalog lists its images with their titles and dates
            fmt_of = "json" if listing.suffix.lower() == ".json" else "csv"
            report = _import_file(
                store, listing, fmt_of, builder, settings=settings, columns=cmap, genre_index=genre_index
            )
            report.notes.append(f"imported through {listing.name}, the folder's catalog")
            return _finish(report, builder, portraits)
    if kind in ("dir", "csv", "wikiart", "json") and path.is_dir():
        has_images = any(p.is_file() and p.suffix.lower() in IMAGE_EXTENSIONS for p in path.iterdir())
        if kind == "dir" and has_images:
            kind = "folder"
        else:
            files = sorted(
                p for p in path.iterdir()
                if p.is_file() and p.suffix.lower() in CATALOG_EXTENSIONS and not p.name.startswith(".")
            )  # fmt: skip
            if kind == "json":
                files = [p for p in files if p.suffix.lower() == ".json"]
            elif kind in ("csv", "wikiart"):
                files = [p for p in files if p.suffix.lower() != ".json"]
            if not files:
                raise CatalogError(f"{path}: no images and no catalog files (.csv, .tsv, .json) in this folder")
            total = ImportReport(source=str(path))
            for f in files:
                one = _import_file(
                    store, f, "json" if f.suffix.lower() == ".json" else (fmt or "csv"), builder,
                    settings=settings, columns=cmap, genre_index=genre_index,
                )  # fmt: skip
                total.merge(one)
            return _finish(total, builder, portraits)
    report = _import_file(store, path, kind, builder, settings=settings, columns=cmap, genre_index=genre_index)
    return _finish(report, builder, portraits)


def _finish(report: ImportReport, builder: _Builder, portraits: set[str] | None) -> ImportReport:
    if builder.assumed_portrait:
        what = "images without a sidecar genre" if report.fmt == "folder" else "rows without a genre"
        report.notes.append(f"{builder.assumed_portrait:,} {what} were assumed to be portraits")
    if builder.from_table:
        report.notes.append(f"the death year of {builder.from_table:,} rows came from the artist death-year table")
    if report.dropped_by_reason.get(UNKNOWN_DATES) and not builder.keep_unknown:
        report.notes.append("rows with neither a death year nor a painting year were dropped (keep_unknown_dates)")
    if portraits is not None:
        report.notes.append(f"portraits decided by the portrait list ({report.portraits_read:,} rows listed)")
    log.info("catalog import: %s", " | ".join(report.lines()))
    return report
