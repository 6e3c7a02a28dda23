"""68 face landmarks (eyes, brows, nose, lips, jaw) with dlib, from the models shipped by PyPI packages.

``dlib-bin`` (a prebuilt dlib wheel, no dependency) runs dlib's HOG frontal face detector (no weights file),
its CNN face detector and its shape predictor; ``face-recognition-models`` ships the weights of both
(``mmod_human_face_detector.dat``, ``shape_predictor_68_face_landmarks.dat``: the iBUG 300-W 68-point
layout, 0-16 jaw, 17-26 brows, 27-35 nose, 36-47 eyes, 48-59 outer lips, 60-67 inner lips). Both are
optional at import time: without them :func:`find_landmarks` returns ``None`` and the lip-sync falls back to
its box warp.
"""

from __future__ import annotations

import functools
import logging
import math
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np

from vivant.roles import Box

log = logging.getLogger(__name__)

DETECT_SIDE = 900  # the detector runs on the image scaled down to this longest side
MIN_SCORE = -0.3  # HOG detector score for a face anywhere
MIN_SCORE_NEAR_HINT = -0.6  # ... and for a face over the box the caller already found
CNN_SIDE = 600  # the second, slower detector (turned heads) runs at this longest side, not upsampled: faces
# from about 80 pixels there (an eighth of the picture), 1-2 CPU s an image
MIN_CNN_CONFIDENCE = 0.5


@dataclass(frozen=True)
class FaceLandmarks:
    points: np.ndarray  # (68, 2) float32, pixel coordinates of the image they were found in
    score: float  # the detector's: HOG score (about -0.6 to 3), or the CNN's confidence
    rect: tuple[float, float, float, float]  # the detector's box (x, y, w, h) the points were fitted in

    def moved(self, scale: float, dx: float, dy: float) -> FaceLandmarks:
        """The same face in an image scaled by ``scale`` and shifted by (dx, dy) (e.g. the video canvas)."""
        x, y, w, h = self.rect
        pts = (self.points * scale + np.array([dx, dy], np.float32)).astype(np.float32)
        return FaceLandmarks(pts, self.score, (x * scale + dx, y * scale + dy, w * scale, h * scale))

    def rect_for(self, points: np.ndarray) -> tuple[float, float, float, float]:
        """This face's detector box moved and scaled with the points (the same face, a little moved)."""
        stable = slice(17, 48)  # brows, nose, eyes: they do not move when the mouth opens
        a0, a1 = self.points[stable].min(axis=0), self.points[stable].max(axis=0)
        b0, b1 = points[stable].min(axis=0), points[stable].max(axis=0)
        k = (b1 - b0) / np.maximum(a1 - a0, 1e-6)
        x, y, w, h = self.rect
        return (
            float(b0[0] + (x - a0[0]) * k[0]),
            float(b0[1] + (y - a0[1]) * k[1]),
            float(w * k[0]),
            float(h * k[1]),
        )

    @property
    def mouth_width(self) -> float:
        return float(np.linalg.norm(self.points[54] - self.points[48]))

    @property
    def lip_gap(self) -> float:
        """Mean distance between the inner upper and inner lower lip (61-67, 62-66, 63-65), in pixels."""
        p = self.points
        return float(np.mean([np.linalg.norm(p[a] - p[b]) for a, b in ((61, 67), (62, 66), (63, 65))]))

    @property
    def opening(self) -> float:
        """The lips' opening relative to the mouth's width (0 when closed, about 0.5 wide open)."""
        return self.lip_gap / max(self.mouth_width, 1e-6)


@functools.lru_cache(maxsize=1)
def _models() -> tuple[Any, Any] | None:
    try:
        import dlib
        import face_recognition_models
    except ImportError as e:
        log.info("face landmarks unavailable (%s): the lip-sync uses its box warp", e)
        return None
    path = face_recognition_models.pose_predictor_model_location()
    try:
        return dlib.get_frontal_face_detector(), dlib.shape_predictor(path)
    except RuntimeError as e:
        log.warning("%s: cannot load the landmark model (%s)", path, e)
        return None


@functools.lru_cache(maxsize=1)
def cnn_face_detector() -> Any | None:
    """dlib's CNN (MMOD) face detector, shipped by ``face-recognition-models`` too: it finds turned and tilted
    heads the HOG detector misses, but costs a few times more, so it is only the second try."""
    if _models() is None:
        return None
    import dlib
    import face_recognition_models

    path = face_recognition_models.cnn_face_detector_model_location()
    try:
        return dlib.cnn_face_detection_model_v1(path)
    except RuntimeError as e:
        log.warning("%s: cannot load the CNN face detector (%s)", path, e)
        return None


def available() -> bool:
    return _models() is not None


def _overlap(a: tuple[float, float, float, float], b: tuple[float, float, float, float]) -> float:
    """Intersection over the smaller box's area."""
    iw = max(0.0, min(a[0] + a[2], b[0] + b[2]) - max(a[0], b[0]))
    ih = max(0.0, min(a[1] + a[3], b[1] + b[3]) - max(a[1], b[1]))
    return iw * ih / max(1e-6, min(a[2] * a[3], b[2] * b[3]))


def _plausible(p: np.ndarray) -> bool:
    """Eyes above the nose above the mouth above the chin, a mouth narrower than the face."""
    eyes_y = p[36:48, 1].mean()
    face_w = float(np.linalg.norm(p[16] - p[0]))
    mouth_w = float(np.linalg.norm(p[54] - p[48]))
    return bool(eyes_y < p[33, 1] < p[51, 1] < p[57, 1] < p[8, 1] + 1 and 0.15 * face_w < mouth_w < 0.8 * face_w)


def _lips_redder(img_bgr: np.ndarray, p: np.ndarray) -> bool:
    """The lips (outer contour 48-59) at least as red (Lab a*) as a ring of skin around them: a fit that put
    the mouth on a cheek (a turned head) fails this. Measured on the shared portraits: lips 0.7 to 20 units
    redder than the ring; a fit that put them on Lady Lilith's cheek (from another detector box), 5 less. A weak
    check: pale faces pass it almost anywhere."""
    mw = float(np.linalg.norm(p[54] - p[48]))
    x0, y0 = np.floor(p[48:60].min(axis=0) - mw).astype(int)
    x1, y1 = np.ceil(p[48:60].max(axis=0) + mw).astype(int)
    x0, y0 = max(0, int(x0)), max(0, int(y0))
    roi = img_bgr[y0 : max(y0 + 1, int(y1)), x0 : max(x0 + 1, int(x1))]
    if roi.size == 0:
        return False
    lips = np.zeros(roi.shape[:2], np.uint8)
    cv2.fillPoly(lips, [np.round(p[48:60] - np.array([x0, y0], np.float32)).astype(np.int32)], 1)
    k = max(3, int(0.35 * mw))
    ring = cv2.dilate(lips, np.ones((k, k), np.uint8)) - lips
    if not lips.any() or not ring.any():
        return False
    a = cv2.cvtColor(roi, cv2.COLOR_BGR2LAB)[..., 1].astype(np.float32)
    return bool(a[lips > 0].mean() >= a[ring > 0].mean())


def find_landmarks(img_bgr: np.ndarray, hint: Box | None = None, *, thorough: bool = True) -> FaceLandmarks | None:
    """The landmarks of the main face of an image, or ``None`` (no model, no face, or an implausible one).

    The HOG detector runs on a copy scaled to at most :data:`DETECT_SIDE` pixels (upsampled once, so faces down
    to about 40 pixels there are found); when it finds none and ``thorough``, the CNN detector tries at
    :data:`CNN_SIDE`. The shape predictor then runs on the full-size image. With ``hint`` (a face box from
    another detector, image pixels) the face over it wins, at a lower score threshold. ``thorough`` also
    checks the lips' colour (:func:`_lips_redder`); measuring video frames skips that and the CNN.
    """
    models = _models()
    if models is None or img_bgr.size == 0:
        return None
    detector, predictor = models
    import dlib

    h, w = img_bgr.shape[:2]
    s = min(1.0, DETECT_SIDE / max(h, w))
    small = cv2.resize(img_bgr, (max(1, round(w * s)), max(1, round(h * s))), interpolation=cv2.INTER_AREA)
    rgb = np.ascontiguousarray(cv2.cvtColor(small, cv2.COLOR_BGR2RGB))
    rects, scores, _ = detector.run(rgb, 1, MIN_SCORE_NEAR_HINT)
    best: tuple[float, Any] | None = None
    for r, sc in zip(rects, scores, strict=False):
        box = (r.left() / s, r.top() / s, r.width() / s, r.height() / s)
        near = hint is not None and _overlap(box, (hint.x, hint.y, hint.w, hint.h)) > 0.4
        if sc < (MIN_SCORE_NEAR_HINT if near else MIN_SCORE):
            continue
        rank = sc + (1.0 if near else 0.0) + 1e-4 * box[2]
        if best is None or rank > best[0]:
            best = (rank, (box, float(sc)))
    cnn = cnn_face_detector() if best is None and thorough else None
    if cnn is not None:
        s = min(1.0, CNN_SIDE / max(h, w))
        small = cv2.resize(img_bgr, (max(1, round(w * s)), max(1, round(h * s))), interpolation=cv2.INTER_AREA)
        for d in cnn(np.ascontiguousarray(cv2.cvtColor(small, cv2.COLOR_BGR2RGB)), 0):
            r, sc = d.rect, float(d.confidence)
            box = (r.left() / s, r.top() / s, r.width() / s, r.height() / s)
            near = hint is not None and _overlap(box, (hint.x, hint.y, hint.w, hint.h)) > 0.4
            if sc < MIN_CNN_CONFIDENCE:
                continue
            rank = sc + (1.0 if near else 0.0) + 1e-4 * box[2]
            if best is None or rank > best[0]:
                best = (rank, (box, sc))
    if best is None:
        return None
    (bx, by, bw, bh), score = best[1]
    full = np.ascontiguousarray(cv2.cvtColor(img_bgr, cv2.COLOR_BGR2RGB))
    rect = dlib.rectangle(round(bx), round(by), round(bx + bw), round(by + bh))
    shape = predictor(full, rect)
    pts = np.array([(p.x, p.y) for p in shape.parts()], np.float32)
    if pts.shape != (68, 2) or not _plausible(pts):
        return None
    if thorough and not _lips_redder(img_bgr, pts):
        log.info("face landmarks refused: the lips they found are not redder than the skin around them")
        return None
    return FaceLandmarks(pts, score, (bx, by, bw, bh))


def track_landmarks(img_bgr: np.ndarray, previous: FaceLandmarks) -> FaceLandmarks | None:
    """Landmarks of the face found before (e.g. in the previous video frame) in a new image: the shape
    predictor alone, on the detector box carried along with the points (for measuring frames quickly)."""
    models = _models()
    if models is None:
        return None
    import dlib

    _, predictor = models
    x, y, w, h = previous.rect
    rect = dlib.rectangle(round(x), round(y), round(x + w), round(y + h))
    shape = predictor(np.ascontiguousarray(cv2.cvtColor(img_bgr, cv2.COLOR_BGR2RGB)), rect)
    pts = np.array([(p.x, p.y) for p in shape.parts()], np.float32)
    if not _plausible(pts):
        return None
    return FaceLandmarks(pts, previous.score, previous.rect_for(pts))


def measure_openings(frames: Iterable[np.ndarray], retry: int = 12, start: FaceLandmarks | None = None) -> np.ndarray:
    """The lips' opening (:attr:`FaceLandmarks.opening`) in each video frame, NaN where no face was found:
    detected (or taken from ``start``, the face in the first frame's pixels), then followed frame to frame;
    when lost, detected again ``retry`` frames later (the detector is slow). For checking a clip's mouth."""
    out: list[float] = []
    previous: FaceLandmarks | None = start
    wait = 0
    for frame in frames:
        found = track_landmarks(frame, previous) if previous is not None else None
        if found is None and wait <= 0:
            found = find_landmarks(frame, thorough=False)
            wait = 0 if found is not None else retry
        wait -= 1
        out.append(found.opening if found is not None else math.nan)
        previous = found
    return np.asarray(out, np.float64)
