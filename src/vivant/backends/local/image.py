"""Image editing on the CPU with OpenCV: restoration, and a rough photo-like approximation.

``LocalImageEditor`` implements :class:`vivant.roles.ImageEditor`:

* ``task="restore"`` is real restoration at classical-image-processing quality: light non-local-means
  denoise, detection of thin crack-like lines (craquelure, scratches) inpainted away, automatic levels,
  grey-world colour balance and a mild unsharp mask.
* ``task="realistic"`` is a stand-in only (``degraded``): it smooths brush texture, grades the colours toward
  a natural photograph and adds film grain. No CPU filter can make a painting photo-real; production needs an
  image model for that step.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Literal

import cv2
import numpy as np

from vivant.backends.local.canvas import load_bgr
from vivant.errors import InputError, WorkspaceError

log = logging.getLogger(__name__)

Task = Literal["restore", "realistic"]

MAX_CRACK_CONTRAST = 40.0
"""Thin lines whose mean black-hat/top-hat response is above this (0-255 grey levels) are kept as drawn."""


# -- restoration ------------------------------------------------------------------------------------------------


def crack_mask(img_bgr: np.ndarray) -> np.ndarray:
    """A 0/255 mask of thin crack-like lines (dark and light), dilated by one pixel for inpainting.

    Black-hat (closing minus image) responds to dark structures thinner than the kernel, top-hat to light
    ones. A pixel is a crack candidate when its response is both absolutely strong and well above the local
    average response, so that evenly textured areas (canvas weave, brushwork) are not taken for cracks.
    Only long, thin connected components are kept: eyes, nostrils and other compact marks are left alone.
    """
    grey = cv2.cvtColor(img_bgr, cv2.COLOR_BGR2GRAY)
    short = min(grey.shape[:2])
    k = 5 if short < 1500 else 7
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (k, k))
    sigma = max(4.0, short / 80)
    mask = np.zeros(grey.shape, np.uint8)
    strength = np.zeros(grey.shape, np.float32)
    for op, floor, ratio in ((cv2.MORPH_BLACKHAT, 8.0, 2.0), (cv2.MORPH_TOPHAT, 14.0, 2.5)):
        resp = cv2.morphologyEx(grey, op, kernel).astype(np.float32)
        local = cv2.GaussianBlur(resp, (0, 0), sigma)
        hit = (resp > floor) & (resp > ratio * local + 2.0)
        mask[hit] = 255
        np.maximum(strength, np.where(hit, resp, 0), out=strength)
    if not mask.any():
        return mask
    count, labels, stats, _ = cv2.connectedComponentsWithStats(mask, connectivity=8)
    min_len = max(8, short // 120)
    w, h = stats[:, cv2.CC_STAT_WIDTH], stats[:, cv2.CC_STAT_HEIGHT]
    area = stats[:, cv2.CC_STAT_AREA]
    long_side = np.maximum(w, h)
    fill = area / np.maximum(w * h, 1)
    mean_resp = np.bincount(labels.ravel(), strength.ravel(), count) / np.maximum(area, 1)
    # Thin: a narrow straight line, or a sparse network (low fill of its bounding box). Very contrasted
    # lines are drawn features (eyelids, lip lines, iris rims), not cracks in the varnish.
    thin = (np.minimum(w, h) <= 4) | (fill < 0.3) | (area <= 2.5 * long_side)
    keep = (long_side >= min_len) & thin & (mean_resp < MAX_CRACK_CONTRAST)
    keep[0] = False
    mask = np.where(keep[labels], 255, 0).astype(np.uint8)
    if np.count_nonzero(mask) > 0.06 * mask.size:  # texture, not cracks: do not repaint a whole region
        log.info("crack mask covers %.1f%% of the image: skipping inpainting", 100 * mask.mean() / 255)
        return np.zeros_like(mask)
    return cv2.dilate(mask, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (3, 3)))


def auto_levels(img_bgr: np.ndarray, low: float = 0.5, high: float = 99.5) -> np.ndarray:
    """Stretch the luminance between two percentiles (same gain on every channel: hue is kept)."""
    grey = cv2.cvtColor(img_bgr, cv2.COLOR_BGR2GRAY)
    lo, hi = np.percentile(grey, [low, high])
    if hi - lo < 8:
        return img_bgr
    gain = min(255.0 / (hi - lo), 2.0)
    lut = np.clip((np.arange(256, dtype=np.float32) - lo) * gain, 0, 255).astype(np.uint8)
    return cv2.LUT(img_bgr, lut)


def grey_world(img_bgr: np.ndarray, strength: float = 0.3) -> np.ndarray:
    """Pull the channel means toward their common mean (varnish yellowing), only part of the way.

    Paintings are legitimately warm, so the correction is limited to ``strength`` and to ±8% per channel.
    """
    f = img_bgr.astype(np.float32)
    means = f.reshape(-1, 3).mean(axis=0) + 1e-3
    target = float(means.mean())
    gains = np.clip((target / means) ** strength, 0.92, 1.08)
    return np.clip(f * gains, 0, 255).astype(np.uint8)


def unsharp(img_bgr: np.ndarray, amount: float = 0.35, sigma: float = 1.2) -> np.ndarray:
    blur = cv2.GaussianBlur(img_bgr, (0, 0), sigma)
    return cv2.addWeighted(img_bgr, 1 + amount, blur, -amount, 0)


def restore(img_bgr: np.ndarray) -> np.ndarray:
    """Denoise, inpaint cracks, auto levels, colour balance, sharpen (same size as the input)."""
    den = cv2.fastNlMeansDenoisingColored(img_bgr, None, 3, 3, 5, 15)
    mask = crack_mask(den)
    if mask.any():
        log.debug("inpainting %d crack pixels", int(np.count_nonzero(mask)))
        den = cv2.inpaint(den, mask, 3, cv2.INPAINT_TELEA)
    out = auto_levels(den)
    out = grey_world(out)
    return unsharp(out)


# -- photo approximation ----------------------------------------------------------------------------------------


def _contrast_curve(strength: float = 0.12) -> np.ndarray:
    x = np.arange(256, dtype=np.float32) / 255.0
    s = x + strength * (x - 0.5) * (1 - np.abs(2 * x - 1))  # gentle S around mid-grey
    return np.clip(s * 255 + 0.5, 0, 255).astype(np.uint8)


def photo_approx(img_bgr: np.ndarray, seed: int = 7) -> np.ndarray:
    """Painting -> photo-like image (a CPU approximation, far from photo-real)."""
    h, w = img_bgr.shape[:2]
    # 1. Smooth the brush texture while keeping edges: a bilateral pass at a reduced size (fast), brought
    #    back as the low-frequency base, plus a little of the original fine detail.
    scale = min(1.0, 900 / max(h, w))
    small = cv2.resize(img_bgr, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA) if scale < 1 else img_bgr
    smooth = cv2.bilateralFilter(small, 9, 40, 7)
    smooth = cv2.edgePreservingFilter(smooth, flags=cv2.RECURS_FILTER, sigma_s=30, sigma_r=0.25)
    if scale < 1:
        smooth = cv2.resize(smooth, (w, h), interpolation=cv2.INTER_CUBIC)
    detail = cv2.subtract(img_bgr.astype(np.int16), cv2.GaussianBlur(img_bgr, (0, 0), 1.0).astype(np.int16))
    base = np.clip(smooth.astype(np.int16) + (detail * 0.35).astype(np.int16), 0, 255).astype(np.uint8)
    # 2. Natural grade: lower the saturation of painterly colours, warm the skin tones, slight S curve.
    hsv = cv2.cvtColor(base, cv2.COLOR_BGR2HSV).astype(np.float32)
    hue, sat = hsv[..., 0], hsv[..., 1]
    skin = ((hue <= 25) | (hue >= 170)) & (sat > 30) & (sat < 190)
    hsv[..., 1] = np.where(skin, sat * 0.95, sat * 0.78)
    graded = cv2.cvtColor(np.clip(hsv, 0, 255).astype(np.uint8), cv2.COLOR_HSV2BGR).astype(np.float32)
    warm_skin = np.array([0.96, 1.0, 1.05], np.float32)
    warm_rest = np.array([0.985, 1.0, 1.02], np.float32)
    warm = np.where(skin[..., None], warm_skin, warm_rest)
    curved = cv2.LUT(np.clip(graded * warm, 0, 255).astype(np.uint8), _contrast_curve())
    # 3. Subtle film grain (deterministic), stronger in the mid-tones.
    rng = np.random.default_rng(seed)
    grain = rng.normal(0.0, 1.0, (h, w)).astype(np.float32)
    grain = cv2.GaussianBlur(grain, (0, 0), 0.6) * 4.0
    lum = cv2.cvtColor(curved, cv2.COLOR_BGR2GRAY).astype(np.float32) / 255.0
    grain *= 0.4 + 2.4 * lum * (1 - lum)
    out = curved.astype(np.float32) + grain[..., None]
    return np.clip(out + 0.5, 0, 255).astype(np.uint8)


# -- the backend ------------------------------------------------------------------------------------------------


def write_image(out: Path, img: np.ndarray) -> None:
    """Write with cv2 (PNG or JPEG by suffix); raise WorkspaceError when it cannot be written."""
    out = Path(out)
    suffix = out.suffix.lower()
    if suffix not in {".png", ".jpg", ".jpeg"}:
        raise InputError(f"{out}: output must be .png, .jpg or .jpeg")
    params = [cv2.IMWRITE_JPEG_QUALITY, 95] if suffix in {".jpg", ".jpeg"} else [cv2.IMWRITE_PNG_COMPRESSION, 3]
    ok, buf = cv2.imencode(suffix, img, params)
    if not ok:
        raise WorkspaceError(f"{out}: could not encode the image")
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        buf.tofile(str(out))
    except OSError as e:
        raise WorkspaceError(f"{out}: cannot write ({e.strerror or e})") from e


class LocalImageEditor:
    """OpenCV image editor (:class:`vivant.roles.ImageEditor`).

    ``name`` and ``degraded`` describe the task the instance is made for, since they are what an attempt row
    records: ``LocalImageEditor()`` or ``LocalImageEditor("restore")`` is ``local:opencv-restore`` (not
    degraded: it is real restoration); ``LocalImageEditor("realistic")`` is ``local:opencv-photo-approx``,
    degraded, because a photo-real portrait cannot be made on a CPU without an image model. ``edit`` does
    whichever task it is asked for.
    """

    def __init__(self, task: Task = "restore") -> None:
        self.task: Task = task
        self.name = "local:opencv-photo-approx" if task == "realistic" else "local:opencv-restore"
        self.degraded = task == "realistic"

    def edit(self, image: Path, out: Path, *, task: Task) -> None:
        """Write the edited image to ``out`` (same size as ``image``)."""
        img = load_bgr(image)
        if task == "restore":
            result = restore(img)
        elif task == "realistic":
            result = photo_approx(img)
        else:
            raise ValueError(f"unknown image task {task!r}")
        assert result.shape == img.shape
        write_image(out, result)
