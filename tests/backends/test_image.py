"""LocalImageEditor: OpenCV restoration and the photo approximation."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from vivant.backends.local.canvas import canvas_transform, compose_vertical, load_bgr
from vivant.backends.local.image import LocalImageEditor, crack_mask, restore
from vivant.errors import InputError
from vivant.roles import ImageEditor


@pytest.fixture(scope="module")
def small_painting(paintings_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The Vermeer at 480 px wide (keeps the tests fast)."""
    img = load_bgr(paintings_dir / "vermeer_girl-with-a-pearl-earring.jpg")
    img = cv2.resize(img, (480, round(480 * img.shape[0] / img.shape[1])), interpolation=cv2.INTER_AREA)
    path = tmp_path_factory.mktemp("img") / "vermeer_480.png"
    cv2.imwrite(str(path), img)
    return path


def test_protocol_names() -> None:
    restore_editor, photo_editor = LocalImageEditor(), LocalImageEditor("realistic")
    assert isinstance(restore_editor, ImageEditor)
    assert (restore_editor.name, restore_editor.degraded) == ("local:opencv-restore", False)
    assert (photo_editor.name, photo_editor.degraded) == ("local:opencv-photo-approx", True)


@pytest.mark.parametrize(("task", "suffix"), [("restore", ".png"), ("realistic", ".jpg")])
def test_edit_keeps_size_and_changes_pixels(small_painting: Path, tmp_path: Path, task: str, suffix: str) -> None:
    out = tmp_path / f"out{suffix}"
    LocalImageEditor(task).edit(small_painting, out, task=task)  # type: ignore[arg-type]
    before, after = load_bgr(small_painting), load_bgr(out)
    assert after.shape == before.shape
    diff = np.abs(after.astype(np.int16) - before.astype(np.int16)).mean()
    assert diff > 2.0, f"{task} barely changed the image (mean abs diff {diff:.2f})"
    # Still the same picture: no wholesale change.
    assert diff < 40.0


def test_edit_is_deterministic(small_painting: Path, tmp_path: Path) -> None:
    a, b = tmp_path / "a.png", tmp_path / "b.png"
    LocalImageEditor("realistic").edit(small_painting, a, task="realistic")
    LocalImageEditor("realistic").edit(small_painting, b, task="realistic")
    assert np.array_equal(load_bgr(a), load_bgr(b))


def test_crack_is_inpainted(small_painting: Path) -> None:
    img = load_bgr(small_painting)
    # A thin, wandering dark crack across the cheek and the background.
    h, w = img.shape[:2]
    pts = np.array([[int(w * 0.1), int(h * 0.45)], [int(w * 0.25), int(h * 0.47)], [int(w * 0.4), int(h * 0.44)],
                    [int(w * 0.55), int(h * 0.5)]], np.int32)  # fmt: skip
    line = np.zeros((h, w), np.uint8)
    cv2.polylines(line, [pts], isClosed=False, color=255, thickness=1)
    on = line > 0
    cracked = img.copy()
    cracked[on] = np.clip(cracked[on].astype(np.int16) - 35, 0, 255).astype(np.uint8)

    mask = crack_mask(cracked)
    found = np.count_nonzero(mask[on]) / np.count_nonzero(on)
    assert found > 0.8, f"only {found:.0%} of the crack was detected"

    clean, repaired = restore(img).astype(np.int16), restore(cracked).astype(np.int16)
    before = np.abs(cracked.astype(np.int16) - img.astype(np.int16))[on].mean()
    after = np.abs(repaired - clean)[on].mean()
    assert before > 25
    assert after < 0.3 * before, f"crack still there: {after:.1f} vs {before:.1f} grey levels"
    # Away from the crack the two restorations agree.
    far = cv2.dilate(line, np.ones((15, 15), np.uint8)) == 0
    assert np.abs(repaired - clean)[far].mean() < 1.0


def test_unreadable_image_names_the_file(tmp_path: Path) -> None:
    bad = tmp_path / "broken.jpg"
    bad.write_bytes(b"not a jpeg")
    with pytest.raises(InputError, match=r"broken\.jpg"):
        LocalImageEditor().edit(bad, tmp_path / "out.png", task="restore")
    with pytest.raises(InputError, match=r"missing\.jpg"):
        load_bgr(tmp_path / "missing.jpg")


def test_compose_vertical_is_deterministic_and_fits(paintings_dir: Path) -> None:
    img = load_bgr(paintings_dir / "leonardo_mona-lisa.jpg")
    a, b = compose_vertical(img, 270, 480), compose_vertical(img, 270, 480)
    assert a.shape == (480, 270, 3)
    assert np.array_equal(a, b)
    scale, ox, oy = canvas_transform(img.shape[1], img.shape[0], 270, 480)
    fit_h = round(img.shape[0] * scale)
    assert ox == 0 and oy >= 0 and oy + fit_h <= 480
    assert oy + fit_h / 2 < 240  # a little above the middle
    # The painting itself is on the canvas, sharp; the border outside it is the darker blurred copy.
    inner = cv2.resize(img, (270, fit_h), interpolation=cv2.INTER_AREA)
    assert np.abs(a[oy : oy + fit_h].astype(int) - inner.astype(int)).mean() < 1.0
    if oy > 4:
        assert a[: oy - 2].mean() < inner.mean()
