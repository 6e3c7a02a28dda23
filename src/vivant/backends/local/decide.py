"""Step 0's decision on the CPU: a pure function of the raw measures (:mod:`.measures`) and ``[checks]``.

:func:`decide` turns what the models saw into a :class:`~vivant.roles.Verdict`, every check with the measured
value and the threshold it was held to, so that the benchmark can re-decide cached measures in seconds:

* ``resolution``: the shortest side, at least ``min_side_px``;
* ``people``, exactly one. Faces (:func:`find_faces`): nudenet's face boxes (whole image, and the tiles' from
  ``face_score_min`` when ``tile_faces``), the cascades' boxes and dlib's HOG boxes from ``hog_face_score``,
  merged when they overlap; a face counts when nudenet's score reaches ``face_score_min``, a HOG box is in it, or
  three detectors agree; with none, dlib's best HOG box from ``hog_min_score``, then the CNN's boxes from
  ``cnn_min_score`` (each a face), then (``skin_fallback_face``) the largest skin-coloured cascade box. The
  largest face is the main sitter's; another counts when it is ``secondary_face_ratio`` of its height, else it
  is a background figure, and (``second_face_needs_model``) not when only the cascades saw it while a model saw
  the main face. Then (``profile_faces``) a face the
  profile cascade sees over the whole image, apart from every face and as tall, and (``body_people``) torso parts
  from ``body_score_min`` further than ``body_distance`` face heights from every counted face, one person per
  group. With no face at all, a title with a portrait word (``title_portrait``, ``portrait_words``) and any
  detection is one sitter, face unmeasured;
* ``face_size``: the main face's height, at least ``min_face_fraction`` of the image's
  (``portrait_min_face_fraction`` when the title has a portrait word);
* ``blur``: the Laplacian's variance, at least ``min_blur_variance``;
* ``nudity``: no exposed part above ``nudity_max_score`` (the tiles' too with ``nudity_tiles``; parts centred in a
  face ignored with ``nudity_outside_faces``), and
  ``nudity_parts``: fewer than ``nudity_bare_parts`` kinds of bare parts from ``nudity_part_score``;
* ``child``: no child word in the title, tags or description (``ran=False``: no pixel looked at);
  ``child_face``: the main face's apparent age over ``child_max_age`` unless the model is less sure than
  ``child_age_confidence``, and (``child_face_ratio`` above 0) the same for other faces that tall;
* the sitter's gender (:mod:`.sitter`): catalog, title words, then the main face's.
"""

from __future__ import annotations

import math
import re

from vivant.backends.local.faces import MERGE_OVERLAP, Candidate, Face, Rect, merge_candidates, overlap
from vivant.backends.local.measures import Detection, Measures
from vivant.backends.local.sitter import decide_sitter, face_gender
from vivant.config import ChecksSettings
from vivant.roles import Box, Check, Gender, Painting, Sitter, Verdict

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
BARE_CLASSES = EXPOSED_CLASSES | {"BELLY_EXPOSED", "ARMPITS_EXPOSED", "FEET_EXPOSED", "MALE_BREAST_EXPOSED"}
"""Bare skin of any kind: several kinds at once make a nude even when no part scores high."""
TORSO_CLASSES = frozenset(
    {
        "FEMALE_BREAST_EXPOSED",
        "FEMALE_BREAST_COVERED",
        "MALE_BREAST_EXPOSED",
        "BELLY_EXPOSED",
        "BELLY_COVERED",
        "ARMPITS_EXPOSED",
        "ARMPITS_COVERED",
    }
)
"""nudenet's classes that place a body (feet and buttocks are left out: a reclining figure's lie far away)."""
MIN_VOTES = 3
"""A face that nudenet is not confident about counts when this many detectors agree on it."""
SKIN_MIN_SHARE = 0.35
"""Fallback face: this share of the box's middle must be skin-coloured."""
CHILD_NOTE = "title and metadata words, and the main face's apparent age"


def find_faces(m: Measures, checks: ChecksSettings) -> tuple[list[Box], int, bool]:
    """The confirmed faces (largest first), how many candidate faces there were, and whether the skin fallback
    gave the one face."""
    cands = [
        Candidate(d.box, "nudenet", d.score, d.label)
        for d in m.detections
        if d.label in FACE_CLASSES
        and (
            d.source == "nudenet"
            or (checks.tile_faces and d.source == "nudenet-tile" and d.score >= checks.face_score_min)
        )
    ]
    haar = [d for d in m.detections if d.label.startswith("haar:") and d.source != "profile-full"]
    cands += [Candidate(d.box, d.source, 0.0, d.label) for d in haar]
    if checks.hog_face_score is not None:
        cands += [
            Candidate(d.box, "dlib-hog", d.score, "dlib-hog")
            for d in m.of("dlib-hog")
            if d.score >= checks.hog_face_score
        ]
    groups = merge_candidates(cands)
    confirmed = [
        g for g in groups if g.nudenet_score >= checks.face_score_min or g.votes >= MIN_VOTES or g.hog_score is not None
    ]
    fallback = False
    if not confirmed and checks.hog_min_score is not None:
        hog = [d for d in m.of("dlib-hog") if d.score >= checks.hog_min_score]
        if hog:
            d = max(hog, key=lambda d: d.score)
            confirmed = [Face([Candidate(d.box, "dlib-hog", d.score, "dlib-hog")])]
    if not confirmed and checks.cnn_min_score is not None:
        cnn = [
            Candidate(d.box, d.source, d.score, d.label) for d in m.of("dlib-cnn") if d.score >= checks.cnn_min_score
        ]
        confirmed = merge_candidates(cnn)  # every one is a face: a second one is a second person
    if not confirmed and checks.skin_fallback_face:
        skin = [d for d in haar if d.skin is not None and d.skin >= SKIN_MIN_SHARE]
        if skin:
            d = max(skin, key=lambda d: d.box[2] * d.box[3])
            confirmed = [Face([Candidate(d.box, d.source, 0.0, d.label)])]
            fallback = True
    faces = sorted((g.to_box() for g in confirmed), key=lambda b: b.w * b.h, reverse=True)
    return faces, len(groups), fallback


def profile_faces(m: Measures, faces: list[Box], checks: ChecksSettings) -> list[Box]:
    """Faces that OpenCV's profile cascade finds over the whole image (it asks for 5 neighbours there), apart
    from every face found and at least ``secondary_face_ratio`` of the main one's height: a second sitter
    turned sideways, which the frontal detectors miss."""
    if not checks.profile_faces or not faces:
        return []
    main = faces[0]
    out: list[Box] = []
    for d in m.of("profile-full"):
        if d.box[3] < checks.secondary_face_ratio * main.h:
            continue
        if any(overlap(d.box, _rect(f)) > 0 for f in [*faces, *out]):
            continue
        x, y, w, h = d.box
        out.append(Box(x=round(x), y=round(y), w=round(w), h=round(h), score=0.0, label="haar:profileface"))
    return out


def cascade_only(face: Box, m: Measures, checks: ChecksSettings) -> bool:
    """Whether only the Haar cascades saw ``face``: no nudenet box (whole image or tile) and no dlib HOG box
    from ``hog_min_score`` over it."""
    if not face.label.startswith("haar:"):
        return False
    least = checks.hog_min_score if checks.hog_min_score is not None else math.inf
    hog = [d for d in m.of("dlib-hog") if d.score >= least]
    return not any(overlap(d.box, _rect(face)) >= MERGE_OVERLAP for d in hog)


def in_face(d: Detection, faces: list[Box]) -> bool:
    """Whether the centre of ``d`` lies inside one of ``faces``."""
    cx, cy = d.box[0] + d.box[2] / 2, d.box[1] + d.box[3] / 2
    return any(f.x <= cx <= f.x + f.w and f.y <= cy <= f.y + f.h for f in faces)


def body_people(m: Measures, faces: list[Box], checks: ChecksSettings) -> list[Detection]:
    """Torso parts (one per person: the first of each group) further than ``body_distance`` face heights from
    every counted face, grouped by the same distance: each group is one more person."""
    if not checks.body_people or not faces:
        return []
    parts = [
        d for d in m.of("nudenet", "nudenet-tile") if d.label in TORSO_CLASSES and d.score >= checks.body_score_min
    ]
    far = [d for d in parts if all(_distance(d.box, _rect(f)) > checks.body_distance * f.h for f in faces)]
    people: list[Detection] = []
    for d in sorted(far, key=lambda d: -d.score):
        if all(_distance(d.box, p.box) > checks.body_distance * faces[0].h for p in people):
            people.append(d)
    return people


def _rect(b: Box) -> Rect:
    return (float(b.x), float(b.y), float(b.w), float(b.h))


def _distance(a: Rect, b: Rect) -> float:
    """Distance between the boxes' centres."""
    return float(math.hypot(a[0] + a[2] / 2 - b[0] - b[2] / 2, a[1] + a[3] / 2 - b[1] - b[3] / 2))


def decide(
    m: Measures, painting: Painting, checks: ChecksSettings, *, backend: str = "local", degraded: bool = False
) -> Verdict:
    """The verdict on one painting from its measures."""
    faces, _, fallback = find_faces(m, checks)
    reasons: list[str] = []
    results: list[Check] = []

    # resolution
    side = min(m.width, m.height)
    ok = side >= checks.min_side_px
    results.append(Check(name="resolution", passed=ok, value=side, threshold=checks.min_side_px))
    if not ok:
        reasons.append(f"image too small: {side} px (min {checks.min_side_px})")

    # people: the main face and every face at least secondary_face_ratio of its height
    main = faces[0] if faces else None
    counted = [f for f in faces if main is not None and f.h >= checks.secondary_face_ratio * main.h]
    background = len(faces) - len(counted)
    doubtful: list[Box] = []
    if checks.second_face_needs_model and main is not None and not cascade_only(main, m, checks):
        doubtful = [f for f in counted[1:] if cascade_only(f, m, checks)]
        counted = [f for f in counted if f not in doubtful]
    profiles = profile_faces(m, faces, checks)
    bodies = body_people(m, counted, checks)
    people = len(counted) + len(profiles) + len(bodies)
    notes = ["one skin-coloured Haar face (no confident detection)"] if fallback else []
    titled = title_portrait(m, painting, checks) if main is None else None
    if titled:
        people = 1
        notes.append(f"no face measured; the title says '{titled}' and a detector saw something: one sitter")
    ok = 1 <= people <= checks.max_people
    if main is not None and len(faces) > 1:
        sizes = ", ".join(f"{f.h / main.h:.2f}" for f in faces[1:])
        notes.append(
            f"{len(faces)} faces, heights vs the main one {sizes}"
            f" (min {checks.secondary_face_ratio:g} to count; {background} background figure(s))"
        )
    if main is not None and doubtful:
        sizes = ", ".join(f"{f.h / main.h:.2f}" for f in doubtful)
        notes.append(f"{len(doubtful)} face(s) only the Haar cascades saw, not counted (heights {sizes})")
    if main is not None and profiles:
        sizes = ", ".join(f"{f.h / main.h:.2f}" for f in profiles)
        notes.append(f"{len(profiles)} more face(s) in profile, heights vs the main one {sizes}")
    if main is not None and bodies:
        far = ", ".join(f"{d.label} {d.score:.2f} at {_distance(d.box, _rect(main)) / main.h:.1f}" for d in bodies)
        notes.append(
            f"{len(bodies)} more body(ies) far from every face ({far} face heights; max {checks.body_distance:g})"
        )
    results.append(Check(name="people", passed=ok, value=people, threshold=checks.max_people, note="; ".join(notes)))
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
        word = _first_word(painting.title, checks.portrait_words)
        least = min(checks.min_face_fraction, checks.portrait_min_face_fraction) if word else checks.min_face_fraction
        note = f"the title says '{word}'" if word else ""
        ok = frac >= least
        results.append(Check(name="face_size", passed=ok, value=round(frac, 4), threshold=least, note=note))
        if not ok:
            reasons.append(f"face too small: {_percent(frac, least)} of the height (min {least:.0%})")

    # blur
    ok = m.blur >= checks.min_blur_variance
    results.append(Check(name="blur", passed=ok, value=round(m.blur, 1), threshold=checks.min_blur_variance))
    if not ok:
        reasons.append(f"too blurry: Laplacian variance {m.blur:.0f} (min {checks.min_blur_variance:g})")

    # nudity
    seen = m.of("nudenet", "nudenet-tile") if checks.nudity_tiles else m.of("nudenet")
    if checks.nudity_outside_faces:
        seen = [d for d in seen if d.label in FACE_CLASSES or not in_face(d, faces)]
    exposed = sorted(((d.label, d.score) for d in seen if d.label in EXPOSED_CLASSES), key=lambda e: -e[1])
    over = [(cls, s) for cls, s in exposed if s > checks.nudity_max_score]
    top = exposed[0] if exposed else None
    results.append(
        Check(
            name="nudity",
            passed=not over,
            value=round(top[1], 3) if top else 0.0,
            threshold=checks.nudity_max_score,
            note=top[0] if top else "",
        )
    )
    reasons += [f"nudity: {cls} {s:.2f}" for cls, s in over[:1]]
    bare = sorted({d.label for d in seen if d.label in BARE_CLASSES and d.score >= checks.nudity_part_score})
    if checks.nudity_bare_parts and len(bare) >= checks.nudity_bare_parts:
        results.append(
            Check(
                name="nudity_parts",
                passed=False,
                value=len(bare),
                threshold=checks.nudity_bare_parts,
                note=", ".join(bare),
            )
        )
        if not over:
            reasons.append(f"nudity: {len(bare)} kinds of bare body parts ({', '.join(bare)})")

    # child: words, then the main face's apparent age
    hit = child_word(painting, checks.child_words)
    results.append(
        Check(
            name="child", ran=False, passed=hit is None, value=hit[1] if hit else None, threshold=None, note=CHILD_NOTE
        )
    )
    if hit:
        where, word = hit
        reasons.append(f"{where} mentions a child: '{word}'")
    a = m.attributes_at((main.x, main.y, main.w, main.h)) if main is not None else None
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
    if main is not None and checks.child_face_ratio > 0:
        for f in m.faces:
            b = f.attributes
            if overlap(f.box, _rect(main)) >= 0.5 or f.box[3] < checks.child_face_ratio * main.h:
                continue
            if b.age <= checks.child_max_age and b.age_confidence >= checks.child_age_confidence:
                reasons.append(f"a child's face beside the sitter: age {b.age} (confidence {b.age_confidence})")
                note = f"another face, {f.box[3] / main.h:.2f} of the main one's height"
                results.append(
                    Check(name="child_face", passed=False, value=b.age, threshold=checks.child_max_age, note=note)
                )
                break

    return Verdict(
        accepted=not reasons,
        reasons=reasons,
        checks=results,
        width=m.width,
        height=m.height,
        people=people,
        faces=faces,
        main_face=main,
        sitter=sitter(painting, m, main, checks),
        backend=backend,
        degraded=degraded,
    )


def sitter(painting: Painting, m: Measures, main: Box | None, checks: ChecksSettings) -> Sitter:
    """The sitter's gender: catalog, then title words, then the main face (see :mod:`.sitter`)."""
    face: tuple[Gender, float, str] | None = None
    a = m.attributes_at((main.x, main.y, main.w, main.h)) if main is not None else None
    if a is not None and a.gender in ("female", "male"):
        gender: Gender = "female" if a.gender == "female" else "male"
        face = (gender, a.gender_confidence / 100, f"face model {a.gender} {a.gender_confidence}%")
    elif main is not None:
        nn = face_gender(main.label)
        if nn is not None:
            face = (nn, main.score, f"nudenet {main.label.split(' ')[0]}")
    return decide_sitter(painting, face=face, min_face_confidence=checks.gender_min_confidence / 100)


def _percent(value: float, limit: float) -> str:
    """``value`` as a whole percentage, with a decimal when rounding would make it look equal to ``limit``."""
    text = f"{value:.0%}"
    return f"{value:.1%}" if text == f"{limit:.0%}" else text


def title_portrait(m: Measures, painting: Painting, checks: ChecksSettings) -> str | None:
    """The portrait word of the title (``checks.portrait_words``) when ``checks.title_portrait`` is on and a
    detector saw anything at all (a blank or abstract image stays refused)."""
    if not checks.title_portrait or not m.detections:
        return None
    return _first_word(painting.title, checks.portrait_words)


def _first_word(text: str, words: list[str]) -> str | None:
    """The first of ``words`` found in ``text`` as a whole word, any case."""
    for word in words:
        w = word.strip()
        if w and re.search(rf"(?<!\w){re.escape(w)}(?!\w)", text, flags=re.IGNORECASE):
            return w
    return None


def child_word(painting: Painting, words: list[str]) -> tuple[str, str] | None:
    """The first child word found (whole word, any case) as ``(where, word)``; title first, then tags, text."""
    fields = [("title", painting.title), ("tags", " | ".join(painting.tags)), ("description", painting.description)]
    for where, text in fields:
        w = _first_word(text, words) if text else None
        if w:
            return where, w
    return None
