"""The talking portrait on the CPU (:class:`LocalLipSyncer`, step 6's embedded backend).

Two rigs, one frame loop. When dlib finds the face's 68 landmarks (:mod:`.mouth_landmarks`) the *mesh mouth*
moves the real lips: displacement fields anchored on the landmarks (in the mouth's own axes, following the
line where the lips meet) lower the lower lip and the jaw, lift the upper lip a little, widen or round the
corners, close the eyelids for blinks; the parted lips' inside (the polygon of the moved inner-lip landmarks)
is painted dark with a hint of upper teeth. The opening and the shape come from step 2's word timings
(:mod:`.mouth_visemes`: open on vowels, closed on m/b/p and in silences), shaded by the loudness. Without
landmarks, the *warp mouth* deforms the lower third of a face box (the verdict's, or a guess) with the same
opening. Both sway the head slightly, raise and lower it a quarter period later (never still together: a pause
is no frozen picture for step 10), and zoom in slowly (1.0 to 1.08). The backend's ``name`` after a clip
says which rig made it: ``local:mesh-mouth`` or ``local:warp-mouth``. The rigs are in :mod:`.mouth_mesh` and
:mod:`.mouth_warp` (with the crop both work in), the sound side in :mod:`.mouth_audio`; here is the frame loop.
"""

from __future__ import annotations

import logging
import math
import resource
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from vivant.backends.ffmpeg import FrameWriter
from vivant.backends.local.canvas import canvas_transform, compose_vertical, load_bgr
from vivant.backends.local.mouth_audio import loudness_envelope, read_mono, timings_beside
from vivant.backends.local.mouth_landmarks import FaceLandmarks, find_landmarks
from vivant.backends.local.mouth_mesh import MeshRig, blink_track, build_mesh_rig, draw_mesh_cavity
from vivant.backends.local.mouth_visemes import MouthTrack, mouth_track
from vivant.backends.local.mouth_warp import WarpRig, build_warp_rig, draw_warp_cavity, estimate_face
from vivant.backends.local.video import X264, _check_size
from vivant.errors import InputError
from vivant.roles import Box, WordTiming

log = logging.getLogger(__name__)

MESH = "local:mesh-mouth"
WARP = "local:warp-mouth"


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
    breath_px_share: float = 0.015
    """The head's slow rise and fall (a share of the face's height), a quarter period after the sway's main
    swing: when the sway turns back, the head is moving up or down, so the picture is never still."""

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
        mesh: MeshRig | None = None
        warp: WarpRig | None = None
        if landmarks is not None:
            pts = landmarks.points * scale + np.array([ox, oy], np.float32)
            mesh = build_mesh_rig(canvas, pts)
            crop_rig = mesh.crop
            fbox = (float(pts[:17, 0].min()), float(pts[17:27, 1].min()),
                    float(np.ptp(pts[:17, 0])), float(pts[8, 1] - pts[17:27, 1].min()))  # fmt: skip
            nod_px = 0.008 * fbox[3]
        else:
            box = face if face is not None and face.w > 2 and face.h > 2 else estimate_face(iw, ih)
            fbox = (ox + box.x * scale, oy + box.y * scale, box.w * scale, box.h * scale)
            warp = build_warp_rig(canvas, fbox)
            crop_rig = warp.crop
            nod_px = 0.008 * fbox[3]
        self.name = MESH if mesh is not None else WARP
        blinks = blink_track(n, fps) if mesh is not None else np.zeros(n, np.float32)
        c = crop_rig
        source_crop = canvas[c.y0 : c.y1, c.x0 : c.x1].copy()
        work = canvas.copy()
        frame = np.empty_like(canvas)
        map_x = np.empty_like(c.grid_x)
        map_y = np.empty_like(c.grid_y)
        zc_x = min(max(fbox[0] + fbox[2] / 2, 0.0), width - 1.0)
        zc_y = min(max(fbox[1] + fbox[3] / 2, 0.0), height - 1.0)
        theta0 = math.radians(self.sway_degrees)
        breath_px = self.breath_px_share * fbox[3]
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
                lift = nod_px * opening + breath_px * math.cos(2 * math.pi * t / 3.3)
                cv2.scaleAdd(c.nod_y, lift, map_y, dst=map_y)
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
                    inner[:, 1] -= theta * c.rot_y[iy, ix] + lift * c.nod_y[iy, ix]
                    draw_mesh_cavity(crop, mesh, inner, opening)
                else:
                    assert warp is not None
                    cv2.scaleAdd(warp.open_y, opening, map_y, dst=map_y)
                    cv2.remap(source_crop, map_x, map_y, cv2.INTER_LINEAR, dst=crop,
                              borderMode=cv2.BORDER_REPLICATE)  # fmt: skip
                    draw_warp_cavity(crop, warp, opening)
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
