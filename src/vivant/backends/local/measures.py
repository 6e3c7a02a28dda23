"""What step 0's models saw in one image, raw, so that the decision (:mod:`.decide`) is a pure function of it.

:class:`Measures` holds every detection (nudenet's classes on the whole image and on 2 x 2 tiles, OpenCV's
cascades, dlib's HOG detector and, when nothing else proposed a face, its CNN detector), the apparent age and
gender of the likeliest faces, the blur and the size. It reads and writes plain JSON, so
``benchmarks/bench_prefilter.py --cache`` can run the models once and study the thresholds of ``[checks]``
in seconds.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from vivant.backends.local.faceattr import FaceAttributes
from vivant.backends.local.faces import Rect, overlap

VERSION = 2
"""Bumped when the measuring changes, so that a stale cache is measured again."""

SOURCES = ("nudenet", "nudenet-tile", "dlib-hog", "dlib-cnn", "profile-full")
"""Detection sources besides the Haar cascades' names (a cascade near a proposal is named after its file)."""


@dataclass(frozen=True)
class Detection:
    source: str
    """``nudenet`` (whole image), ``nudenet-tile``, ``dlib-hog``, ``dlib-cnn``, ``profile-full`` (the profile
    cascade over the whole image) or a cascade's name (``frontalface_default``...)."""
    label: str
    """nudenet's class (``FACE_FEMALE``, ``ARMPITS_EXPOSED``...), ``haar:<cascade>``, ``dlib-hog`` or ``dlib-cnn``."""
    score: float
    """nudenet's or dlib's score (the CNN's confidence); 0 for a cascade."""
    box: Rect
    skin: float | None = None
    """Share of skin-coloured pixels in the box's middle (cascade boxes at least 15% of the height only)."""


@dataclass(frozen=True)
class FaceAge:
    """The face model's reading of one likely face."""

    box: Rect
    attributes: FaceAttributes


@dataclass
class Measures:
    width: int
    height: int
    blur: float
    """Variance of the Laplacian at 512 px."""
    detections: list[Detection] = field(default_factory=list)
    faces: list[FaceAge] = field(default_factory=list)
    seconds: float = 0.0
    """How long the models took on this image."""

    def of(self, *sources: str) -> list[Detection]:
        return [d for d in self.detections if d.source in sources]

    def attributes_at(self, box: Rect, min_overlap: float = 0.5) -> FaceAttributes | None:
        """The face model's reading of the face that best overlaps ``box``, if one does enough."""
        best = max(self.faces, key=lambda f: overlap(f.box, box), default=None)
        if best is None or overlap(best.box, box) < min_overlap:
            return None
        return best.attributes

    def to_json(self) -> dict[str, Any]:
        return {"version": VERSION, **asdict(self)}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Measures:
        if data.get("version") != VERSION:
            raise ValueError(f"measures of version {data.get('version')}, not {VERSION}")
        return cls(
            width=int(data["width"]),
            height=int(data["height"]),
            blur=float(data["blur"]),
            detections=[
                Detection(d["source"], d["label"], float(d["score"]), _rect(d["box"]), d.get("skin"))
                for d in data["detections"]
            ],
            faces=[FaceAge(_rect(f["box"]), FaceAttributes(**f["attributes"])) for f in data["faces"]],
            seconds=float(data.get("seconds", 0.0)),
        )


def _rect(v: list[float]) -> Rect:
    x, y, w, h = (float(a) for a in v)
    return (x, y, w, h)
