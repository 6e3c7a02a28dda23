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
:data:`ARTIST_DEATHS` (WikiArt has none). Rows with neither date are dropped unless ``keep_unknown_dates``.

This module writes no SQL: it goes through :class:`~vivant.store.Store`.
"""

from __future__ import annotations

import csv
import functools
import io
import json
import logging
import os
import random
import re
import unicodedata
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, Literal

from vivant.config import CatalogSettings
from vivant.errors import CatalogError
from vivant.store import NewPainting, Store

log = logging.getLogger(__name__)

Format = Literal["csv", "wikiart", "json", "folder"]
FORMATS: tuple[str, ...] = ("csv", "wikiart", "json", "folder")
IMAGE_EXTENSIONS = frozenset({".jpg", ".jpeg", ".png", ".webp", ".tif", ".tiff"})
CATALOG_EXTENSIONS = frozenset({".csv", ".tsv", ".json"})

# Drop reasons (the keys of ImportReport.dropped_by_reason).
NOT_PD = "not public domain"
UNKNOWN_DATES = "unknown dates"
MISSING_TITLE = "missing title"
MISSING_IMAGE = "missing image path"
DUPLICATE_KEY = "duplicate key"
BAD_YEAR = "bad year"
BAD_SIDECAR = "bad sidecar"
FIELD_TOO_LONG = "field too long"

FIELD_LIMITS: dict[str, int] = {
    "title": 300, "title_fr": 300, "artist": 300, "key": 200, "genre": 200, "style": 200, "gender": 50,
    "image": 4096, "description": 20_000,
}  # fmt: skip
"""Longest value (characters) of each field a row may bring; a longer one drops the row (file:line named)."""
MAX_TAGS, MAX_TAG_LENGTH = 100, 100
CSV_FIELD_LIMIT = 16 * 1024 * 1024
"""Longest CSV field read at all (Python's default is 128 KiB); a row over :data:`FIELD_LIMITS` is dropped."""

ARTGAN_GENRES: dict[int, str] = {
    0: "abstract_painting", 1: "cityscape", 2: "genre_painting", 3: "illustration", 4: "landscape",
    5: "nude_painting", 6: "portrait", 7: "religious_painting", 8: "sketch_and_study", 9: "still_life",
}  # fmt: skip
"""The ArtGAN WikiArt genre index (``WikiArt Dataset/Genre/genre_class``), used when that file is not found."""

# Death years of frequent WikiArt portrait artists, by WikiArt slug (a few common spellings added).
ARTIST_DEATHS: dict[str, int] = {
    # before 1700
    "albrecht-durer": 1528, "agnolo-bronzino": 1572, "anthony-van-dyck": 1641, "caravaggio": 1610,
    "diego-velazquez": 1660, "domenico-ghirlandaio": 1494, "el-greco": 1614, "frans-hals": 1666,
    "giorgio-vasari": 1574, "giorgione": 1510, "hans-holbein-the-younger": 1543, "hans-memling": 1494,
    "jacob-jordaens": 1678, "jacopo-pontormo": 1557, "jan-van-eyck": 1441, "johannes-vermeer": 1675,
    "leonardo-da-vinci": 1519, "lorenzo-lotto": 1557, "lucas-cranach-the-elder": 1553, "mabuse": 1532,
    "michelangelo": 1564, "paolo-veronese": 1588, "peter-paul-rubens": 1640, "raphael": 1520,
    "rembrandt": 1669, "rembrandt-van-rijn": 1669, "rogier-van-der-weyden": 1464, "sandro-botticelli": 1510,
    "sofonisba-anguissola": 1625, "tintoretto": 1594, "titian": 1576, "adriaen-van-ostade": 1685,
    # 1700 - 1899
    "aleksey-antropov": 1795, "alexey-venetsianov": 1847, "allan-ramsay": 1784, "antoine-pesne": 1757,
    "benjamin-west": 1820, "camille-corot": 1875, "dante-gabriel-rossetti": 1882, "dmitry-levitzky": 1822,
    "edouard-manet": 1883, "edward-burne-jones": 1898, "eugene-delacroix": 1863, "francesco-hayez": 1882,
    "francisco-goya": 1828, "fyodor-rokotov": 1808, "george-catlin": 1872, "gustave-courbet": 1877,
    "henry-raeburn": 1823, "hyacinthe-rigaud": 1743, "ivan-kramskoy": 1887, "jacques-louis-david": 1825,
    "jan-matejko": 1893, "jean-auguste-dominique-ingres": 1867, "jean-honore-fragonard": 1806,
    "jean-marc-nattier": 1766, "john-everett-millais": 1896, "john-hoppner": 1810, "john-russell": 1806,
    "joseph-wright": 1797, "joshua-reynolds": 1792, "karl-bodmer": 1893, "karl-bryullov": 1852,
    "keisai-eisen": 1848, "kitagawa-utamaro": 1806, "louise-elisabeth-vigee-le-brun": 1842,
    "maurice-quentin-de-la-tour": 1788, "miklos-barabas": 1898, "mykola-yaroshenko": 1898, "nikolai-ge": 1894,
    "orest-kiprensky": 1836, "pavel-fedotov": 1852, "pierre-paul-prud'hon": 1823, "theodore-gericault": 1824,
    "thomas-gainsborough": 1788, "tsukioka-yoshitoshi": 1892, "utagawa-kuniyoshi": 1861,
    "vasily-perov": 1882, "vasily-tropinin": 1857, "vincent-van-gogh": 1890, "vladimir-borovikovsky": 1825,
    "william-hogarth": 1764, "berthe-morisot": 1895, "gustave-caillebotte": 1894,
    # 1900 - 1955 (public domain with the default cutoff)
    "alphonse-mucha": 1939, "amedeo-modigliani": 1920, "anders-zorn": 1920, "andre-derain": 1954,
    "boris-kustodiev": 1927, "camille-pissarro": 1903, "carl-larsson": 1919, "chaim-soutine": 1943,
    "childe-hassam": 1935, "claude-monet": 1926, "edgar-degas": 1917, "edouard-vuillard": 1940,
    "edvard-munch": 1944, "egon-schiele": 1918, "ernst-ludwig-kirchner": 1938, "felix-vallotton": 1925,
    "ferdinand-hodler": 1918, "fernand-leger": 1955, "filipp-malyavin": 1940, "franz-stuck": 1928,
    "george-frederick-watts": 1904, "giovanni-boldini": 1931, "gustav-klimt": 1918, "gwen-john": 1939,
    "helene-schjerfbeck": 1946, "henri-de-toulouse-lautrec": 1901, "henri-fantin-latour": 1904,
    "henri-matisse": 1954, "henri-rousseau": 1910, "ilya-mashkov": 1944, "ilya-repin": 1930,
    "jacek-malczewski": 1929, "james-mcneill-whistler": 1903, "james-tissot": 1902,
    "john-singer-sargent": 1925, "joaquin-sorolla": 1923, "juan-gris": 1927, "kazimir-malevich": 1935,
    "konstantin-korovin": 1939, "konstantin-makovsky": 1915, "konstantin-somov": 1939,
    "kuzma-petrov-vodkin": 1939, "leon-bakst": 1924, "lovis-corinth": 1925, "mary-cassatt": 1926,
    "max-liebermann": 1935, "mikhail-nesterov": 1942, "mikhail-vrubel": 1910, "moise-kisling": 1953,
    "nicholas-roerich": 1947, "nicolae-grigorescu": 1907, "nicolae-tonitza": 1940, "niko-pirosmani": 1918,
    "nikolay-bogdanov-belsky": 1945, "odilon-redon": 1916, "paul-cezanne": 1906, "paul-gauguin": 1903,
    "paul-klee": 1940, "paula-modersohn-becker": 1907, "peder-severin-kroyer": 1909,
    "pierre-auguste-renoir": 1919, "raphael-kirchner": 1917, "richard-gerstl": 1908, "rik-wouters": 1916,
    "sir-lawrence-alma-tadema": 1912, "stefan-luchian": 1916, "theo-van-doesburg": 1931,
    "theo-van-rysselberghe": 1926, "thomas-eakins": 1916, "valentin-serov": 1911, "vasily-polenov": 1927,
    "vasily-surikov": 1916, "vasily-vereshchagin": 1904, "viktor-vasnetsov": 1926, "vladimir-makovsky": 1920,
    "william-adolphe-bouguereau": 1905, "william-holman-hunt": 1910, "william-merritt-chase": 1916,
    "arshile-gorky": 1948, "maurice-prendergast": 1924, "john-french-sloan": 1951,
    # after 1955 (not public domain with the default cutoff)
    "andy-warhol": 1987, "augustus-john": 1961, "david-burliuk": 1967, "diego-rivera": 1957,
    "fernando-botero": 2023, "george-bouzianis": 1959, "irma-stern": 1966, "kees-van-dongen": 1968,
    "lucian-freud": 2011, "marc-chagall": 1985, "marevna-(marie-vorobieff)": 1984, "marie-laurencin": 1956,
    "martiros-saryan": 1972, "oskar-kokoschka": 1980, "otto-dix": 1969, "pablo-picasso": 1973,
    "pyotr-konchalovsky": 1956, "roy-lichtenstein": 1997, "salvador-dali": 1989, "willem-de-kooning": 1997,
    "yiannis-tsaroychis": 1989, "zinaida-serebriakova": 1967, "frida-kahlo": 1954, "rene-magritte": 1967,
    "joan-miro": 1983, "wassily-kandinsky": 1944, "piet-mondrian": 1944, "georges-braque": 1963,
    "edward-hopper": 1967,
}  # fmt: skip


# -- small text helpers ---------------------------------------------------------------------------------------------
_MOJIBAKE = re.compile("[\u00c2-\u00df\u00e2-\u00fe][\u0080-\u00bf]")


def _fix_mojibake(text: str) -> str:
    """Repair UTF-8 read as Latin-1 and then lower-cased, as in WikiArt slugs (``joaquã­n`` -> ``joaquín``)."""
    if not _MOJIBAKE.search(text):
        return text

    def fix(m: re.Match[str]) -> str:
        lead, cont = ord(m.group(0)[0]), ord(m.group(0)[1])
        if lead >= 0xE0:
            lead -= 0x20  # undo the lower-casing of the lead byte
        try:
            return bytes([lead, cont]).decode("utf-8")
        except UnicodeDecodeError:
            return m.group(0)

    return _MOJIBAKE.sub(fix, text).replace("\u00a0", " ")


_NON_WORD = re.compile(r"[^\w]+")
_COPY_MARK = re.compile(r"\((\d+)\)")
_WORD_SPLIT = re.compile(r"[-_\s]+")


def _fold(text: str) -> str:
    """Lower-case without accents."""
    if text.isascii():
        return text.lower()
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).lower()


@functools.lru_cache(maxsize=8192)
def name_key(text: str) -> str:
    """The lookup form of an artist name or slug: ``Joaquín Sorolla`` and ``joaquin-sorolla`` give the same."""
    return _NON_WORD.sub("-", _fold(text)).strip("-")


def slug_key(path: str) -> str:
    """A stable key from an image path as written: folded, per path part, without the extension."""
    p = path.replace("\\", "/").strip()
    stem, ext = os.path.splitext(p)
    if ext.lower() in IMAGE_EXTENSIONS:
        p = stem
    # "(1)" copy marks become "_1", so that "x(1).jpg" and "x-1.jpg" keep different keys
    parts = [_NON_WORD.sub("-", _COPY_MARK.sub(r"_\1", _fold(part))).strip("-") for part in p.split("/")]
    return "/".join(part for part in parts if part and part != "..")


def _norm_genre(text: str) -> str:
    return re.sub(r"[\s_\-]+", " ", text.strip().lower())


_SMALL_WORDS = frozenset({
    "a", "an", "and", "as", "at", "but", "by", "for", "from", "in", "into", "of", "on", "or", "the", "to", "with",
    "de", "du", "des", "la", "les", "van", "von", "der", "den", "da", "di", "del", "della", "et", "en", "au",
    "aux", "sur", "y",
})  # fmt: skip
_NAME_PARTICLES = frozenset({
    "van", "von", "der", "den", "de", "da", "di", "del", "della", "du", "des", "la", "the", "of", "ten", "ter", "y",
})  # fmt: skip
_ROMAN = re.compile(r"^(?:ii|iii|iv|vi|vii|viii|ix|xi|xii|xiii|xiv|xv|xvi|xvii|xviii|xix|xx)$")


def _cap(word: str) -> str:
    for i, ch in enumerate(word):
        if ch.isalpha():
            rest = word[i + 1 :]
            if word[i : i + 2] == "mc" and len(word) - i > 3:
                return word[:i] + "Mc" + rest[1:2].upper() + rest[2:]
            return word[:i] + ch.upper() + rest
    return word


def humanize(slug: str, *, name: bool = False) -> str:
    """``the-magpie`` -> ``The Magpie``; ``portrait-of-the-artist-s-mother`` -> ``Portrait of the Artist's Mother``.

    With ``name``, particles stay lower-case (``vincent-van-gogh`` -> ``Vincent van Gogh``).
    """
    words = [w for w in _WORD_SPLIT.split(slug.strip()) if w]
    small = _NAME_PARTICLES if name else _SMALL_WORDS
    out: list[str] = []
    for w in words:
        lw = w.lower()
        if lw == "s" and out and out[-1][-1:].isalpha():
            out[-1] += "'s"
            continue
        if _ROMAN.match(lw):
            out.append(lw.upper())
        elif lw == "st" and not name:
            out.append("St.")
        elif out and lw in small:
            out.append(lw)
        else:
            out.append(_cap(lw))
    return " ".join(out)


_YEAR = re.compile(r"(?<!\d)(\d{3,4})(?!\d)")


def parse_year(value: object) -> int | None:
    """A year from ``1866``, ``"c. 1866"``, ``"1503-1506"``, ``"1860s"``; None when empty.

    Raises ValueError when there is text but no plausible year in it.
    """
    if value is None:
        return None
    if isinstance(value, bool):
        raise ValueError(repr(value))
    if isinstance(value, int):
        year = value
    elif isinstance(value, float):
        if value != value:  # NaN
            return None
        year = int(value)
    else:
        text = str(value).strip()
        if not text or text.lower() in {"?", "-", "n/a", "na", "none", "null", "unknown"}:
            return None
        m = _YEAR.search(text)
        if not m:
            raise ValueError(repr(text))
        year = int(m.group(1))
    if not 100 <= year <= 2100:
        raise ValueError(repr(value))
    return year


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
    text = humanize(_fix_mojibake(title)).replace("Self Portrait", "Self-Portrait")
    return text, int(year) if year else None


def _parse_bool(value: object) -> bool | None:
    if isinstance(value, bool):
        return value
    if value is None:
        return None
    text = str(value).strip().lower()
    if text in {"1", "true", "yes", "y", "t", "portrait"}:
        return True
    if text in {"0", "false", "no", "n", "f", ""}:
        return False if text else None
    return None


def _parse_tags(value: object) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, list | tuple):
        return tuple(str(v).strip() for v in value if str(v).strip())
    text = str(value).strip()
    if not text:
        return ()
    if text.startswith("["):
        try:
            loaded = json.loads(text)
        except json.JSONDecodeError:
            loaded = None
        if isinstance(loaded, list):
            return tuple(str(v).strip() for v in loaded if str(v).strip())
    sep = next((s for s in ("|", ";", ",") if s in text), None)
    parts = text.split(sep) if sep else [text]
    return tuple(p.strip() for p in parts if p.strip())


def _text(value: object) -> str | None:
    if value is None:
        return None
    text = str(value).strip()
    return text or None


_GENDER_WORDS = {
    "female": ("f", "female", "woman", "women", "femme", "feminine", "w"),
    "male": ("m", "male", "man", "men", "homme", "masculine", "h"),
}


def parse_gender(value: object) -> str | None:
    """A catalog's gender or voice column as ``female`` / ``male``; None when empty or not one of those."""
    text = _text(value)
    if text is None:
        return None
    word = text.lower()
    for gender, words in _GENDER_WORDS.items():
        if word in words:
            return gender
    return None


# -- column mapping -------------------------------------------------------------------------------------------------
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


def _norm_col(name: str) -> str:
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
        left out here, and :func:`_resolve_or_fail` names it.
        """
        present = list(columns)
        by_norm: dict[str, str] = {}
        for c in present:
            by_norm.setdefault(_norm_col(c), c)
        out: dict[str, str] = {}
        for f in fields(self):
            explicit = getattr(self, f.name)
            if explicit is not None:
                actual = explicit if explicit in present else by_norm.get(_norm_col(explicit))
                if actual is not None:
                    out[f.name] = actual
                continue
            for alias in _ALIASES[f.name]:
                if alias in by_norm:
                    out[f.name] = by_norm[alias]
                    break
        return out


def _resolve_or_fail(cmap: ColumnMap, columns: list[str], source: Path) -> dict[str, str]:
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


# -- the report -----------------------------------------------------------------------------------------------------
@dataclass
class ImportReport:
    """What an import read, kept and dropped (and why)."""

    source: str
    fmt: str = ""
    read: int = 0
    kept: int = 0
    dropped: int = 0
    dropped_by_reason: dict[str, int] = field(default_factory=dict)
    portraits: int = 0
    """Portraits among the kept rows."""
    portraits_read: int = 0
    """Portraits among the rows read, before any row was dropped."""
    inserted: int = 0
    updated: int = 0
    examples: dict[str, list[str]] = field(default_factory=dict)
    """Up to three examples per drop reason."""
    notes: list[str] = field(default_factory=list)
    files: list[str] = field(default_factory=list)

    def drop(self, reason: str, example: str) -> None:
        self.dropped += 1
        self.dropped_by_reason[reason] = self.dropped_by_reason.get(reason, 0) + 1
        shown = self.examples.setdefault(reason, [])
        if len(shown) < 3:
            shown.append(example)

    def merge(self, other: ImportReport) -> None:
        self.read += other.read
        self.kept += other.kept
        self.dropped += other.dropped
        for reason, n in other.dropped_by_reason.items():
            self.dropped_by_reason[reason] = self.dropped_by_reason.get(reason, 0) + n
        for reason, shown in other.examples.items():
            mine = self.examples.setdefault(reason, [])
            mine.extend(shown[: max(0, 3 - len(mine))])
        self.portraits += other.portraits
        self.portraits_read += other.portraits_read
        self.inserted += other.inserted
        self.updated += other.updated
        self.notes.extend(n for n in other.notes if n not in self.notes)
        self.files.extend(other.files)
        if other.fmt and other.fmt not in self.fmt.split("+"):
            self.fmt = f"{self.fmt}+{other.fmt}" if self.fmt else other.fmt

    def lines(self) -> list[str]:
        head = f"{self.source} ({self.fmt or '?'}): read {self.read:,} rows"
        out = [f"{head}, kept {self.kept:,}, dropped {self.dropped:,}"]
        if len(self.files) > 1:
            out.append(f"  files: {', '.join(self.files)}")
        for reason, n in sorted(self.dropped_by_reason.items(), key=lambda kv: (-kv[1], kv[0])):
            shown = self.examples.get(reason, [])
            eg = f" (e.g. {'; '.join(shown)})" if shown else ""
            out.append(f"  dropped, {reason}: {n:,}{eg}")
        out.append(f"  portraits: {self.portraits:,} kept of {self.portraits_read:,} read")
        out.append(f"  database: {self.inserted:,} inserted, {self.updated:,} updated")
        out.extend(f"  note: {n}" for n in self.notes)
        return out


# -- rows -----------------------------------------------------------------------------------------------------------
@dataclass
class _Raw:
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
        self.portrait_genres = {_norm_genre(g) for g in settings.portrait_genres}
        self.seen = seen
        self.key_images: dict[str, str] = {}
        """Key -> absolute image path of the keys made here from file stems (to tell namesakes from duplicates)."""
        self.assumed_portrait = 0
        self.from_table = 0

    def build(self, raws: Iterable[_Raw], report: ImportReport, source: str) -> Iterator[NewPainting]:
        cutoff_died, cutoff_year = self.settings.pd_death_cutoff, self.settings.pd_year_cutoff
        for r in raws:
            report.read += 1
            image = _text(r.image)
            # portrait or not
            if self.portrait_list is not None:
                portrait = bool(image) and self._listed(r, image or "")
            elif r.is_portrait is not None:
                portrait = r.is_portrait
            elif r.genre:
                portrait = _norm_genre(r.genre) in self.portrait_genres
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
            title = _text(r.title)
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
            artist = _text(r.artist) or "Unknown"
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
            given = _text(r.key)
            key = given or self._short_key(image, r.base)
            if key in self.seen:
                report.drop(DUPLICATE_KEY, f"{r.origin}: {key}")
                continue
            self.seen.add(key)
            if not given:
                self.key_images[key] = _absolute(image, r.base)
            report.kept += 1
            if portrait:
                report.portraits += 1
            yield NewPainting(
                key=key, title=title, artist=artist, image_path=_absolute(image, r.base), year=year,
                artist_died=died, genre=_text(r.genre), style=_text(r.style), tags=r.tags,
                description=_text(r.description), is_portrait=portrait, source=source,
                title_fr=_text(r.title_fr), gender=parse_gender(r.gender),
            )  # fmt: skip

    def _short_key(self, image: str, base: str) -> str:
        """A short, stable key for a row without one: the image's file stem ("mona-lisa"), never a whole path.

        Another image with the same stem in this import gets its folder's name in front ("sketches-mona-lisa"),
        then a number ("mona-lisa-2"); the same image listed twice keeps the same key (a duplicate, dropped).
        """
        target = _absolute(image, base)
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

    def _listed(self, r: _Raw, image: str) -> bool:
        listed = self.portrait_list
        assert listed is not None
        return (
            (r.key is not None and r.key in listed) or slug_key(image) in listed or _absolute(image, r.base) in listed
        )


def _too_long(r: _Raw) -> str:
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


def _absolute(image: str, base: str) -> str:
    p = os.path.expanduser(image.strip())
    if not os.path.isabs(p):
        p = os.path.join(base, p)
    return os.path.normpath(p)


# -- readers --------------------------------------------------------------------------------------------------------
def _read_text(path: Path, report: ImportReport | None = None) -> str:
    try:
        data = path.read_bytes()
    except OSError as e:
        raise CatalogError(f"{path}: cannot read: {e.strerror or e}") from None
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        if report is not None:
            report.notes.append(f"{path.name} is not UTF-8; read as Windows-1252")
        return data.decode("cp1252", errors="replace")


def _sniff_delimiter(first_line: str) -> str:
    counts = {d: first_line.count(d) for d in (",", ";", "\t", "|")}
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] else ","


def _csv_rows(text: str, source: str = "") -> Iterator[list[str]]:
    """The non-blank rows of CSV ``text``; a field over :data:`CSV_FIELD_LIMIT` (or broken quoting) raises
    :class:`CatalogError` naming ``source`` and the line."""
    first = next((line for line in text.splitlines() if line.strip()), "")
    if csv.field_size_limit() < CSV_FIELD_LIMIT:
        csv.field_size_limit(CSV_FIELD_LIMIT)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=_sniff_delimiter(first))
    while True:
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as e:
            raise CatalogError(f"{source or 'CSV'}:{reader.line_num}: {e}") from None
        if row and any(cell.strip() for cell in row):
            yield row


def _looks_like_wikiart_list(row: list[str]) -> bool:
    return (
        len(row) == 2
        and row[1].strip().lstrip("-").isdigit()
        and os.path.splitext(row[0].strip())[1].lower() in IMAGE_EXTENSIONS
    )


def _is_wikiart_parsed(header: list[str]) -> bool:
    cols = {_norm_col(c) for c in header}
    return {"path", "artist_slug", "title_slug"} <= cols


def _genre_names(path: Path, genre_index: Path | Mapping[int, str] | None, report: ImportReport) -> dict[int, str]:
    if isinstance(genre_index, Mapping):
        return {int(k): str(v) for k, v in genre_index.items()}
    candidates = [genre_index] if genre_index is not None else [
        path.parent / n for n in ("genre_class", "genre_class.txt", "genre_class.csv")
    ]  # fmt: skip
    for c in candidates:
        if c is not None and c.is_file():
            names: dict[int, str] = {}
            for line in _read_text(c).splitlines():
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
    return " ".join(_cap(w) for w in re.split(r"[_\s]+", style.strip()) if w)


@functools.lru_cache(maxsize=8192)
def _artist_name(slug: str) -> str:
    return humanize(slug, name=True)


def _wikiart_raw(origin: str, img: str, style: str | None, artist_slug: str, title_slug: str,
                 year: object, genre: str | None, base: str) -> _Raw:  # fmt: skip
    title, slug_year = split_wikiart_slug(title_slug)
    if slug_year is None and _text(year):  # a year column, where the slug has none: only a plausible one
        try:
            given = parse_year(year)
        except ValueError:
            given = None
        slug_year = given if given is not None and 1000 <= given <= 2029 else None
    artist_slug = _fix_mojibake(artist_slug).strip(" -")
    artist = _artist_name(artist_slug) if artist_slug else "Unknown"
    return _Raw(
        origin=origin, image=img, title=title, artist=artist, year=slug_year, genre=genre,
        style=_style_name(style), base=base, key=slug_key(img),  # WikiArt's "Style/artist_title" is its identity
    )  # fmt: skip


def _read_wikiart_list(path: Path, text: str, genres: Mapping[int, str], base: str) -> Iterator[_Raw]:
    for n, row in enumerate(_csv_rows(text, str(path)), 1):
        origin = f"{path.name}:{n}"
        img = row[0].strip()
        label = row[1].strip() if len(row) > 1 else ""
        genre = genres.get(int(label), label) if label.lstrip("-").isdigit() else (label or None)
        style, artist_slug, title_slug = _wikiart_path_parts(img)
        yield _wikiart_raw(origin, img, style, artist_slug, title_slug, None, genre, base)


def _read_wikiart_parsed(path: Path, rows: Iterator[list[str]], header: list[str], base: str) -> Iterator[_Raw]:
    idx = {_norm_col(c): i for i, c in enumerate(header)}

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


def _raw_from_mapping(obj: Mapping[str, Any], cols: Mapping[str, str], origin: str, base: str) -> _Raw:
    def get(name: str) -> Any:
        col = cols.get(name)
        return obj.get(col) if col is not None else None

    portrait_value = get("is_portrait")
    return _Raw(
        origin=origin, image=_text(get("image")), title=_text(get("title")), artist=_text(get("artist")),
        year=get("year"), artist_died=get("artist_died"), genre=_text(get("genre")), style=_text(get("style")),
        tags=_parse_tags(get("tags")), description=_text(get("description")), key=_text(get("key")),
        is_portrait=_parse_bool(portrait_value) if portrait_value is not None else None, base=base,
        title_fr=_text(get("title_fr")), gender=_text(get("gender")),
    )  # fmt: skip


def _read_csv(path: Path, rows: Iterator[list[str]], header: list[str], cmap: ColumnMap, base: str) -> Iterator[_Raw]:
    header = [h.strip().lstrip("\ufeff") for h in header]
    cols = _resolve_or_fail(cmap, header, path)
    for n, row in enumerate(rows, 2):
        obj = dict(zip(header, row, strict=False))
        yield _raw_from_mapping(obj, cols, f"{path.name}:{n}", base)


def _read_json(path: Path, text: str, cmap: ColumnMap, base: str) -> Iterator[_Raw]:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as e:
        raise CatalogError(f"{path}: not valid JSON (line {e.lineno}): {e.msg}") from None
    if isinstance(data, dict):
        data = data.get("paintings")
    if not isinstance(data, list) or not all(isinstance(o, dict) for o in data):
        raise CatalogError(f'{path}: expected a list of objects or {{"paintings": [...]}}')
    keys: list[str] = []
    for o in data:
        keys.extend(k for k in o if k not in keys)
    _resolve_or_fail(cmap, keys, path)
    resolved: dict[tuple[str, ...], dict[str, str]] = {}  # objects may name their fields differently
    for n, obj in enumerate(data, 1):
        names = tuple(obj)
        cols = resolved.get(names)
        if cols is None:
            cols = resolved[names] = cmap.resolve(names)
        yield _raw_from_mapping(obj, cols, f"{path.name}[{n}]", base)


def _image_files(folder: Path) -> list[Path]:
    found = []
    for dirpath, dirnames, filenames in os.walk(folder):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        for name in sorted(filenames):
            if not name.startswith(".") and os.path.splitext(name)[1].lower() in IMAGE_EXTENSIONS:
                found.append(Path(dirpath) / name)
    return found


def _read_folder(folder: Path, cmap: ColumnMap, report: ImportReport) -> Iterator[_Raw]:
    base = str(folder)
    for img in _image_files(folder):
        rel = img.relative_to(folder).as_posix()
        origin = rel
        sidecar = next((s for s in (img.with_suffix(".json"), img.with_name(img.name + ".json")) if s.is_file()), None)
        if sidecar is None:
            yield _Raw(origin=origin, image=rel, title=humanize(img.stem), artist="Unknown", base=base)
            continue
        try:
            meta = json.loads(_read_text(sidecar))
        except (json.JSONDecodeError, CatalogError) as e:
            report.read += 1
            report.drop(BAD_SIDECAR, f"{sidecar.name}: {e}")
            continue
        if not isinstance(meta, dict):
            report.read += 1
            report.drop(BAD_SIDECAR, f"{sidecar.name}: not a JSON object")
            continue
        raw = _raw_from_mapping(meta, cmap.resolve(meta.keys()), f"{rel} (+{sidecar.name})", base)
        raw.image = rel  # the image is the file beside the sidecar, whatever the sidecar says
        raw.title = raw.title or humanize(img.stem)
        yield raw


# -- death years and portrait lists ---------------------------------------------------------------------------------
def load_artist_deaths(path: Path) -> dict[str, int]:
    """A CSV of (artist name or slug, death year) rows, header optional; keys in :func:`name_key` form."""
    out: dict[str, int] = {}
    for n, row in enumerate(_csv_rows(_read_text(path), str(path)), 1):
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


def _deaths_table(artist_deaths: Path | Mapping[str, int] | None) -> dict[str, int]:
    table = {name_key(k): v for k, v in ARTIST_DEATHS.items()}
    if isinstance(artist_deaths, Mapping):
        table.update({name_key(k): int(v) for k, v in artist_deaths.items()})
    elif artist_deaths is not None:
        table.update(load_artist_deaths(artist_deaths))
    return table


def load_portrait_list(path: Path, base: str) -> set[str]:
    """Keys, slugs and absolute paths of the entries of a portrait list (one per line, or a CSV's path column)."""
    rows = list(_csv_rows(_read_text(path), str(path)))
    col = 0
    if rows:
        header = [_norm_col(c) for c in rows[0]]
        named = next((header.index(c) for c in ("key", "path", "file", "image", "image_path") if c in header), None)
        if named is not None:
            col, rows = named, rows[1:]
    out: set[str] = set()
    for row in rows:
        entry = row[col].strip() if col < len(row) else ""
        if entry:
            out.update({entry, slug_key(entry), _absolute(entry, base)})
    return out


# -- import ---------------------------------------------------------------------------------------------------------
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
    raws: Iterable[_Raw]
    if fmt == "folder":
        if not path.is_dir():
            raise CatalogError(f"{path}: not a folder (format 'folder' wants a folder of images)")
        report.fmt = "folder"
        raws = _read_folder(path.resolve(), columns, report)
    elif fmt == "json":
        report.fmt = "json"
        raws = _read_json(path, _read_text(path, report), columns, base)
    else:
        text = _read_text(path, report)
        rows = _csv_rows(text, str(path))
        first = next(rows, None)
        if first is None:
            raise CatalogError(f"{path}: the catalog is empty")
        if _is_wikiart_parsed(first):
            report.fmt = "wikiart"
            raws = _read_wikiart_parsed(path, rows, first, base)
        elif _looks_like_wikiart_list(first):
            report.fmt = "wikiart"
            raws = _read_wikiart_list(path, text, _genre_names(path, genre_index, report), base)
        elif fmt == "wikiart":
            raise CatalogError(
                f"{path}: not a WikiArt list (expected rows like 'Style/artist_title-1869.jpg,6' or the header "
                f"'path,style,artist_slug,title_slug,year,genre,split'); first row: {','.join(first)[:120]!r}"
            )
        else:
            report.fmt = "csv"
            raws = _read_csv(path, rows, first, columns, base)
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
    deaths = _deaths_table(artist_deaths)
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


# -- draw -----------------------------------------------------------------------------------------------------------
def draw(
    store: Store, n: int, *, seed: int | None, include_used: bool = False, rng: random.Random | None = None
) -> list[int]:
    """``n`` portrait ids at random whose image file exists, leaving out those used by earlier batches.

    The same seed (and catalog) gives the same ids; ``rng``, when given, is used instead of a new
    ``random.Random(seed)``. The ids are shuffled lazily (Fisher-Yates, one step per candidate looked at) and
    image files are looked for only as the walk reaches them, their paths fetched a chunk at a time, so a large
    catalog costs little for a small ``n``. Returns fewer than ``n`` ids, with a warning, when not enough remain.
    """
    if n <= 0:
        return []
    ids = store.portrait_ids(include_used=include_used)
    rng = rng if rng is not None else random.Random(seed)
    total = len(ids)
    picked: list[int] = []
    missing = 0
    i = 0
    chunk = max(8, 2 * n)
    while i < total and len(picked) < n:
        end = min(total, i + chunk)
        for k in range(i, end):  # the next steps of the shuffle
            j = rng.randrange(k, total)
            ids[k], ids[j] = ids[j], ids[k]
        paths = store.image_paths(ids[i:end])
        for painting_id in ids[i:end]:
            path = paths.get(painting_id)
            if path and os.path.isfile(path):
                picked.append(painting_id)
                if len(picked) == n:
                    break
            else:
                missing += 1
        i = end
        chunk = min(4096, chunk * 2)
    if missing:
        log.info("draw: skipped %d portraits whose image file is missing", missing)
    if len(picked) < n:
        log.warning(
            "draw: asked for %d portraits, only %d available (%d candidates%s, %d without an image file)",
            n, len(picked), total, "" if include_used else " not used before", missing,
        )  # fmt: skip
    return picked


def stats(store: Store) -> dict[str, Any]:
    """The catalog's figures (:meth:`Store.catalog_stats`) plus ``unused_portraits``."""
    figures = store.catalog_stats()
    figures["unused_portraits"] = len(store.portrait_ids(include_used=False))
    return figures


__all__ = [
    "ARTIST_DEATHS",
    "ColumnMap",
    "ImportReport",
    "draw",
    "humanize",
    "import_catalog",
    "load_artist_deaths",
    "load_portrait_list",
    "name_key",
    "parse_year",
    "slug_key",
    "split_wikiart_slug",
    "stats",
]
