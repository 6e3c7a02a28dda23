"""The talking portrait on the CPU (:class:`LocalLipSyncer`, step 6's embedded backend).

Two rigs, one frame loop. When dlib finds the face's 68 landmarks (:mod:`.mouth_landmarks`) the *mesh mouth*
moves the real lips: displacement fields anchored on the landmarks (in the mouth's own axes, following the
line where the lips meet) lower the lower lip and the jaw, lift the upper lip a little, widen or round the
corners, close the eyelids for blinks; the parted lips' inside (the polygon of the moved inner-lip landmarks)
is painted dark with a hint of upper teeth. The opening and the shape come from step 2's word timings
(:mod:`.mouth_visemes`: open on vowels, closed on m/b/p and in silences), shaded by the loudness. Without
landmarks, the *warp mouth* deforms the lower third of a face box (the verdict's, or a guess) with the same
opening. Both sway the head slightly and zoom in slowly (1.0 to 1.08). The backend's ``name`` after a clip
says which rig made it: ``local:mesh-mouth`` or ``local:warp-mouth``.
"""

from __future__ import annotations

import json
import logging
import math
import resource
import tempfile
import time
import wave
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
from pydantic import TypeAdapter, ValidationError

from vivant.backends.ffmpeg import FrameWriter, run
from vivant.backends.local.canvas import canvas_transform, compose_vertical, load_bgr
from vivant.backends.local.mouth_landmarks import FaceLandmarks, find_landmarks
from vivant.backends.local.mouth_visemes import MouthTrack, mouth_track
from vivant.backends.local.video import X264, _check_size, _frame_count
from vivant.errors import FFmpegError, InputError
from vivant.roles import Box, WordTiming

log = logging.getLogger(__name__)

MESH = "local:mesh-mouth"
WARP = "local:warp-mouth"
_words = TypeAdapter(list[WordTiming])


def read_mono(audio: Path) -> tuple[np.ndarray, int]:
    """Decode audio to mono float32 in [-1, 1] and its sample rate.

    Plain PCM WAV is read with :mod:`wave`; anything else is decoded by ffmpeg to 16 kHz s16 mono.
    """
    audio = Path(audio)
    if not audio.is_file():
        raise InputError(f"{audio}: no such audio file")
    try:
        with wave.open(str(audio), "rb") as w:
            channels, width, rate, frames = w.getnchannels(), w.getsampwidth(), w.getframerate(), w.getnframes()
            raw = w.readframes(frames)
        if width == 1:
            x = (np.frombuffer(raw, np.uint8).astype(np.float32) - 128) / 128
        elif width == 2:
            x = np.frombuffer(raw, "<i2").astype(np.float32) / 32768
        elif width == 3:
            b = np.frombuffer(raw, np.uint8).reshape(-1, 3).astype(np.int32)
            v = b[:, 0] | (b[:, 1] << 8) | (b[:, 2] << 16)
            x = (np.where(v >= 1 << 23, v - (1 << 24), v)).astype(np.float32) / (1 << 23)
        elif width == 4:
            x = np.frombuffer(raw, "<i4").astype(np.float32) / 2**31
        else:
            raise wave.Error(f"sample width {width}")
        x = x[: len(x) // channels * channels].reshape(-1, channels).mean(axis=1)
        return x, rate
    except (wave.Error, EOFError):
        log.debug("%s is not a plain PCM WAV; decoding with ffmpeg", audio)
    with tempfile.TemporaryDirectory(prefix="vivant-pcm-") as tmp:
        raw_path = Path(tmp) / "audio.s16"
        try:
            run(["-i", audio, "-vn", "-ac", "1", "-ar", "16000", "-f", "s16le", raw_path])
        except FFmpegError as e:
            raise InputError(f"{audio}: not a readable audio file") from e
        data = np.fromfile(raw_path, "<i2").astype(np.float32) / 32768
    return data, 16000


def loudness_envelope(samples: np.ndarray, rate: int, fps: int) -> np.ndarray:
    """Mouth opening per video frame in [0, 1]: RMS per frame, in dB relative to the clip's loud parts,
    gated below -26 dB (and below -55 dBFS absolute), then smoothed with a fast attack and slower release."""
    n = _frame_count(len(samples) / rate, fps) if len(samples) else 1
    bounds = np.minimum(np.round(np.arange(n + 1) * rate / fps).astype(np.int64), len(samples))
    cs = np.concatenate([[0.0], np.cumsum(samples.astype(np.float64) ** 2)])
    counts = np.maximum(bounds[1:] - bounds[:-1], 1)
    rms = np.sqrt(np.maximum(cs[bounds[1:]] - cs[bounds[:-1]], 0) / counts)
    ref = float(np.percentile(rms, 95)) if rms.size else 0.0
    if ref < 10 ** (-55 / 20):
        return np.zeros(n, np.float32)
    db = 20 * np.log10(np.maximum(rms, 1e-9) / ref)
    level = np.clip((db + 26.0) / 26.0, 0.0, 1.0)
    level[rms < 10 ** (-55 / 20)] = 0.0
    env = np.empty(n, np.float32)
    y = 0.0
    for i, x in enumerate(level):
        y += (0.65 if x > y else 0.35) * (x - y)
        env[i] = y
    return env


def estimate_face(img_w: int, img_h: int) -> Box:
    """Where a portrait's face usually is (centre, upper part), when no detector found one."""
    w = round(min(img_w * 0.32, img_h * 0.26))
    x = round(img_w / 2 - w / 2)
    y = round(min(img_h * 0.16, img_h - 1.3 * w))
    return Box(x=x, y=max(0, y), w=w, h=round(w * 1.1), score=0.0, label="estimated")


def timings_beside(audio: Path) -> list[WordTiming] | None:
    """Step 2's ``timings.json`` next to its ``narration.wav``, when there is one (``None`` otherwise)."""
    path = Path(audio).with_name("timings.json")
    if not path.is_file():
        return None
    try:
        return _words.validate_json(path.read_bytes())
    except (ValidationError, json.JSONDecodeError, OSError) as e:
        log.warning("%s: unreadable word timings, the mouth follows the loudness (%s)", path, e)
        return None


def _taper(d: np.ndarray, length: float) -> np.ndarray:
    """0 at d <= 0, smooth rise to 1 at d >= length."""
    t = np.clip(d / max(length, 1e-6), 0, 1)
    return t * t * (3 - 2 * t)


# -- the crop both rigs work in ---------------------------------------------------------------------------------


@dataclass
class _Crop:
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


def _crop(canvas: np.ndarray, face: tuple[float, float, float, float]) -> _Crop:
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
        win *= _taper(gx, 0.25 * fw)
    if x1 < W:
        win *= _taper(cw - 1 - gx, 0.25 * fw)
    if y0 > 0:
        win *= _taper(gy, 0.25 * fh)
    if y1 < H:
        win *= _taper(ch - 1 - gy, 0.25 * fh)
    # Head weight: whole head above the chin, fading down the neck; sway is a small rotation about the neck.
    head = (1 - _taper(gy - (ly + 1.05 * fh), 0.45 * fh)) * win
    px, py = lx + 0.5 * fw, ly + 1.4 * fh
    rot_x = ((gy - py) * head).astype(np.float32)
    rot_y = (-(gx - px) * head).astype(np.float32)
    return _Crop(x0, y0, x1, y1, gx, gy, win, rot_x, rot_y, (-head).astype(np.float32))


def _dark_colour(canvas: np.ndarray, cx: float, cy: float, half_w: float, half_h: float) -> np.ndarray:
    """A dark, warm mouth-inside colour from the darkest pixels around the mouth (BGR float32)."""
    H, W = canvas.shape[:2]
    ry0, ry1 = max(0, int(cy - half_h)), min(H, int(cy + half_h) + 1)
    rx0, rx1 = max(0, int(cx - half_w)), min(W, int(cx + half_w) + 1)
    roi = canvas[ry0:ry1, rx0:rx1]
    dark = np.percentile(roi.reshape(-1, 3), 5, axis=0).astype(np.float32) if roi.size else np.full(3, 50.0)
    return np.clip(dark * 0.45 + np.array([4, 6, 18], np.float32), 0, 255).astype(np.float32)


# -- the warp mouth (no landmarks) ------------------------------------------------------------------------------


@dataclass
class _WarpRig:
    crop: _Crop
    open_y: np.ndarray  # d(map_y)/d(opening), mouth + jaw
    mouth: tuple[float, float, float, float]  # cavity centre x, y, half width, max half height (crop coords)
    cavity_colour: np.ndarray


def _build_warp_rig(canvas: np.ndarray, face: tuple[float, float, float, float]) -> _WarpRig:
    c = _crop(canvas, face)
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
    jaw = _taper(gy - my, chin - my) * (1 - _taper(gy - chin, 0.5 * fh)) * jaw_h
    lip_px, jaw_px = 0.7 * s, 0.035 * fh
    open_y = (-(lip_px * lips * horiz + jaw_px * jaw) * c.win).astype(np.float32)
    cavity = _dark_colour(canvas, c.x0 + mx, c.y0 + my, half_w, 2 * s)
    return _WarpRig(c, open_y, (mx, my + 0.15 * s, 0.13 * fw, 0.035 * fh), cavity)


def _draw_warp_cavity(crop: np.ndarray, rig: _WarpRig, opening: float) -> None:
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


# -- the mesh mouth (68 landmarks) ------------------------------------------------------------------------------

_UPPER_INNER = [60, 61, 62, 63, 64]
_LOWER_INNER = [64, 65, 66, 67, 60]
OPEN_LIP = 0.36  # lower inner lip travel at opening 1, in mouth widths
OPEN_JAW = 0.27  # chin travel at opening 1
OPEN_UPPER = 0.05  # upper lip lift at opening 1
WIDE = 0.10  # corners outward at spread 1, in half mouth widths
ROUND = 0.22  # corners inward at spread -1


@dataclass
class _MeshRig:
    crop: _Crop
    bases: dict[str, tuple[np.ndarray, np.ndarray]]  # parameter -> (d map_x, d map_y) per unit
    inner: np.ndarray  # (8, 2) inner lip landmarks 60-67 at rest, crop coordinates
    inner_moves: dict[str, np.ndarray]  # parameter -> (8, 2) forward displacement per unit
    cavity_colour: np.ndarray
    teeth_colour: np.ndarray
    mouth_width: float
    eyes: list[_Eye]


def _smooth(t: np.ndarray) -> np.ndarray:
    t = np.clip(t, 0.0, 1.0)
    return t * t * (3 - 2 * t)


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
        t = _smooth(v / vc)
        low = (OPEN_LIP + (OPEN_JAW - OPEN_LIP) * t) * mw
        low = np.where(v > vc, OPEN_JAW * mw * (1 - _smooth((v - vc) / (0.6 * vc))), low)
        # the lips part in a lens (most in the middle, little at the corners), the jaw drops broad
        lip = np.exp(-((u / (0.8 * a)) ** 2))
        jaw = np.exp(-((u / max(self.jaw_half, a)) ** 4))
        lower = low * (lip + (jaw - lip) * t)
        upper = -OPEN_UPPER * mw * np.exp(-((v / (0.45 * a)) ** 2)) * np.exp(-((u / (0.9 * a)) ** 4))
        return below * lower + (1 - below) * upper

    def spread_along_u(self, u: np.ndarray, v: np.ndarray, amount: float) -> np.ndarray:
        """Forward displacement along ex: the corners move out (amount > 0) or in, the cheeks follow less."""
        a = 0.5 * self.mw
        wu = 1 - _smooth((np.abs(u) - a) / (0.9 * a))
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


def _build_mesh_rig(canvas: np.ndarray, pts: np.ndarray) -> _MeshRig:
    """The rig's fields from the landmarks (canvas coordinates)."""
    jaw_x0, jaw_x1 = float(pts[:17, 0].min()), float(pts[:17, 0].max())
    brow_y, chin_y = float(pts[17:27, 1].min()), float(pts[8, 1])
    fh = max(chin_y - brow_y, 1.0) * 1.25
    box = (jaw_x0, chin_y - fh, jaw_x1 - jaw_x0, fh)
    c = _crop(canvas, box)
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
    cavity = _dark_colour(canvas, float(cx), float(cy), 0.5 * frame.mw, 0.25 * frame.mw)
    lips = canvas[int(cy) - 2 : int(cy) + 3, int(cx) - 2 : int(cx) + 3].reshape(-1, 3).astype(np.float32)
    teeth = np.clip(0.55 * np.array([200, 215, 225], np.float32) + 0.45 * lips.mean(axis=0), 0, 255)
    eyes = [e for e in (_eye(p, [36, 37, 38, 39, 40, 41], gx.shape), _eye(p, [42, 43, 44, 45, 46, 47], gx.shape)) if e]
    return _MeshRig(c, bases, inner, moves, cavity, teeth.astype(np.float32), frame.mw, eyes)


def _draw_mesh_cavity(crop: np.ndarray, rig: _MeshRig, inner: np.ndarray, opening: float) -> None:
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


def _blinks(n: int, fps: int, seed: int = 7) -> np.ndarray:
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


# -- the backend ------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class LipSyncRun:
    """What the last clip was made with (for the step's record, the benchmark and the tests)."""

    backend: str
    frames: int
    track: MouthTrack
    landmarks: FaceLandmarks | None  # in the portrait's pixels
    seconds: float  # wall clock of the frame loop


class LocalLipSyncer:
    """A talking portrait by image warping (:class:`vivant.roles.LipSyncer`), no generative model.

    ``name`` is ``local:mesh-mouth`` when the last clip moved the real lips (landmarks found), else
    ``local:warp-mouth``. Word timings come from ``timings=`` or from the ``timings.json`` next to the audio
    (step 2 writes both); without any, the mouth opens with the loudness alone.
    """

    name = MESH
    degraded = True

    zoom_end: float = 1.08
    sway_degrees: float = 0.6

    def __init__(self, *, landmarks: bool = True) -> None:
        self.use_landmarks = landmarks  # False: always the box warp driven by loudness (`[render] mouth = "warp"`)
        self.last: LipSyncRun | None = None

    def animate(
        self,
        portrait: Path,
        audio: Path,
        out: Path,
        *,
        face: Box | None,
        width: int,
        height: int,
        fps: int,
        timings: Sequence[WordTiming] | None = None,
    ) -> None:
        _check_size(width, height)
        img = load_bgr(portrait)
        ih, iw = img.shape[:2]
        samples, rate = read_mono(audio)
        if samples.size == 0:
            raise InputError(f"{audio}: the audio is empty")
        env = loudness_envelope(samples, rate, fps)
        n = len(env)
        words = list(timings) if timings is not None else timings_beside(audio)
        if words and self.use_landmarks:
            track = mouth_track(words, n, fps, env)
        else:
            track = MouthTrack(env, np.zeros(n, np.float32), ["loud" if x > 0.05 else "rest" for x in env])
        landmarks = find_landmarks(img, face) if self.use_landmarks else None
        canvas = compose_vertical(img, width, height)
        scale, ox, oy = canvas_transform(iw, ih, width, height)
        mesh: _MeshRig | None = None
        warp: _WarpRig | None = None
        if landmarks is not None:
            pts = landmarks.points * scale + np.array([ox, oy], np.float32)
            mesh = _build_mesh_rig(canvas, pts)
            crop_rig = mesh.crop
            fbox = (float(pts[:17, 0].min()), float(pts[17:27, 1].min()),
                    float(np.ptp(pts[:17, 0])), float(pts[8, 1] - pts[17:27, 1].min()))  # fmt: skip
            nod_px = 0.008 * fbox[3]
        else:
            box = face if face is not None and face.w > 2 and face.h > 2 else estimate_face(iw, ih)
            fbox = (ox + box.x * scale, oy + box.y * scale, box.w * scale, box.h * scale)
            warp = _build_warp_rig(canvas, fbox)
            crop_rig = warp.crop
            nod_px = 0.008 * fbox[3]
        self.name = MESH if mesh is not None else WARP
        blinks = _blinks(n, fps) if mesh is not None else np.zeros(n, np.float32)
        c = crop_rig
        source_crop = canvas[c.y0 : c.y1, c.x0 : c.x1].copy()
        work = canvas.copy()
        frame = np.empty_like(canvas)
        map_x = np.empty_like(c.grid_x)
        map_y = np.empty_like(c.grid_y)
        zc_x = min(max(fbox[0] + fbox[2] / 2, 0.0), width - 1.0)
        zc_y = min(max(fbox[1] + fbox[3] / 2, 0.0), height - 1.0)
        theta0 = math.radians(self.sway_degrees)
        started = time.perf_counter()
        with FrameWriter(
            out,
            width=width,
            height=height,
            fps=fps,
            inputs=["-i", audio],
            extra=["-map", "0:v:0", "-map", "1:a:0", *X264, "-c:a", "aac", "-b:a", "160k",
                   "-movflags", "+faststart"],
        ) as writer:  # fmt: skip
            for i in range(n):
                t = i / fps
                opening = float(track.opening[i])
                theta = theta0 * (math.sin(2 * math.pi * t / 3.3) + 0.4 * math.sin(2 * math.pi * t / 1.9 + 1.0))
                cv2.scaleAdd(c.rot_x, theta, c.grid_x, dst=map_x)
                cv2.scaleAdd(c.rot_y, theta, c.grid_y, dst=map_y)
                cv2.scaleAdd(c.nod_y, nod_px * opening, map_y, dst=map_y)
                crop = work[c.y0 : c.y1, c.x0 : c.x1]
                if mesh is not None:
                    spread = float(track.spread[i])
                    params = {"open": opening, "wide": max(spread, 0.0), "round": max(-spread, 0.0)}
                    for key, k in params.items():
                        if k > 1e-3:
                            bx, by = mesh.bases[key]
                            cv2.scaleAdd(bx, k, map_x, dst=map_x)
                            cv2.scaleAdd(by, k, map_y, dst=map_y)
                    if blinks[i] > 0.01:
                        for eye in mesh.eyes:
                            dx, dy = eye.closing(float(blinks[i]))
                            map_x[eye.rows, eye.cols] += dx
                            map_y[eye.rows, eye.cols] += dy
                    cv2.remap(source_crop, map_x, map_y, cv2.INTER_LINEAR, dst=crop,
                              borderMode=cv2.BORDER_REPLICATE)  # fmt: skip
                    inner = mesh.inner.copy()
                    for key in ("open", "wide", "round"):
                        if params[key] > 1e-3:
                            inner += params[key] * mesh.inner_moves[key]
                    # the sway and nod move the lips too (forward = against the sampling map)
                    ix = np.clip(np.round(inner[:, 0]).astype(int), 0, c.grid_x.shape[1] - 1)
                    iy = np.clip(np.round(inner[:, 1]).astype(int), 0, c.grid_x.shape[0] - 1)
                    inner[:, 0] -= theta * c.rot_x[iy, ix]
                    inner[:, 1] -= theta * c.rot_y[iy, ix] + nod_px * opening * c.nod_y[iy, ix]
                    _draw_mesh_cavity(crop, mesh, inner, opening)
                else:
                    assert warp is not None
                    cv2.scaleAdd(warp.open_y, opening, map_y, dst=map_y)
                    cv2.remap(source_crop, map_x, map_y, cv2.INTER_LINEAR, dst=crop,
                              borderMode=cv2.BORDER_REPLICATE)  # fmt: skip
                    _draw_warp_cavity(crop, warp, opening)
                p = i / (n - 1) if n > 1 else 0.0
                z = 1.0 + (self.zoom_end - 1.0) * (p * p * (3 - 2 * p) * 0.5 + p * 0.5)
                m = np.array([[z, 0.0, (1 - z) * zc_x], [0.0, z, (1 - z) * zc_y]], np.float32)
                cv2.warpAffine(work, m, (width, height), dst=frame, flags=cv2.INTER_LINEAR,
                               borderMode=cv2.BORDER_REPLICATE)  # fmt: skip
                writer.write(frame.data)
        elapsed = time.perf_counter() - started
        self.last = LipSyncRun(self.name, n, track, landmarks, elapsed)
        log.info("lip-sync (%s): %d frames %dx%d in %.2f s (%.2f s per s of video)",
                 self.name, n, width, height, elapsed, elapsed * fps / n)  # fmt: skip


def cpu_seconds() -> float:
    """CPU seconds used so far by this process and its finished children (the encoder)."""
    me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime
