"""The cover of a short: a frame (or an image) cropped to the frame, the title drawn big, the artist under it."""

from __future__ import annotations

import tempfile
from pathlib import Path

from vivant.backends import ffmpeg
from vivant.backends.local.fonts import font_file
from vivant.errors import FFmpegError, InputError, WorkspaceError
from vivant.render.titles import fit_lines

_IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".webp", ".bmp", ".tif", ".tiff")


def make_thumbnail(
    video_or_image: Path,
    out_jpg: Path,
    *,
    title: str,
    artist: str,
    fonts_dir: Path,
    width: int = 1080,
    height: int = 1920,
    at: float | None = None,
) -> None:
    """Write a JPEG cover: a frame (of a video, at ``at`` seconds, default 45% in) or an image, cropped to
    ``width`` x ``height``, with the title drawn big and the artist under it.

    Pass the lip-sync clip (or the final video with ``at`` inside the speaking part).
    """
    from PIL import Image, ImageDraw, ImageFont, ImageOps, UnidentifiedImageError

    if not video_or_image.is_file():
        raise InputError(f"{video_or_image}: no such file for the thumbnail")
    with tempfile.TemporaryDirectory(prefix="vivant-thumb-") as tmp:
        if video_or_image.suffix.lower() in _IMAGE_SUFFIXES:
            source = video_or_image
        else:
            when = at if at is not None else 0.45 * ffmpeg.probe(video_or_image).duration
            source = Path(tmp) / "frame.png"
            ffmpeg.run(["-ss", f"{max(0.0, when):.3f}", "-i", video_or_image, "-frames:v", "1", source])
            if not source.is_file():
                raise FFmpegError(f"{video_or_image}: no frame at {when:.2f} s for the thumbnail")
        try:
            with Image.open(source) as im:
                frame = ImageOps.exif_transpose(im).convert("RGB")
        except (UnidentifiedImageError, OSError) as e:
            raise InputError(f"{video_or_image}: not a readable image: {e}") from None
    img = ImageOps.fit(frame, (width, height), Image.Resampling.LANCZOS, centering=(0.5, 0.4))

    # Darken the top for legibility.
    shade = Image.new("L", (1, height))
    for yy in range(height):
        shade.putpixel((0, yy), int(150 * max(0.0, 1 - yy / (0.5 * height))))
    black = Image.new("RGB", (width, height), (0, 0, 0))
    img = Image.composite(black, img, shade.resize((width, height)))

    draw = ImageDraw.Draw(img)
    bold, regular = font_file(fonts_dir, bold=True), font_file(fonts_dir, bold=False)
    lines, size = fit_lines(title, bold, round(0.07 * height), 0.88 * width, max_lines=4, min_size=round(0.03 * height))
    face = ImageFont.truetype(str(bold), size)
    y = round(0.12 * height)
    for line in lines:
        draw.text((width / 2, y), line, font=face, fill=(255, 255, 255), anchor="ma",
                  stroke_width=max(2, size // 16), stroke_fill=(0, 0, 0))  # fmt: skip
        y += round(size * 1.18)
    if artist.strip():
        small = ImageFont.truetype(str(regular), round(0.035 * height))
        draw.text((width / 2, y + round(0.015 * height)), artist.strip(), font=small, fill=(255, 226, 90),
                  anchor="ma", stroke_width=3, stroke_fill=(0, 0, 0))  # fmt: skip
    out_jpg.parent.mkdir(parents=True, exist_ok=True)
    try:
        img.save(out_jpg, "JPEG", quality=90, optimize=True, progressive=True)
    except OSError as e:
        raise WorkspaceError(f"{out_jpg}: cannot write the thumbnail: {e}") from None
