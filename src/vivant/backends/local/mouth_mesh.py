"""The *mesh mouth*: displacement fields anchored on dlib's 68 landmarks move the real lips, the jaw and the
eyelids; the parted lips' inside is painted dark with a hint of upper teeth."""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from vivant.backends.local.mouth_warp import Crop, crop_around, dark_colour, taper

_UPPER_INNER = [60, 61, 62, 63, 64]
_LOWER_INNER = [64, 65, 66, 67, 60]
OPEN_LIP = 0.36  # lower inner lip travel at opening 1, in mouth widths
OPEN_JAW = 0.27  # chin travel at opening 1
OPEN_UPPER = 0.05  # upper lip lift at opening 1
WIDE = 0.10  # corners outward at spread 1, in half mouth widths
ROUND = 0.22  # corners inward at spread -1


@dataclass
class MeshRig:
    crop: Crop
    bases: dict[str, tuple[np.ndarray, np.ndarray]]  # parameter -> (d map_x, d map_y) per unit
    inner: np.ndarray  # (8, 2) inner lip landmarks 60-67 at rest, crop coordinates
    inner_moves: dict[str, np.ndarray]  # parameter -> (8, 2) forward displacement per unit
    cavity_colour: np.ndarray
    teeth_colour: np.ndarray
    mouth_width: float
    eyes: list[_Eye]


class _MouthFrame:
    """The mouth's axes from the landmarks: u along the lips (left to right corner), v across (down), with v
    measured from the line where the lips meet (a curve through the inner-lip landmarks)."""

    def __init__(self, p: np.ndarray) -> None:
        self.p = p
        left, right = p[48], p[54]
        self.mw = float(np.linalg.norm(right - left))
        self.ex = (right - left) / max(self.mw, 1e-6)
        self.ey = np.array([-self.ex[1], self.ex[0]], np.float32)
        self.c = p[60:68].mean(axis=0)
        mid = 0.5 * (p[_UPPER_INNER] + p[[60, 67, 66, 65, 64]])
        u, v = self._uv_raw(mid[:, 0], mid[:, 1])
        order = np.argsort(u)
        self.line_u, self.line_v = u[order], v[order]
        cu, cv = self._uv_raw(np.array([p[8, 0]]), np.array([p[8, 1]]))
        self.chin_v = float(cv[0] - np.interp(cu[0], self.line_u, self.line_v))
        self.jaw_half = 0.5 * float(abs(np.dot(p[11] - p[5], self.ex)))

    def _uv_raw(self, x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        dx, dy = x - self.c[0], y - self.c[1]
        return dx * self.ex[0] + dy * self.ex[1], dx * self.ey[0] + dy * self.ey[1]

    def uv(self, x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        u, v = self._uv_raw(x, y)
        return u, v - np.interp(u, self.line_u, self.line_v)

    def open_along_v(self, u: np.ndarray, v: np.ndarray, below: np.ndarray) -> np.ndarray:
        """Forward displacement along ey per unit opening: lower lip and jaw down, upper lip a little up."""
        a, mw = 0.5 * self.mw, self.mw
        vc = max(self.chin_v, 0.6 * mw)
        t = taper(v / vc, 1.0)
        low = (OPEN_LIP + (OPEN_JAW - OPEN_LIP) * t) * mw
        low = np.where(v > vc, OPEN_JAW * mw * (1 - taper((v - vc) / (0.6 * vc), 1.0)), low)
        # the lips part in a lens (most in the middle, little at the corners), the jaw drops broad
        lip = np.exp(-((u / (0.8 * a)) ** 2))
        jaw = np.exp(-((u / max(self.jaw_half, a)) ** 4))
        lower = low * (lip + (jaw - lip) * t)
        upper = -OPEN_UPPER * mw * np.exp(-((v / (0.45 * a)) ** 2)) * np.exp(-((u / (0.9 * a)) ** 4))
        return below * lower + (1 - below) * upper

    def spread_along_u(self, u: np.ndarray, v: np.ndarray, amount: float) -> np.ndarray:
        """Forward displacement along ex: the corners move out (amount > 0) or in, the cheeks follow less."""
        a = 0.5 * self.mw
        wu = 1 - taper((np.abs(u) - a) / (0.9 * a), 1.0)
        wv = np.exp(-((v / (0.8 * a)) ** 2))
        return amount * u * wu * wv


@dataclass
class _Eye:
    """One eye's region of the crop, in the eye's axes (u along the corners, v down), with its lids."""

    rows: slice
    cols: slice
    u: np.ndarray
    v: np.ndarray
    ey: np.ndarray
    lid_u: np.ndarray  # the upper lid curve v(u) and the lower one, sampled at lid_u
    upper: np.ndarray
    lower: np.ndarray
    skin: float  # how far above the lid the skin stretches when it closes

    def closing(self, amount: float) -> tuple[np.ndarray, np.ndarray]:
        """The sampling map's change (x, y) over this region for the upper lid lowered by ``amount`` (1 =
        shut): in every column the lid's edge comes down by that share of the eye's opening there, the skin
        above it stretching to follow, the eye below the edge unmoved (covered, not pushed)."""
        up = np.interp(self.u, self.lid_u, self.upper, left=np.nan, right=np.nan)
        lo = np.interp(self.u, self.lid_u, self.lower, left=np.nan, right=np.nan)
        gap = np.nan_to_num(np.maximum(lo - up, 0.0)) * (1.12 * amount)  # a little past the lower lid
        up = np.nan_to_num(up)
        top = up - self.skin
        edge = up + gap
        inside = (self.v > top) & (self.v < edge)
        off = np.where(inside, (self.v - top) * gap / np.maximum(edge - top, 1e-6), 0.0)
        return (-off * self.ey[0]).astype(np.float32), (-off * self.ey[1]).astype(np.float32)


def _eye(p: np.ndarray, idx: list[int], shape: tuple[int, int]) -> _Eye | None:
    """``idx``: outer corner, two upper lid points, inner corner, two lower lid points (dlib's order)."""
    e = p[idx]
    ex = e[3] - e[0]
    width = float(np.linalg.norm(ex))
    if width < 4:
        return None
    ex = ex / width
    ey = np.array([-ex[1], ex[0]], np.float32)
    centre = 0.5 * (e[0] + e[3])

    def uv(q: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        d = q - centre
        return d @ ex, d @ ey

    uu, vu = uv(e[[0, 1, 2, 3]])
    ul, vl = uv(e[[0, 5, 4, 3]])
    order_u, order_l = np.argsort(uu), np.argsort(ul)
    lid_u = np.linspace(min(uu.min(), ul.min()), max(uu.max(), ul.max()), 16)
    upper = np.interp(lid_u, uu[order_u], vu[order_u])
    lower = np.interp(lid_u, ul[order_l], vl[order_l])
    h = float(max((lower - upper).max(), 0.12 * width))
    skin = 1.6 * h
    pad = 0.2 * width
    corners = np.array([centre + a * ex + b * ey for a in (-0.5 * width - pad, 0.5 * width + pad)
                        for b in (float(upper.min()) - skin - pad, float(lower.max()) + pad)])  # fmt: skip
    x0, y0 = np.floor(corners.min(axis=0)).astype(int)
    x1, y1 = np.ceil(corners.max(axis=0)).astype(int) + 1
    x0, y0, x1, y1 = max(0, x0), max(0, y0), min(shape[1], x1), min(shape[0], y1)
    if x0 >= x1 or y0 >= y1:
        return None
    gx, gy = np.meshgrid(np.arange(x0, x1, dtype=np.float32), np.arange(y0, y1, dtype=np.float32))
    u, v = uv(np.stack([gx, gy], axis=-1))
    return _Eye(slice(y0, y1), slice(x0, x1), u, v, ey, lid_u, upper, lower, skin)


def build_mesh_rig(canvas: np.ndarray, pts: np.ndarray) -> MeshRig:
    """The rig's fields from the landmarks (canvas coordinates)."""
    jaw_x0, jaw_x1 = float(pts[:17, 0].min()), float(pts[:17, 0].max())
    brow_y, chin_y = float(pts[17:27, 1].min()), float(pts[8, 1])
    fh = max(chin_y - brow_y, 1.0) * 1.25
    box = (jaw_x0, chin_y - fh, jaw_x1 - jaw_x0, fh)
    c = crop_around(canvas, box)
    p = (pts - np.array([c.x0, c.y0], np.float32)).astype(np.float32)
    frame = _MouthFrame(p)
    gx, gy = c.grid_x, c.grid_y
    u, v = frame.uv(gx, gy)
    below = 1.0 / (1.0 + np.exp(np.clip(-v / 0.7, -60, 60)))
    d_open = frame.open_along_v(u, v, below) * c.win
    d_wide = frame.spread_along_u(u, v, WIDE) * c.win
    d_round = frame.spread_along_u(u, v, -ROUND) * c.win
    ex, ey = frame.ex, frame.ey
    bases = {
        # the sampling map moves against the content
        "open": ((-d_open * ey[0]).astype(np.float32), (-d_open * ey[1]).astype(np.float32)),
        "wide": ((-d_wide * ex[0]).astype(np.float32), (-d_wide * ex[1]).astype(np.float32)),
        "round": ((-d_round * ex[0]).astype(np.float32), (-d_round * ex[1]).astype(np.float32)),
    }
    inner = p[60:68].copy()
    iu, iv = frame.uv(inner[:, 0], inner[:, 1])
    side = np.array([0.5, 0, 0, 0, 0.5, 1, 1, 1], np.float32)  # 60, 64 corners; 61-63 upper; 65-67 lower
    io = frame.open_along_v(iu, iv, side)
    moves = {
        "open": np.outer(io, ey).astype(np.float32),
        "wide": np.outer(frame.spread_along_u(iu, iv, WIDE), ex).astype(np.float32),
        "round": np.outer(frame.spread_along_u(iu, iv, -ROUND), ex).astype(np.float32),
    }
    cx, cy = pts[60:68].mean(axis=0)
    cavity = dark_colour(canvas, float(cx), float(cy), 0.5 * frame.mw, 0.25 * frame.mw)
    lips = canvas[int(cy) - 2 : int(cy) + 3, int(cx) - 2 : int(cx) + 3].reshape(-1, 3).astype(np.float32)
    teeth = np.clip(0.55 * np.array([200, 215, 225], np.float32) + 0.45 * lips.mean(axis=0), 0, 255)
    eyes = [e for e in (_eye(p, [36, 37, 38, 39, 40, 41], gx.shape), _eye(p, [42, 43, 44, 45, 46, 47], gx.shape)) if e]
    return MeshRig(c, bases, inner, moves, cavity, teeth.astype(np.float32), frame.mw, eyes)


def draw_mesh_cavity(crop: np.ndarray, rig: MeshRig, inner: np.ndarray, opening: float) -> None:
    """Paint the inside of the parted lips: the polygon of the moved inner-lip points, dark, soft-edged, with
    a faint band of upper teeth under the upper lip."""
    gap = float(np.mean(inner[5:8, 1]) - np.mean(inner[1:4, 1]))
    if opening < 0.03 or gap < 1.0:
        return
    pad = 3
    xa, ya = np.floor(inner.min(axis=0)).astype(int) - pad
    xb, yb = np.ceil(inner.max(axis=0)).astype(int) + pad + 1
    xa, ya = max(0, int(xa)), max(0, int(ya))
    xb, yb = min(crop.shape[1], int(xb)), min(crop.shape[0], int(yb))
    if xa >= xb or ya >= yb:
        return
    mask = np.zeros((yb - ya, xb - xa), np.uint8)
    poly = np.round((inner - np.array([xa, ya], np.float32)) * 4).astype(np.int32)
    cv2.fillPoly(mask, [poly], 255, lineType=cv2.LINE_AA, shift=2)
    blur = max(0.6, 0.012 * rig.mouth_width)
    alpha = cv2.GaussianBlur(mask.astype(np.float32) / 255.0, (0, 0), blur)
    strength = min(1.0, opening * 3.0) * 0.92
    roi = crop[ya:yb, xa:xb].astype(np.float32)
    # Teeth: a light band just under the upper inner lip, when the mouth is well open.
    colour = np.broadcast_to(rig.cavity_colour, roi.shape).copy()
    if opening > 0.25:
        upper_y = np.interp(np.arange(xa, xb, dtype=np.float32), inner[0:5, 0], inner[0:5, 1]) - ya
        rows = np.arange(yb - ya, dtype=np.float32)[:, None]
        band = np.clip(1 - (rows - upper_y[None, :]) / max(1.0, 0.22 * gap), 0, 1) * (rows >= upper_y[None, :] - 1)
        xs = np.arange(xa, xb, dtype=np.float32)
        centre, half = 0.5 * (inner[0, 0] + inner[4, 0]), max(1.0, 0.5 * abs(inner[4, 0] - inner[0, 0]))
        across = np.clip(1 - ((xs - centre) / (0.8 * half)) ** 2, 0, 1)[None, :]
        k = (band * across * min(1.0, (opening - 0.25) * 2.5) * 0.45)[..., None]
        colour = colour * (1 - k) + rig.teeth_colour * k
    a = (alpha * strength)[..., None]
    crop[ya:yb, xa:xb] = np.clip(roi * (1 - a) + colour * a + 0.5, 0, 255).astype(np.uint8)


def blink_track(n: int, fps: int, seed: int = 7) -> np.ndarray:
    """Eyelid closure per frame in [0, 1]: a blink about 0.2 s long every 2.5 to 5.5 s."""
    rng = np.random.default_rng(seed)
    out = np.zeros(n, np.float32)
    length = max(3, round(0.22 * fps))
    shape = (np.sin(np.pi * (np.arange(length) + 0.5) / length) ** 0.7).astype(np.float32)
    t = float(rng.uniform(1.2, 3.0))
    while (i := round(t * fps)) < n:
        k = min(length, n - i)
        out[i : i + k] = np.maximum(out[i : i + k], shape[:k])
        t += float(rng.uniform(2.5, 5.5))
    return out
