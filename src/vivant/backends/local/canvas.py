"""The 9:16 canvas: how every clip places a portrait on a vertical frame.

A painting is fitted whole (full width, or full height when it is taller than the canvas), centred a little
above the middle, over a blurred, darkened, cover-scaled copy of itself. Every clip (transition, lip-sync,
outro) goes through :func:`compose_vertical`, so the same image always lands on the same pixels and clips
that start or end on it join seamlessly. :func:`canvas_transform` gives the mapping from image pixels to
canvas pixels, so a face :class:`~vivant.roles.Box` found on the image can be placed on the canvas.
"""

from __future__ import annotations

import logging
from pathlib import Path

import cv2
import numpy as np

from vivant.errors import InputError

log = logging.getLogger(__name__)

CENTRE_Y = 0.44
"""Where the painting's centre sits, as a fraction of the canvas height (0.5 would be the middle)."""
BACKGROUND_GAIN = 0.42
"""How bright the blurred background copy is kept (1.0 = unchanged)."""
BACKGROUND_BLUR = 0.035
"""Gaussian blur sigma of the background, as a fraction of the canvas width (applied at reduced size)."""


def load_bgr(path: Path) -> np.ndarray:
    """Read an image as 8-bit BGR (alpha dropped, grey expanded); raise InputError naming the file."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: no such image file")
    data = np.fromfile(str(path), dtype=np.uint8)
    img = cv2.imdecode(data, cv2.IMREAD_COLOR) if data.size else None
    if img is None or img.size == 0:
        raise InputError(f"{path}: not a readable image")
    if img.dtype != np.uint8:  # pragma: no cover - IMREAD_COLOR already gives 8 bits
        img = cv2.convertScaleAbs(img)
    return np.ascontiguousarray(img)


def canvas_transform(img_w: int, img_h: int, width: int, height: int) -> tuple[float, int, int]:
    """Return ``(scale, offset_x, offset_y)``: image pixel (x, y) lands on canvas pixel
    ``(offset_x + x * scale, offset_y + y * scale)`` in :func:`compose_vertical`."""
    if img_w <= 0 or img_h <= 0 or width <= 0 or height <= 0:
        raise ValueError(f"bad sizes: image {img_w}x{img_h}, canvas {width}x{height}")
    scale = min(width / img_w, height / img_h)
    fit_w, fit_h = _fitted_size(img_w, img_h, scale, width, height)
    offset_x = (width - fit_w) // 2
    offset_y = round(height * CENTRE_Y - fit_h / 2)
    offset_y = int(min(max(offset_y, 0), height - fit_h))
    return scale, offset_x, offset_y


def _fitted_size(img_w: int, img_h: int, scale: float, width: int, height: int) -> tuple[int, int]:
    fit_w = min(width, max(1, round(img_w * scale)))
    fit_h = min(height, max(1, round(img_h * scale)))
    return fit_w, fit_h


def _background(img: np.ndarray, width: int, height: int) -> np.ndarray:
    """Cover-scaled, blurred and darkened copy of ``img`` filling the whole canvas."""
    h, w = img.shape[:2]
    cover = max(width / w, height / h)
    # Blur at a small working size (fast and the result is soft anyway), then scale up.
    work_w = max(16, width // 4)
    work_h = max(16, height // 4)
    k = cover * work_w / width
    small_w, small_h = max(work_w, round(w * k)), max(work_h, round(h * k))
    small = cv2.resize(img, (small_w, small_h), interpolation=cv2.INTER_AREA)
    x0, y0 = (small_w - work_w) // 2, (small_h - work_h) // 2
    small = small[y0 : y0 + work_h, x0 : x0 + work_w]
    sigma = max(1.0, BACKGROUND_BLUR * work_w)
    small = cv2.GaussianBlur(small, (0, 0), sigmaX=sigma, sigmaY=sigma, borderType=cv2.BORDER_REFLECT)
    small = cv2.convertScaleAbs(small, alpha=BACKGROUND_GAIN, beta=0)
    return cv2.resize(small, (width, height), interpolation=cv2.INTER_CUBIC)


def compose_vertical(img_bgr: np.ndarray, width: int, height: int) -> np.ndarray:
    """Place a BGR painting on a ``width`` x ``height`` canvas (see the module docstring).

    Deterministic: the same input always gives identical pixels.
    """
    if img_bgr.ndim == 2:
        img_bgr = cv2.cvtColor(img_bgr, cv2.COLOR_GRAY2BGR)
    elif img_bgr.shape[2] == 4:
        img_bgr = cv2.cvtColor(img_bgr, cv2.COLOR_BGRA2BGR)
    h, w = img_bgr.shape[:2]
    scale, ox, oy = canvas_transform(w, h, width, height)
    fit_w, fit_h = _fitted_size(w, h, scale, width, height)
    canvas = _background(img_bgr, width, height)
    interp = cv2.INTER_AREA if scale < 1 else cv2.INTER_CUBIC
    fitted = cv2.resize(img_bgr, (fit_w, fit_h), interpolation=interp)
    canvas[oy : oy + fit_h, ox : ox + fit_w] = fitted
    return canvas
