"""The configuration: one pydantic model for ``vivant.toml``, loaded once by the CLI and passed down.

Nothing here reads files at import time. :func:`load` turns the TOML file into :class:`Settings` and turns any
validation problem into a :class:`~vivant.errors.ConfigError` whose message is one line naming the key, e.g.
``vivant.toml: checks.min_face_fraction: Input should be less than 1``. Relative paths in the file are
resolved against the folder that holds it.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from vivant.errors import ConfigError

CONFIG_NAME = "vivant.toml"

Backend = Literal["local"]
"""Production backends (ComfyUI, OpenAI-compatible servers) are added by later releases."""
STEP_NAMES = (
    "prepare",
    "script",
    "audio",
    "restore",
    "realistic",
    "transition",
    "lipsync",
    "subtitles",
    "outro",
    "final",
)


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_default=True)


class CatalogSettings(_Section):
    portrait_genres: list[str] = ["portrait"]
    """Genres (as named in the catalog, or by the WikiArt genre index) that make the portrait list."""
    pd_death_cutoff: int = 1955
    """An artist who died in or before this year is public domain (life + 70 years, from 2026)."""
    pd_year_cutoff: int = 1880
    """When the artist's death year is unknown, a painting made in or before this year is public domain."""
    images_dir: Path | None = None
    """Folder that the catalog's relative image paths are resolved against (default: the catalog file's folder)."""


class ResearchSettings(_Section):
    zim_files: list[Path] = []
    max_facts: Annotated[int, Field(ge=0, le=20)] = 4


class ChecksSettings(_Section):
    """Thresholds of step 0's checks."""

    min_side_px: Annotated[int, Field(ge=64)] = 320
    max_people: Annotated[int, Field(ge=1)] = 1
    min_face_fraction: Annotated[float, Field(gt=0, lt=1)] = 0.06
    """The face's height as a share of the image's height."""
    min_blur_variance: Annotated[float, Field(ge=0)] = 40.0
    """Variance of the Laplacian on the image scaled to 512 px; lower means blurrier."""
    nudity_max_score: Annotated[float, Field(gt=0, le=1)] = 0.45
    face_score_min: Annotated[float, Field(gt=0, le=1)] = 0.3
    child_words: list[str] = [
        "child",
        "children",
        "infant",
        "baby",
        "boy",
        "girl with a doll",
        "cradle",
        "enfant",
        "bébé",
        "son",
        "daughter",
        "daughters",
        "kid",
        "putto",
        "putti",
    ]
    """Words in the title or tags that mark a child; on CPU this is the only child check (no model)."""


class RenderSettings(_Section):
    width: int = 1080
    height: int = 1920
    fps: Annotated[int, Field(ge=10, le=60)] = 25
    preset: str = "veryfast"
    crf: Annotated[int, Field(ge=0, le=51)] = 23
    watermark: str = "Tableau Vivant"
    music_dir: Path | None = None
    fonts_dir: Path | None = None
    """Folder of .ttf fonts for titles and subtitles (default: the DejaVu fonts shipped with matplotlib)."""
    loudness_lufs: Annotated[float, Field(ge=-30, le=-5)] = -14.0
    music_gain_db: Annotated[float, Field(le=0)] = -20.0
    title_seconds: Annotated[float, Field(ge=0, le=10)] = 3.0
    transition_seconds: Annotated[float, Field(ge=0.5, le=20)] = 3.0
    outro_seconds: Annotated[float, Field(ge=0.5, le=20)] = 2.5
    prepare_long_side: Annotated[int, Field(ge=256, le=4096)] = 1280


class VoiceSettings(_Section):
    piper_voice: str = "en_US-joe-medium"
    espeak_voices: dict[str, str] = {"fr": "fr", "en": "en-us"}
    espeak_rate: Annotated[int, Field(ge=80, le=400)] = 160


class RetrySettings(_Section):
    attempts: Annotated[int, Field(ge=1, le=10)] = 3
    """Total attempts per (item, step, language): the first plus two automatic retries."""
    backoff_seconds: Annotated[float, Field(ge=0)] = 2.0


class BackendSettings(_Section):
    """The backend chosen for each step; ``local`` is the embedded CPU implementation."""

    prepare: Backend = "local"
    script: Backend = "local"
    audio: Backend = "local"
    restore: Backend = "local"
    realistic: Backend = "local"
    transition: Backend = "local"
    lipsync: Backend = "local"
    subtitles: Backend = "local"
    outro: Backend = "local"
    final: Literal["local"] = "local"


class Settings(_Section):
    workspace: Path = Path(".")
    catalog: CatalogSettings = CatalogSettings()
    research: ResearchSettings = ResearchSettings()
    languages: list[Literal["fr", "en"]] = ["fr", "en"]
    checks: ChecksSettings = ChecksSettings()
    render: RenderSettings = RenderSettings()
    voice: VoiceSettings = VoiceSettings()
    retries: RetrySettings = RetrySettings()
    backends: BackendSettings = BackendSettings()

    @field_validator("languages")
    @classmethod
    def _languages_not_empty(cls, v: list[str]) -> list[str]:
        if not v:
            raise ValueError("at least one language is needed")
        if len(set(v)) != len(v):
            raise ValueError("a language is listed twice")
        return v

    # -- paths inside the workspace ------------------------------------------------------------------
    @property
    def database(self) -> Path:
        return self.workspace / "vivant.db"

    @property
    def batches_dir(self) -> Path:
        return self.workspace / "batches"

    @property
    def pool_dir(self) -> Path:
        return self.workspace / "pool"

    @property
    def reports_dir(self) -> Path:
        return self.workspace / "reports"

    def resolved(self, base: Path) -> Settings:
        """Return a copy whose relative paths are made absolute against ``base``."""

        def fix(p: Path | None) -> Path | None:
            if p is None:
                return None
            p = p.expanduser()
            return p if p.is_absolute() else (base / p).resolve()

        data = self.model_copy(deep=True)
        data.workspace = fix(data.workspace) or base
        data.research.zim_files = [fix(p) or p for p in data.research.zim_files]
        data.render.music_dir = fix(data.render.music_dir)
        data.render.fonts_dir = fix(data.render.fonts_dir)
        data.catalog.images_dir = fix(data.catalog.images_dir)
        return data


def _describe(err: ValidationError) -> str:
    first = err.errors()[0]
    key = ".".join(str(p) for p in first["loc"]) or "(top level)"
    msg = first["msg"]
    if first["type"] == "extra_forbidden":
        msg = "unknown key"
    more = len(err.errors()) - 1
    return f"{key}: {msg}" + (f" (and {more} more problem{'s' if more > 1 else ''})" if more else "")


def parse(text: str, *, source: str = CONFIG_NAME, base: Path | None = None) -> Settings:
    """Validate TOML text; raise :class:`ConfigError` naming the key on any problem."""
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(f"{source}: not valid TOML: {e}") from None
    try:
        settings = Settings.model_validate(raw)
    except ValidationError as e:
        raise ConfigError(f"{source}: {_describe(e)}") from None
    return settings.resolved(base or Path.cwd())


def load(path: Path) -> Settings:
    """Read and validate ``vivant.toml`` at ``path``."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such config file (run `vivant init` first)") from None
    except (OSError, UnicodeDecodeError) as e:
        raise ConfigError(f"{path}: cannot read: {e}") from None
    return parse(text, source=str(path), base=path.parent.resolve())


def find(start: Path | None = None) -> Path | None:
    """Find ``vivant.toml`` in ``start`` or its parents."""
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        candidate = folder / CONFIG_NAME
        if candidate.is_file():
            return candidate
    return None


def default_toml(*, zim_files: list[Path] | None = None, music_dir: Path | None = None) -> str:
    """The commented ``vivant.toml`` that ``vivant init`` writes. It must parse to the defaults."""
    zims = ", ".join(f'"{p}"' for p in (zim_files or []))
    music = f'"{music_dir}"' if music_dir else ""
    return f"""\
# Tableau Vivant configuration. Relative paths are relative to this file's folder.
# Every key is optional; the values shown are the defaults. `vivant doctor` checks what is configured.

# Where the database (vivant.db), batches/, pool/ and reports/ live.
workspace = "."

# Languages of the videos, in the order they are made.
languages = ["fr", "en"]

[catalog]
# Genres that make the portrait list (WikiArt's genre index names genre 6 "portrait").
portrait_genres = ["portrait"]
# Public domain: the artist died in or before this year ...
pd_death_cutoff = 1955
# ... or, when the death year is unknown, the painting was made in or before this year.
pd_year_cutoff = 1880
# Folder that relative image paths in the catalog are resolved against (default: the catalog file's folder).
# images_dir = "/srv/paintings"

[research]
# Offline Wikipedia (.zim) archives searched for facts about the artist and the painting.
zim_files = [{zims}]
max_facts = 4

[checks]
# Step 0 refuses paintings that fail these checks.
min_side_px = 320          # shortest side of the image, in pixels
max_people = 1             # more faces than this: not a single portrait
min_face_fraction = 0.06   # face height / image height
min_blur_variance = 40.0   # variance of the Laplacian at 512 px; lower is blurrier
nudity_max_score = 0.45    # nudenet score above which exposed body parts refuse the painting
face_score_min = 0.3       # nudenet face score counted as a face

[render]
width = 1080
height = 1920
fps = 25
preset = "veryfast"        # libx264 preset
crf = 23
watermark = "Tableau Vivant"
# A folder of .mp3/.wav/.ogg/.flac background tracks; empty: a quiet generated ambient bed.
# music_dir = {music or '"/srv/music"'}
# fonts_dir = "/usr/share/fonts/truetype/dejavu"
loudness_lufs = -14.0
music_gain_db = -20.0
title_seconds = 3.0         # title and artist shown over the transition
transition_seconds = 3.0   # painting -> photo clip before the narration
outro_seconds = 2.5        # photo -> painting clip that loops back to the first frame
prepare_long_side = 1280

[voice]
piper_voice = "en_US-joe-medium"
espeak_rate = 160

[retries]
attempts = 3               # first try plus two automatic retries
backoff_seconds = 2.0

[backends]
# "local" runs the embedded CPU implementation of a step.
prepare = "local"
script = "local"
audio = "local"
restore = "local"
realistic = "local"
transition = "local"
lipsync = "local"
subtitles = "local"
outro = "local"
final = "local"
"""
