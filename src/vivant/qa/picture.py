"""A picture of a QA problem for the review page: the frame where a picture check failed, or the loudness
envelope with the problem marked for a sound, speech or subtitle check."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from vivant.qa.model import Check

PICTURE_GROUPS = ("picture", "sync")


def draw_problem(check: Check, frames: np.ndarray, fps: float, env_db: np.ndarray, hop: float, dest: Path) -> str:
    """Write ``dest`` (PNG) and return its file name."""
    import cv2

    at = check.at or 0.0
    if check.group in PICTURE_GROUPS and frames.shape[0]:
        i = min(max(int(at * fps), 0), frames.shape[0] - 1)
        img = cv2.cvtColor(frames[i], cv2.COLOR_GRAY2BGR)
        img = cv2.resize(img, (img.shape[1] * 2, img.shape[0] * 2), interpolation=cv2.INTER_LINEAR)
        cv2.rectangle(img, (0, 0), (img.shape[1] - 1, 34), (0, 0, 160), -1)
        cv2.putText(img, f"{check.name} at {at:.1f} s", (8, 24), cv2.FONT_HERSHEY_SIMPLEX, 0.7, (255, 255, 255), 2)
    else:
        w, h = 900, 220
        img = np.full((h, w, 3), 250, np.uint8)
        if env_db.size:
            x = np.linspace(0, w - 1, env_db.size).astype(np.int32)
            y = (h - 30 - (np.clip(env_db, -70, 0) + 70) / 70 * (h - 50)).astype(np.int32)
            cv2.polylines(img, [np.stack([x, y], axis=1).reshape(-1, 1, 2)], False, (90, 60, 20), 1)
            if check.at is not None:
                px = int(at / (env_db.size * hop) * (w - 1))
                cv2.line(img, (px, 20), (px, h - 25), (0, 0, 220), 2)
        label = f"{check.name}: {check.value} {check.unit}".strip()
        cv2.putText(img, label, (8, 16), cv2.FONT_HERSHEY_SIMPLEX, 0.5, (0, 0, 180), 1)
        cv2.putText(img, "loudness (dBFS) over time", (8, h - 8), cv2.FONT_HERSHEY_SIMPLEX, 0.45, (60, 60, 60), 1)
    dest.parent.mkdir(parents=True, exist_ok=True)
    if not cv2.imwrite(str(dest), img):
        return ""
    return dest.name
