"""Text helpers for a catalog's fields: lookup keys of names and image paths, titles and names from slugs,
years, flags, tags and genders as the many catalogs write them."""

from __future__ import annotations

import functools
import json
import os
import re

from vivant.text import fold

IMAGE_EXTENSIONS = frozenset({".jpg", ".jpeg", ".png", ".webp", ".tif", ".tiff"})

_MOJIBAKE = re.compile("[\u00c2-\u00df\u00e2-\u00fe][\u0080-\u00bf]")


def fix_mojibake(text: str) -> str:
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


@functools.lru_cache(maxsize=8192)
def name_key(text: str) -> str:
    """The lookup form of an artist name or slug: ``Joaquín Sorolla`` and ``joaquin-sorolla`` give the same."""
    return _NON_WORD.sub("-", fold(text)).strip("-")


def slug_key(path: str) -> str:
    """A stable key from an image path as written: folded, per path part, without the extension."""
    p = path.replace("\\", "/").strip()
    stem, ext = os.path.splitext(p)
    if ext.lower() in IMAGE_EXTENSIONS:
        p = stem
    # "(1)" copy marks become "_1", so that "x(1).jpg" and "x-1.jpg" keep different keys
    parts = [_NON_WORD.sub("-", _COPY_MARK.sub(r"_\1", fold(part))).strip("-") for part in p.split("/")]
    return "/".join(part for part in parts if part and part != "..")


def norm_genre(text: str) -> str:
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


def cap(word: str) -> str:
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
            out.append(cap(lw))
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


def parse_bool(value: object) -> bool | None:
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


def parse_tags(value: object) -> tuple[str, ...]:
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


def clean(value: object) -> str | None:
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
    text = clean(value)
    if text is None:
        return None
    word = text.lower()
    for gender, words in _GENDER_WORDS.items():
        if word in words:
            return gender
    return None
