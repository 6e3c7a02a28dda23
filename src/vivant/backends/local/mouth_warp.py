"""The crop around the face that both mouths work in (with the head's sway and nod), and the *warp mouth*: the
lower third of a face box deformed by the opening, when no landmarks were found."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from vivant.roles import Box


def estimate_face(img_w: int, img_h: int) -> Box:
    """Where a portrait's face usually is (centre, upper part), when no detector found one."""
    w = round(min(img_w * 0.32, img_h * 0.26))
    x = round(img_w / 2 - w / 2)
    y = round(min(img_h * 0.16, img_h - 1.3 * w))
    return Box(x=x, y=max(0, y), w=w, h=round(w * 1.1), score=0.0, label="estimated")


def taper(d: np.ndarray, length: float) -> np.ndarray:
    """0 at d <= 0, smooth rise to 1 at d >= length."""
    t = np.clip(d / max(length, 1e-6), 0, 1)
    return t * t * (3 - 2 * t)


@dataclass
class Crop:
    """A crop of the canvas around the face, its pixel grid, and the head-sway fields (crop coordinates)."""

    x0: int
    y0: int
    x1: int
    y1: int
    grid_x: np.ndarray
    grid_y: np.ndarray
    win: np.ndarray  # 1 inside, 0 at the crop's edges that lie inside the canvas
    rot_x: np.ndarray  # d(map_x)/d(theta)
    rot_y: np.ndarray  # d(map_y)/d(theta)
    nod_y: np.ndarray  # d(map_y)/d(nod pixels)


def crop_around(canvas: np.ndarray, face: tuple[float, float, float, float]) -> Crop:
    H, W = canvas.shape[:2]
    fx, fy, fw, fh = face
    x0, x1 = max(0, int(fx - 0.6 * fw)), min(W, math.ceil(fx + 1.6 * fw))
    y0, y1 = max(0, int(fy - 0.75 * fh)), min(H, math.ceil(fy + 1.95 * fh))
    cw, ch = x1 - x0, y1 - y0
    gx, gy = np.meshgrid(np.arange(cw, dtype=np.float32), np.arange(ch, dtype=np.float32))
    # The window brings every displacement to 0 at the crop edges that lie inside the canvas, so the warped
    # crop joins the untouched canvas without a seam.
    lx, ly = fx - x0, fy - y0
    win = np.ones((ch, cw), np.float32)
    if x0 > 0:
        win *= taper(gx, 0.25 * fw)
    if x1 < W:
        win *= taper(cw - 1 - gx, 0.25 * fw)
    if y0 > 0:
        win *= taper(gy, 0.25 * fh)
    if y1 < H:
        win *= taper(ch - 1 - gy, 0.25 * fh)
    # Head weight: whole head above the chin, fading down the neck; sway is a small rotation about the neck.
    head = (1 - taper(gy - (ly + 1.05 * fh), 0.45 * fh)) * win
    px, py = lx + 0.5 * fw, ly + 1.4 * fh
    rot_x = ((gy - py) * head).astype(np.float32)
    rot_y = (-(gx - px) * head).astype(np.float32)
    return Crop(x0, y0, x1, y1, gx, gy, win, rot_x, rot_y, (-head).astype(np.float32))


def dark_colour(canvas: np.ndarray, cx: float, cy: float, half_w: float, half_h: float) -> np.ndarray:
    """A dark, warm mouth-inside colour from the darkest pixels around the mouth (BGR float32)."""
    H, W = canvas.shape[:2]
    ry0, ry1 = max(0, int(cy - half_h)), min(H, int(cy + half_h) + 1)
    rx0, rx1 = max(0, int(cx - half_w)), min(W, int(cx + half_w) + 1)
    roi = canvas[ry0:ry1, rx0:rx1]
    dark = np.percentile(roi.reshape(-1, 3), 5, axis=0).astype(np.float32) if roi.size else np.full(3, 50.0)
    return np.clip(dark * 0.45 + np.array([4, 6, 18], np.float32), 0, 255).astype(np.float32)


# -- the warp mouth (no landmarks) ------------------------------------------------------------------------------


@dataclass
class WarpRig:
    crop: Crop
    open_y: np.ndarray  # d(map_y)/d(opening), mouth + jaw
    mouth: tuple[float, float, float, float]  # cavity centre x, y, half width, max half height (crop coords)
    cavity_colour: np.ndarray


def build_warp_rig(canvas: np.ndarray, face: tuple[float, float, float, float]) -> WarpRig:
    c = crop_around(canvas, face)
    _, _, fw, fh = face
    lx, ly = face[0] - c.x0, face[1] - c.y0
    gx, gy = c.grid_x, c.grid_y
    # Mouth: lower third of the face box, centred. Content below the lip line moves down, above it a little
    # up (the sampling map moves the other way).
    mx, my = lx + 0.5 * fw, ly + 0.81 * fh
    half_w = 0.2 * fw
    s = 0.07 * fh
    horiz = np.exp(-(((gx - mx) / half_w) ** 4))
    d = (gy - my) / s
    lips = np.tanh(d) * np.exp(-((d / 4.0) ** 2)) * np.where(d > 0, 1.0, 0.35)
    jaw_h = np.exp(-(((gx - mx) / (0.45 * fw)) ** 4))
    chin = ly + 1.02 * fh
    jaw = taper(gy - my, chin - my) * (1 - taper(gy - chin, 0.5 * fh)) * jaw_h
    lip_px, jaw_px = 0.7 * s, 0.035 * fh
    open_y = (-(lip_px * lips * horiz + jaw_px * jaw) * c.win).astype(np.float32)
    cavity = dark_colour(canvas, c.x0 + mx, c.y0 + my, half_w, 2 * s)
    return WarpRig(c, open_y, (mx, my + 0.15 * s, 0.13 * fw, 0.035 * fh), cavity)


def draw_warp_cavity(crop: np.ndarray, rig: WarpRig, opening: float) -> None:
    """Darken an ellipse between the parted lips, as tall as the opening."""
    if opening < 0.04:
        return
    cx, cy, half_w, max_h = rig.mouth
    a = half_w * (0.75 + 0.25 * opening)
    b = max(1.0, max_h * opening)
    xa, xb = max(0, int(cx - a) - 1), min(crop.shape[1], math.ceil(cx + a) + 2)
    ya, yb = max(0, int(cy - b) - 1), min(crop.shape[0], math.ceil(cy + b) + 2)
    if xa >= xb or ya >= yb:
        return
    xs = (np.arange(xa, xb, dtype=np.float32) - cx) / a
    ys = (np.arange(ya, yb, dtype=np.float32) - cy) / b
    r2 = xs[None, :] ** 2 + ys[:, None] ** 2
    alpha = (np.clip(1 - r2, 0, 1) ** 0.8 * (0.7 * min(1.0, opening * 2.5)))[..., None]
    roi = crop[ya:yb, xa:xb].astype(np.float32)
    crop[ya:yb, xa:xb] = (roi * (1 - alpha) + rig.cavity_colour * alpha + 0.5).astype(np.uint8)
