"""Face candidates from several detectors, merged into faces: pure geometry, no model.

A candidate is one detector's box (nudenet's face classes, an OpenCV cascade, dlib's HOG detector). Boxes that
overlap (:data:`MERGE_OVERLAP` of the smaller one, transitively) are one face; a face's *votes* are its distinct
detectors, nudenet counting when its score reaches :data:`WEAK_NUDENET_SCORE`. A face's box is nudenet's best,
else dlib's, else the best cascade's (:data:`BEST_CASCADES`).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from vivant.roles import Box

Rect = tuple[float, float, float, float]
"""x, y, width, height in the image's pixels."""

MERGE_OVERLAP = 0.25
"""Two boxes are one face when their intersection covers this share of the smaller box."""
WEAK_NUDENET_SCORE = 0.2
"""A nudenet face box at or above this score counts as one vote."""
BEST_CASCADES = ("frontalface_alt2", "frontalface_alt", "frontalface_default")
"""Which cascade's box stands for a face that nudenet did not find, best first."""


@dataclass
class Candidate:
    box: Rect
    source: str
    """``nudenet``, ``dlib-hog`` or the Haar cascade's name."""
    score: float
    label: str


@dataclass
class Face:
    members: list[Candidate] = field(default_factory=list)

    @property
    def nudenet_score(self) -> float:
        return max((c.score for c in self.members if c.source == "nudenet"), default=0.0)

    @property
    def hog_score(self) -> float | None:
        """dlib's HOG detector's best score in this face, if it is one of the members."""
        return max((c.score for c in self.members if c.source == "dlib-hog"), default=None)

    @property
    def votes(self) -> int:
        sources = {c.source for c in self.members if c.source != "nudenet"}
        return len(sources) + (1 if self.nudenet_score >= WEAK_NUDENET_SCORE else 0)

    def best(self) -> Candidate:
        nn = [c for c in self.members if c.source == "nudenet"]
        if nn:
            return max(nn, key=lambda c: c.score)
        hog = [c for c in self.members if c.source == "dlib-hog"]
        if hog:
            return max(hog, key=lambda c: c.score)
        order = {name: i for i, name in enumerate(BEST_CASCADES)}
        return min(self.members, key=lambda c: (order.get(c.source, 9), -c.box[2] * c.box[3]))

    def to_box(self) -> Box:
        c = self.best()
        x, y, w, h = c.box
        label = c.label
        others = sorted({m.source for m in self.members if m.source != c.source})
        if others:
            label = f"{label} (+{'+'.join(others)})"
        return Box(x=round(x), y=round(y), w=round(w), h=round(h), score=round(c.score, 3), label=label)


def overlap(a: Rect, b: Rect) -> float:
    """Intersection of ``a`` and ``b`` as a share of the smaller one (0 to 1)."""
    ix = min(a[0] + a[2], b[0] + b[2]) - max(a[0], b[0])
    iy = min(a[1] + a[3], b[1] + b[3]) - max(a[1], b[1])
    if ix <= 0 or iy <= 0:
        return 0.0
    smaller = min(a[2] * a[3], b[2] * b[3])
    return ix * iy / smaller if smaller > 0 else 0.0


def merge_candidates(cands: list[Candidate]) -> list[Face]:
    """Group candidates whose boxes overlap (transitively) into faces."""
    parent = list(range(len(cands)))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for i in range(len(cands)):
        for j in range(i + 1, len(cands)):
            if overlap(cands[i].box, cands[j].box) >= MERGE_OVERLAP:
                parent[root(i)] = root(j)
    groups: dict[int, Face] = {}
    for i, c in enumerate(cands):
        groups.setdefault(root(i), Face()).members.append(c)
    return list(groups.values())
