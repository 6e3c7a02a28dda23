"""Where the fonts for titles and subtitles come from.

libass draws nothing when fontconfig finds no font, and ffmpeg's ``drawtext`` needs a font file, so every
render names a folder of fonts explicitly. The default is the DejaVu family shipped inside matplotlib's wheel,
which is always installed; ``render.fonts_dir`` in ``vivant.toml`` overrides it.
"""

from __future__ import annotations

import logging
from functools import cache
from pathlib import Path

from vivant.errors import ConfigError

log = logging.getLogger(__name__)

ASS_FONT_FAMILY = "DejaVu Sans"
"""The family name that the subtitles' style asks libass for (the default fonts)."""

FONT_SUFFIXES = (".ttf", ".otf")
_PREFERRED = {False: "DejaVuSans.ttf", True: "DejaVuSans-Bold.ttf"}
_SYSTEM_FONTS = Path("/usr/share/fonts")


def _font_files(folder: Path) -> list[Path]:
    try:
        return sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in FONT_SUFFIXES)
    except OSError:
        return []


def _matplotlib_fonts() -> Path | None:
    try:
        import matplotlib
    except ImportError:
        return None
    folder = Path(matplotlib.__file__).parent / "mpl-data" / "fonts" / "ttf"
    return folder if _font_files(folder) else None


def _system_fonts() -> Path | None:
    """A folder under /usr/share/fonts that holds fonts directly (libass does not search subfolders)."""
    if not _SYSTEM_FONTS.is_dir():
        return None
    try:
        for name in (_PREFERRED[True], _PREFERRED[False]):
            for hit in sorted(_SYSTEM_FONTS.rglob(name)):
                return hit.parent
        for folder in sorted({p.parent for p in _SYSTEM_FONTS.rglob("*") if p.suffix.lower() in FONT_SUFFIXES}):
            return folder
    except OSError:
        return None
    return None


def find_fonts_dir(configured: Path | None) -> Path:
    """The folder of fonts to render with.

    ``configured`` (``render.fonts_dir``) when it holds .ttf/.otf files; else matplotlib's DejaVu fonts;
    else a folder of /usr/share/fonts. Raise :class:`ConfigError` when none of them has a font.
    """
    if configured is not None:
        if _font_files(configured):
            return configured
        log.warning("render.fonts_dir %s holds no .ttf/.otf font; using the default fonts", configured)
    for folder in (_matplotlib_fonts(), _system_fonts()):
        if folder is not None:
            return folder
    where = f"render.fonts_dir ({configured}) has no .ttf/.otf file, " if configured is not None else ""
    raise ConfigError(
        f"no fonts found: {where}matplotlib's mpl-data/fonts/ttf is missing and {_SYSTEM_FONTS} has none; "
        "set render.fonts_dir in vivant.toml to a folder of .ttf fonts"
    )


def font_file(fonts_dir: Path, bold: bool = False) -> Path:
    """The font file to draw titles with: DejaVuSans(-Bold).ttf when present, else the best match."""
    preferred = fonts_dir / _PREFERRED[bold]
    if preferred.is_file():
        return preferred
    files = _font_files(fonts_dir)
    if not files:
        raise ConfigError(f"{fonts_dir}: no .ttf/.otf font in this folder (render.fonts_dir)")

    def rank(p: Path) -> tuple[int, int, str]:
        name = p.stem.lower()
        is_bold = "bold" in name or "black" in name or "heavy" in name
        odd = any(s in name for s in ("italic", "oblique", "mono", "condensed", "light", "thin"))
        return (0 if is_bold == bold else 1, 1 if odd else 0, p.name)

    return min(files, key=rank)


@cache
def font_family(fonts_dir: Path) -> str:
    """The family name to put in an ASS style so that libass picks a font of ``fonts_dir``."""
    path = font_file(fonts_dir, bold=False)
    if path.name == _PREFERRED[False]:
        return ASS_FONT_FAMILY
    try:
        from PIL import ImageFont

        family = ImageFont.truetype(str(path), 12).getname()[0]
    except (OSError, ImportError):
        family = None
    return family or ASS_FONT_FAMILY
