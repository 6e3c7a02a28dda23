"""Image files for step 0: open and check a painting's file whole, and the resize to step 0's copy."""

from __future__ import annotations

import warnings
from pathlib import Path

from PIL import Image, ImageFile, UnidentifiedImageError

from vivant.backends import ffmpeg
from vivant.errors import InputError

# -- image loading ----------------------------------------------------------------------------------------------


def load_image(path: Path) -> Image.Image:
    """Open, verify and fully decode ``path`` as RGB; raise :class:`InputError` naming the file if it is bad."""
    name = path.name or str(path)
    if not path.exists():
        raise InputError(f"{name}: no such file ({path})")
    if not path.is_file():
        raise InputError(f"{name}: not a file ({path})")
    if ImageFile.LOAD_TRUNCATED_IMAGES:  # pragma: no cover - a global another library might have set
        raise InputError(f"{name}: cannot check the image (PIL.ImageFile.LOAD_TRUNCATED_IMAGES is set)")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(path) as im:
                im.verify()
            with Image.open(path) as im:
                im.load()
                rgb = im.convert("RGB")
    except UnidentifiedImageError:
        raise InputError(f"{name}: not an image (cannot identify image file)") from None
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as e:
        raise InputError(f"{name}: image too large to open ({e})") from None
    except (OSError, SyntaxError, ValueError, EOFError) as e:
        text = str(e)
        if "truncated" in text.lower() or isinstance(e, EOFError):
            raise InputError(f"{name}: truncated image") from None
        raise InputError(f"{name}: unreadable image ({text or type(e).__name__})") from None
    if rgb.width < 1 or rgb.height < 1:
        raise InputError(f"{name}: empty image")
    return rgb


# -- resizing -------------------------------------------------------------------------------------------------------


def _even(n: float) -> int:
    return max(2, round(n / 2) * 2)


def resize_long_side(src: Path, dest: Path, long_side: int) -> tuple[int, int]:
    """Scale ``src`` (up or down, lanczos, same aspect) so its long side is ``long_side``; return (w, h).

    Both sides are even. ``dest``'s suffix picks the format: ``.png``, or ``.jpg``/``.jpeg`` at ``-q:v 2``.
    EXIF orientation is not applied (the inspector ignores it too).
    """
    suffix = dest.suffix.lower()
    if suffix not in (".png", ".jpg", ".jpeg"):
        raise ValueError(f"{dest.name}: output must be .png or .jpg")
    if long_side < 2:
        raise ValueError(f"long_side must be at least 2, got {long_side}")
    try:
        with Image.open(src) as im:
            w, h = im.size
    except FileNotFoundError:
        raise InputError(f"{src.name}: no such file ({src})") from None
    except (OSError, UnidentifiedImageError) as e:
        raise InputError(f"{src.name}: not an image ({e})") from None
    if w >= h:
        tw, th = _even(long_side), _even(h * long_side / w)
    else:
        tw, th = _even(w * long_side / h), _even(long_side)
    args: list[str | Path] = [
        "-loglevel", "error", "-noautorotate", "-i", src,
        "-vf", f"scale={tw}:{th}:flags=lanczos", "-frames:v", "1", "-update", "1",
    ]  # fmt: skip
    if suffix != ".png":
        args += ["-q:v", "2"]
    args.append(dest)
    ffmpeg.run(args)
    with Image.open(dest) as out:
        return out.size
