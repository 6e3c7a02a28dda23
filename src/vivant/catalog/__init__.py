"""The painting catalog: import lists of paintings into the store, and draw portraits for a batch.

Sources (``fmt``), detected from the path when not given:

* ``csv``: a CSV with a header row. :class:`ColumnMap` says which column holds what; by default the usual names
  are recognised (``file``/``image``/``path``, ``title``, ``artist``, ``year``/``date``, ``genre``/``kind``,
  ``artist_died``/``death_year`` ...). BOM, CRLF and ``;``/tab delimiters are handled.
* ``wikiart``: the ArtGAN WikiArt genre lists (headerless ``Style_Dir/artist-slug_title-slug[-YEAR].jpg,genre``
  rows; genre names from the ``genre_class`` file beside them), or the derived
  ``path,style,artist_slug,title_slug,year,genre,split`` list. Titles and artists are made from the slugs.
* ``json``: a list of objects (or ``{"paintings": [...]}``) with the same field names as the CSV columns.
* ``folder``: a folder of images, each with an optional ``name.json`` sidecar holding the fields.
* a directory with no images at its top level but catalog files (``*.csv``, ``*.tsv``, ``*.json``): each file.

Every row goes through the same checks: it needs an image path and a title, its key (an explicit key, else a slug
of the image path as written) must not repeat within the import, and it must be public domain: an artist who died
in or before ``pd_death_cutoff``, or, with no known death year, a painting made in or before ``pd_year_cutoff``.
Death years come from the row, from a user ``artist_deaths`` list, or from the small built-in table
:data:`ARTIST_DEATHS` (``data/artist_deaths.csv``; WikiArt has none). Rows with neither date are dropped unless
``keep_unknown_dates``.

Modules: ``fields`` (text helpers for field values), ``columns`` (column mapping, the raw row), ``readers``
(CSV, JSON, folders, portrait lists), ``wikiart``, ``deaths`` (the death-year table), ``report``, ``importer``
(the checks and the import), ``drawing`` (the draw, the figures). The package writes no SQL: it goes through
:class:`~vivant.store.Store`.
"""

from __future__ import annotations

from vivant.catalog.columns import ColumnMap
from vivant.catalog.deaths import ARTIST_DEATHS, load_artist_deaths
from vivant.catalog.drawing import draw, stats
from vivant.catalog.fields import IMAGE_EXTENSIONS, humanize, name_key, parse_gender, parse_year, slug_key
from vivant.catalog.importer import (
    CATALOG_EXTENSIONS,
    FIELD_LIMITS,
    FOLDER_CATALOGS,
    FORMATS,
    MAX_TAG_LENGTH,
    MAX_TAGS,
    Format,
    folder_catalog,
    import_catalog,
)
from vivant.catalog.readers import CSV_FIELD_LIMIT, load_portrait_list
from vivant.catalog.report import (
    BAD_SIDECAR,
    BAD_YEAR,
    DUPLICATE_KEY,
    FIELD_TOO_LONG,
    MISSING_IMAGE,
    MISSING_TITLE,
    NOT_PD,
    UNKNOWN_DATES,
    ImportReport,
)
from vivant.catalog.wikiart import ARTGAN_GENRES, split_wikiart_slug

__all__ = [
    "ARTGAN_GENRES",
    "ARTIST_DEATHS",
    "BAD_SIDECAR",
    "BAD_YEAR",
    "CATALOG_EXTENSIONS",
    "CSV_FIELD_LIMIT",
    "DUPLICATE_KEY",
    "FIELD_LIMITS",
    "FIELD_TOO_LONG",
    "FOLDER_CATALOGS",
    "FORMATS",
    "IMAGE_EXTENSIONS",
    "MAX_TAGS",
    "MAX_TAG_LENGTH",
    "MISSING_IMAGE",
    "MISSING_TITLE",
    "NOT_PD",
    "UNKNOWN_DATES",
    "ColumnMap",
    "Format",
    "ImportReport",
    "draw",
    "folder_catalog",
    "humanize",
    "import_catalog",
    "load_artist_deaths",
    "load_portrait_list",
    "name_key",
    "parse_gender",
    "parse_year",
    "slug_key",
    "split_wikiart_slug",
    "stats",
]
