"""Video on the CPU: crossfade transitions (:class:`LocalVideoMaker`) and a warped talking portrait
(:class:`LocalLipSyncer`).

Both are stand-ins for generative video models (``degraded``): frames are computed with NumPy/OpenCV and
piped as raw BGR into libx264 through :class:`vivant.backends.ffmpeg.FrameWriter`. Every frame starts from
:func:`vivant.backends.local.canvas.compose_vertical`, so a transition that starts on an image and an outro
that ends on the same image meet on identical pixels and the finished video loops without a jump.
"""

from __future__ import annotations

import logging
import math
import tempfile
import time
import wave
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import cv2
import numpy as np

from vivant.backends.ffmpeg import FrameWriter, run
from vivant.backends.local.canvas import canvas_transform, compose_vertical, load_bgr
from vivant.errors import FFmpegError, InputError
from vivant.roles import Box

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


# -- lip sync ---------------------------------------------------------------------------------------------------


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


@dataclass
class _FaceRig:
    """Precomputed displacement basis over a crop of the canvas around the face (crop coordinates)."""

    x0: int
    y0: int
    x1: int
    y1: int
    grid_x: np.ndarray
    grid_y: np.ndarray
    rot_x: np.ndarray  # d(map_x)/d(theta)
    rot_y: np.ndarray  # d(map_y)/d(theta)
    open_y: np.ndarray  # d(map_y)/d(opening), mouth + jaw
    nod_y: np.ndarray  # d(map_y)/d(nod pixels)
    mouth: tuple[float, float, float, float]  # cavity centre x, y, half width, max half height (crop coords)
    cavity_colour: np.ndarray


def _taper(d: np.ndarray, length: float) -> np.ndarray:
    """0 at d <= 0, smooth rise to 1 at d >= length."""
    t = np.clip(d / max(length, 1e-6), 0, 1)
    return t * t * (3 - 2 * t)


def _build_rig(canvas: np.ndarray, face: tuple[float, float, float, float]) -> _FaceRig:
    H, W = canvas.shape[:2]
    fx, fy, fw, fh = face
    x0, x1 = max(0, int(fx - 0.6 * fw)), min(W, math.ceil(fx + 1.6 * fw))
    y0, y1 = max(0, int(fy - 0.75 * fh)), min(H, math.ceil(fy + 1.95 * fh))
    cw, ch = x1 - x0, y1 - y0
    gx, gy = np.meshgrid(np.arange(cw, dtype=np.float32), np.arange(ch, dtype=np.float32))
    # Everything is relative to the crop; the window brings every displacement to 0 at the crop edges that
    # lie inside the canvas, so the warped crop joins the untouched canvas without a seam.
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
    # Head weight: whole head above the chin, fading down the neck.
    head = (1 - _taper(gy - (ly + 1.05 * fh), 0.45 * fh)) * win
    # Head sway: a small rotation about the neck.
    px, py = lx + 0.5 * fw, ly + 1.4 * fh
    rot_x = ((gy - py) * head).astype(np.float32)
    rot_y = (-(gx - px) * head).astype(np.float32)
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
    open_y = (-(lip_px * lips * horiz + jaw_px * jaw) * win).astype(np.float32)
    nod_y = (-head).astype(np.float32)
    # Inside of the mouth: a dark, warm colour taken from the darkest pixels around the mouth.
    ry0, ry1 = y0 + max(0, int(my - 2 * s)), y0 + int(my + 2 * s) + 1
    rx0, rx1 = x0 + max(0, int(mx - half_w)), x0 + int(mx + half_w) + 1
    mouth_roi = canvas[ry0:ry1, rx0:rx1]
    if mouth_roi.size:
        dark = np.percentile(mouth_roi.reshape(-1, 3), 5, axis=0).astype(np.float32)
    else:
        dark = np.array([40, 40, 60], np.float32)
    cavity = np.clip(dark * 0.45 + np.array([4, 6, 18], np.float32), 0, 255).astype(np.float32)
    return _FaceRig(
        x0, y0, x1, y1, gx, gy, rot_x, rot_y, open_y, nod_y,
        (mx, my + 0.15 * s, 0.13 * fw, 0.035 * fh), cavity,
    )  # fmt: skip


def _draw_cavity(crop: np.ndarray, rig: _FaceRig, opening: float) -> None:
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


class LocalLipSyncer:
    """A talking portrait by image warping (:class:`vivant.roles.LipSyncer`), no model.

    Per video frame: the audio's loudness opens the mouth and lowers the jaw (a smooth displacement field
    around the lower third of the face box, plus a dark mouth interior), the head sways very slightly, and a
    slow Ken Burns zoom (1.0 to 1.08) closes in on the face. The mouth does not form phonemes: degraded.
    """

    name = "local:opencv-mouth-warp"
    degraded = True

    zoom_end: float = 1.08
    sway_degrees: float = 0.6

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
    ) -> None:
        _check_size(width, height)
        img = load_bgr(portrait)
        ih, iw = img.shape[:2]
        samples, rate = read_mono(audio)
        if samples.size == 0:
            raise InputError(f"{audio}: the audio is empty")
        env = loudness_envelope(samples, rate, fps)
        n = len(env)
        box = face if face is not None and face.w > 2 and face.h > 2 else estimate_face(iw, ih)
        canvas = compose_vertical(img, width, height)
        scale, ox, oy = canvas_transform(iw, ih, width, height)
        fbox = (ox + box.x * scale, oy + box.y * scale, box.w * scale, box.h * scale)
        rig = _build_rig(canvas, fbox)
        source_crop = canvas[rig.y0 : rig.y1, rig.x0 : rig.x1].copy()
        work = canvas.copy()
        frame = np.empty_like(canvas)
        map_x = np.empty_like(rig.grid_x)
        map_y = np.empty_like(rig.grid_y)
        zc_x = min(max(fbox[0] + fbox[2] / 2, 0.0), width - 1.0)
        zc_y = min(max(fbox[1] + fbox[3] / 2, 0.0), height - 1.0)
        theta0 = math.radians(self.sway_degrees)
        nod_px = 0.008 * fbox[3]
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
                opening = float(env[i])
                theta = theta0 * (math.sin(2 * math.pi * t / 3.3) + 0.4 * math.sin(2 * math.pi * t / 1.9 + 1.0))
                cv2.scaleAdd(rig.rot_x, theta, rig.grid_x, dst=map_x)
                cv2.scaleAdd(rig.rot_y, theta, rig.grid_y, dst=map_y)
                cv2.scaleAdd(rig.open_y, opening, map_y, dst=map_y)
                cv2.scaleAdd(rig.nod_y, nod_px * opening, map_y, dst=map_y)
                crop = work[rig.y0 : rig.y1, rig.x0 : rig.x1]
                cv2.remap(source_crop, map_x, map_y, cv2.INTER_LINEAR, dst=crop, borderMode=cv2.BORDER_REPLICATE)
                _draw_cavity(crop, rig, opening)
                p = i / (n - 1) if n > 1 else 0.0
                z = 1.0 + (self.zoom_end - 1.0) * (p * p * (3 - 2 * p) * 0.5 + p * 0.5)
                m = np.array([[z, 0.0, (1 - z) * zc_x], [0.0, z, (1 - z) * zc_y]], np.float32)
                cv2.warpAffine(work, m, (width, height), dst=frame, flags=cv2.INTER_LINEAR,
                               borderMode=cv2.BORDER_REPLICATE)  # fmt: skip
                writer.write(frame.data)
        elapsed = time.perf_counter() - started
        log.info("lip-sync: %d frames %dx%d in %.2f s (%.2f s per s of video)",
                 n, width, height, elapsed, elapsed * fps / n)  # fmt: skip
