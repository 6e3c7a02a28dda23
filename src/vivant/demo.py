"""The demo: sample paintings, a workspace, and a night on them.

Samples come from ``--paintings DIR``, else ``../shared/data/paintings`` beside the project when it exists,
else a short list of public-domain portraits downloaded once from Wikimedia Commons into a cache folder.
The demo night takes a few portraits, women and men taken in turn from famous works (:data:`FEATURED`) when
the samples hold them, plus at least one painting that step 0 must refuse (a group or a landscape), so that a
first run shows both outcomes.
"""

from __future__ import annotations

import csv
import logging
import os
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import httpx

from vivant.errors import VivantError

log = logging.getLogger(__name__)

COMMONS_FILEPATH = "https://commons.wikimedia.org/wiki/Special:FilePath/"
USER_AGENT = "tableau-vivant-demo/0.1 (offline-first portrait video pipeline)"


@dataclass(frozen=True)
class Sample:
    file: str
    commons_name: str
    title: str
    artist: str
    year: int
    artist_died: int
    kind: str  # portrait | multi | landscape


# Public-domain paintings on Wikimedia Commons (artists dead for well over a century).
SAMPLES: tuple[Sample, ...] = (
    Sample("vermeer_girl-with-a-pearl-earring.jpg", "1665_Girl_with_a_Pearl_Earring.jpg",
           "Girl with a Pearl Earring", "Johannes Vermeer", 1665, 1675, "portrait"),
    Sample("leonardo_mona-lisa.jpg", "Mona_Lisa,_by_Leonardo_da_Vinci,_from_C2RMF_retouched.jpg",
           "Mona Lisa", "Leonardo da Vinci", 1503, 1519, "portrait"),
    Sample("rembrandt_self-portrait-with-two-circles.jpg",
           "Rembrandt_van_Rijn_-_Self-Portrait_with_Two_Circles_-_Google_Art_Project.jpg",
           "Self-Portrait with Two Circles", "Rembrandt van Rijn", 1665, 1669, "portrait"),
    Sample("sargent_lady-agnew-of-lochnaw.jpg", "Lady_Agnew_of_Lochnaw_by_John_Singer_Sargent.jpg",
           "Lady Agnew of Lochnaw", "John Singer Sargent", 1892, 1925, "portrait"),
    Sample("rembrandt_the-night-watch.jpg", "The_Night_Watch_-_HD.jpg",
           "The Night Watch", "Rembrandt van Rijn", 1642, 1669, "multi"),
    Sample("van-gogh_the-starry-night.jpg", "Van_Gogh_-_Starry_Night_-_Google_Art_Project.jpg",
           "The Starry Night", "Vincent van Gogh", 1889, 1890, "landscape"),
)  # fmt: skip

CATALOG_COLUMNS = ("file", "title", "artist", "year", "kind", "artist_died")

FEATURED: tuple[tuple[str, str], ...] = (
    ("leonardo_mona-lisa", "female"),
    ("vermeer_girl-with-a-pearl-earring", "female"),
    ("sargent_lady-agnew-of-lochnaw", "female"),
    ("cezanne_madame-cezanne-in-blue", "female"),
    ("rembrandt_self-portrait-with-two-circles", "male"),
    ("velazquez_portrait-of-pope-innocent-x", "male"),
    ("rigaud_portrait-of-louis-xiv_detail", "male"),
)
"""Famous portraits the demo prefers (catalog key, the sitter), women and men taken in turn."""


def project_shared_paintings() -> Path | None:
    """``../shared/data/paintings`` beside the project checkout (or beside the current folder)."""
    here = Path(__file__).resolve()
    candidates = [p.parent / "shared" / "data" / "paintings" for p in here.parents[:5]]
    candidates.append(Path.cwd().parent / "shared" / "data" / "paintings")
    for c in candidates:
        if (c / "catalog.csv").is_file():
            return c
    return None


def sample_zims(paintings: Path) -> list[Path]:
    """The offline Wikipedia archives beside the sample paintings, so the demo's scripts carry facts:
    ``*.zim`` in the paintings folder, then in a ``zim`` folder beside it (``../shared/data/zim`` in a
    checkout), sorted by name."""
    found: list[Path] = []
    for folder in (paintings, paintings.parent / "zim"):
        try:
            found += sorted(p.resolve() for p in folder.glob("*.zim") if p.is_file())
        except OSError:
            continue
    return list(dict.fromkeys(found))


def default_cache() -> Path:
    base = os.environ.get("VIVANT_CACHE") or os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "vivant" / "samples"


def download_samples(
    cache: Path,
    *,
    base_url: str = COMMONS_FILEPATH,
    width: int = 1280,
    transport: httpx.BaseTransport | None = None,
    on_file: Callable[[str, int, int], None] = lambda _name, _i, _n: None,
) -> Path:
    """Download the sample paintings once into ``cache`` (files already there are kept); return ``cache``."""
    cache.mkdir(parents=True, exist_ok=True)
    timeout = httpx.Timeout(60.0, connect=15.0)
    with httpx.Client(timeout=timeout, follow_redirects=True, transport=transport,
                      headers={"User-Agent": USER_AGENT}) as client:  # fmt: skip
        for i, s in enumerate(SAMPLES):
            dest = cache / s.file
            on_file(s.file, i, len(SAMPLES))
            if dest.is_file() and dest.stat().st_size > 0:
                continue
            url = f"{base_url}{quote(s.commons_name)}?width={width}"
            try:
                r = client.get(url)
                r.raise_for_status()
            except httpx.HTTPError as e:
                raise VivantError(f"cannot download the sample {s.commons_name}: {e}") from None
            if not r.headers.get("content-type", "").startswith("image/"):
                raise VivantError(f"{url}: expected an image, got {r.headers.get('content-type')!r}")
            tmp = dest.with_name(dest.name + ".part")
            tmp.write_bytes(r.content)
            os.replace(tmp, dest)
    with (cache / "catalog.csv").open("w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(CATALOG_COLUMNS)
        for s in SAMPLES:
            w.writerow((s.file, s.title, s.artist, s.year, s.kind, s.artist_died))
    return cache


def choose(rows: Sequence[tuple[int, str] | tuple[int, str, str]], *, portraits: int, seed: int) -> list[int]:
    """Pick the demo's paintings from (id, genre[, key]) rows: ``portraits`` portraits, one group, one landscape.

    The portraits are famous works of :data:`FEATURED` found among the rows, a woman and a man in turn (the
    seed picks which), then other portraits when there are not enough of those.
    """
    rng = random.Random(seed)
    by_genre: dict[str, list[int]] = {}
    keys: dict[int, str] = {}
    for row in rows:
        by_genre.setdefault(row[1], []).append(row[0])
        if len(row) > 2:
            keys[row[0]] = str(row[2])
    portrait_ids = sorted(by_genre.get("portrait", []))
    by_key = {keys[pid]: pid for pid in portrait_ids if pid in keys}
    turns = []
    for sitter in ("female", "male"):
        found = [by_key[key] for key, who in FEATURED if who == sitter and key in by_key]
        rng.shuffle(found)
        turns.append(found)
    chosen: list[int] = []
    while len(chosen) < portraits and any(turns):
        for found in turns:
            if found and len(chosen) < portraits:
                chosen.append(found.pop(0))
    rest = [pid for pid in portrait_ids if pid not in chosen]
    rng.shuffle(rest)
    chosen += rest[: max(0, portraits - len(chosen))]
    for genre in ("multi", "landscape"):
        extra = sorted(by_genre.get(genre, []))
        if extra:
            chosen.append(rng.choice(extra))
    return chosen
