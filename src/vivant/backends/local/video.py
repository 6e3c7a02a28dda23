"""Video on the CPU: crossfade transitions (:class:`LocalVideoMaker`); the talking portrait is in
:mod:`vivant.backends.local.mouth`.

Both are stand-ins for generative video models (``degraded``): frames are computed with NumPy/OpenCV and
piped as raw BGR into libx264 through :class:`vivant.backends.ffmpeg.FrameWriter`. Every frame starts from
:func:`vivant.backends.local.canvas.compose_vertical`, so a transition that starts on an image and an outro
that ends on the same image meet on identical pixels and the finished video loops without a jump.
"""

from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import cv2
import numpy as np

from vivant.backends.ffmpeg import FrameWriter
from vivant.backends.local.canvas import canvas_transform, compose_vertical, load_bgr

log = logging.getLogger(__name__)

Style = Literal["transition", "outro"]

X264 = ["-c:v", "libx264", "-preset", "veryfast", "-crf", "20", "-pix_fmt", "yuv420p"]
GOLD = np.array([90, 200, 255], np.float32)  # BGR
SPARKLE_COLOUR = np.array([205, 238, 255], np.float32)  # warm white, BGR


def _smoothstep(x: float) -> float:
    x = min(max(x, 0.0), 1.0)
    return x * x * (3 - 2 * x)


def _frame_count(seconds: float, fps: int) -> int:
    if seconds <= 0 or fps <= 0:
        raise ValueError(f"bad clip length {seconds} s at {fps} fps")
    return max(1, round(seconds * fps))


def _check_size(width: int, height: int) -> None:
    if width <= 0 or height <= 0 or width % 2 or height % 2:
        raise ValueError(f"video size must be positive and even (yuv420p), got {width}x{height}")


# -- first/last-frame clips -------------------------------------------------------------------------------------


def _bloom(canvas: np.ndarray) -> np.ndarray:
    """A golden glow image from a canvas: its blurred highlights tinted gold, over a faint warm veil."""
    h, w = canvas.shape[:2]
    small = cv2.resize(canvas, (max(8, w // 8), max(8, h // 8)), interpolation=cv2.INTER_AREA)
    small = cv2.GaussianBlur(small, (0, 0), max(1.5, w / 8 / 40))
    lum = cv2.cvtColor(small, cv2.COLOR_BGR2GRAY).astype(np.float32) / 255.0
    weight = 0.22 + 0.78 * lum**1.6
    glow = np.clip(weight[..., None] * GOLD, 0, 255).astype(np.uint8)
    return cv2.resize(glow, (w, h), interpolation=cv2.INTER_LINEAR)


def _sparkle_sprite(radius: int) -> np.ndarray:
    """A four-pointed star with a soft core, BGR uint8, (2r+1) pixels square."""
    r = np.arange(-radius, radius + 1, dtype=np.float32)
    dx, dy = np.meshgrid(r, r)
    dist = np.hypot(dx, dy)
    core = np.exp(-0.5 * (dist / max(1.0, radius / 6)) ** 2)
    thick = 0.6 + radius * 0.03
    ray_h = np.exp(-np.abs(dy) / thick) * np.clip(1 - np.abs(dx) / radius, 0, 1) ** 2
    ray_v = np.exp(-np.abs(dx) / thick) * np.clip(1 - np.abs(dy) / radius, 0, 1) ** 2
    halo = 0.25 * np.exp(-0.5 * (dist / max(1.0, radius / 2.5)) ** 2)
    value = np.clip(core + 0.85 * (ray_h + ray_v) + halo, 0, 1)
    return np.clip(value[..., None] * SPARKLE_COLOUR, 0, 255).astype(np.uint8)


@dataclass(frozen=True)
class _Sparkle:
    x: int
    y: int
    sprite: np.ndarray
    birth: float  # seconds
    life: float  # seconds


def _sparkles(
    canvas: np.ndarray, rect: tuple[int, int, int, int], start: float, end: float, count: int = 12
) -> list[_Sparkle]:
    """Deterministic sparkles on the brightest of some random points of the painting area."""
    rng = np.random.default_rng(20240611)
    x0, y0, w, h = rect
    width = canvas.shape[1]
    grey = cv2.cvtColor(canvas, cv2.COLOR_BGR2GRAY)
    sizes = [max(4, round(width * f)) for f in (0.016, 0.024, 0.034)]
    margin = max(sizes) + 1
    if w <= 2 * margin or h <= 2 * margin:
        return []
    xs = rng.integers(x0 + margin, x0 + w - margin, count * 4)
    ys = rng.integers(y0 + margin, y0 + h - margin, count * 4)
    order = np.argsort(-grey[ys, xs].astype(np.int32), kind="stable")[:count]
    sprites = {s: _sparkle_sprite(s) for s in sizes}
    life = min(0.9, max(0.25, 0.35 * (end - start)))
    births = np.sort(rng.uniform(start, max(start, end - life), count))
    return [
        _Sparkle(int(xs[j]), int(ys[j]), sprites[sizes[int(rng.integers(0, len(sizes)))]], float(b), life)
        for j, b in zip(order, births, strict=False)
    ]


def _add_sparkles(frame: np.ndarray, sparkles: list[_Sparkle], t: float) -> None:
    for s in sparkles:
        age = (t - s.birth) / s.life
        if not 0.0 < age < 1.0:
            continue
        k = math.sin(math.pi * age) ** 2
        r = s.sprite.shape[0] // 2
        roi = frame[s.y - r : s.y + r + 1, s.x - r : s.x + r + 1]
        cv2.addWeighted(roi, 1.0, s.sprite, k, 0.0, dst=roi)


class LocalVideoMaker:
    """First/last-frame clips as crossfades with a golden glow (:class:`vivant.roles.VideoMaker`).

    A CPU stand-in for an image-to-video model: nothing moves, the painting dissolves into the photo (with a
    warm bloom and a few sparkles, ``style="transition"``) or the photo back into the painting
    (``style="outro"``, whose last frames are exactly the composed ``last`` image, so the video loops).
    """

    name = "local:ffmpeg-crossfade"
    degraded = True

    def first_last(
        self,
        first: Path,
        last: Path,
        out: Path,
        *,
        seconds: float,
        style: Style,
        width: int,
        height: int,
        fps: int,
    ) -> None:
        _check_size(width, height)
        n = _frame_count(seconds, fps)
        img_a, img_b = load_bgr(first), load_bgr(last)
        a = compose_vertical(img_a, width, height)
        b = compose_vertical(img_b, width, height)
        glow_a, glow_b = _bloom(a), _bloom(b)
        if style == "transition":
            fade = (0.12, 0.88)  # crossfade window, in fractions of the clip
            glow_span, glow_peak = (0.04, 0.96), 0.6
            scale, ox, oy = canvas_transform(img_b.shape[1], img_b.shape[0], width, height)
            rect = (ox, oy, round(img_b.shape[1] * scale), round(img_b.shape[0] * scale))
            dur = n / fps
            sparkles = _sparkles(b, rect, fade[0] * dur + 0.1 * dur, fade[1] * dur)
        elif style == "outro":
            fade = (0.08, 0.78)  # then hold the painting, exactly
            glow_span, glow_peak = (0.04, 0.78), 0.22
            sparkles = []
        else:
            raise ValueError(f"unknown clip style {style!r}")
        started = time.perf_counter()
        blend = np.empty_like(a)
        bloom = np.empty_like(a)
        with FrameWriter(
            out, width=width, height=height, fps=fps, extra=["-an", *X264, "-movflags", "+faststart"]
        ) as writer:
            for i in range(n):
                p = i / (n - 1) if n > 1 else 1.0
                mix = _smoothstep((p - fade[0]) / (fade[1] - fade[0]))
                g = glow_peak * math.sin(math.pi * min(max((p - glow_span[0]) / (glow_span[1] - glow_span[0]), 0), 1))
                g = g * g / max(glow_peak, 1e-6)
                if mix <= 0.0:
                    np.copyto(blend, a)
                elif mix >= 1.0:
                    np.copyto(blend, b)
                else:
                    cv2.addWeighted(a, 1.0 - mix, b, mix, 0.0, dst=blend)
                if g > 1e-3:
                    cv2.addWeighted(glow_a, g * (1.0 - mix), glow_b, g * mix, 0.0, dst=bloom)
                    cv2.add(blend, bloom, dst=blend)
                if sparkles:
                    _add_sparkles(blend, sparkles, i / fps)
                writer.write(blend.data)  # no copy: the buffer is written before it changes
        elapsed = time.perf_counter() - started
        log.info("%s clip: %d frames %dx%d in %.2f s (%.2f s per s of video)",
                 style, n, width, height, elapsed, elapsed * fps / n)  # fmt: skip
