"""LocalVideoMaker (crossfades), decoded back with ffmpeg (the lip-sync is in test_mouth.py)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from vivant.backends.ffmpeg import probe, run
from vivant.backends.local.canvas import compose_vertical, load_bgr
from vivant.backends.local.image import LocalImageEditor
from vivant.backends.local.video import LocalVideoMaker
from vivant.roles import VideoMaker

W, H, FPS = 270, 480, 25


def decode(path: Path, width: int, height: int) -> np.ndarray:
    """All frames of a video as an (n, h, w, 3) BGR array."""
    raw = path.with_suffix(".bgr")
    run(["-i", path, "-map", "0:v:0", "-f", "rawvideo", "-pix_fmt", "bgr24", raw])
    data = np.fromfile(raw, np.uint8)
    assert data.size % (width * height * 3) == 0
    return data.reshape(-1, height, width, 3)


def mad(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.abs(a.astype(np.int16) - b.astype(np.int16)).mean())


@pytest.fixture(scope="module")
def pair(paintings_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """(painting, photo-approximation) of the Mona Lisa."""
    painting = paintings_dir / "leonardo_mona-lisa.jpg"
    photo = tmp_path_factory.mktemp("photo") / "photo.png"
    LocalImageEditor("realistic").edit(painting, photo, task="realistic")
    return painting, photo


def test_protocols() -> None:
    assert isinstance(LocalVideoMaker(), VideoMaker)
    assert LocalVideoMaker.degraded


def test_transition_clip(pair: tuple[Path, Path], tmp_path: Path) -> None:
    painting, photo = pair
    out = tmp_path / "transition.mp4"
    LocalVideoMaker().first_last(painting, photo, out, seconds=1.6, style="transition", width=W, height=H, fps=FPS)
    info = probe(out)
    assert (info.width, info.height, info.video_codec, info.pix_fmt) == (W, H, "h264", "yuv420p")
    assert info.audio_codec is None
    frames = decode(out, W, H)
    assert len(frames) == round(1.6 * FPS)
    first = compose_vertical(load_bgr(painting), W, H)
    last = compose_vertical(load_bgr(photo), W, H)
    # Up to codec loss (4:2:0 chroma and crf 20 on a small, detailed frame).
    assert mad(frames[0], first) < 5
    assert mad(frames[-1], last) < 5
    # Mid-way it is a warm (golden) blend: brighter and redder than either end.
    mid = frames[len(frames) // 2].astype(np.float32)
    assert mid.mean() > max(first.mean(), last.mean())
    assert mid[..., 2].mean() - mid[..., 0].mean() > first[..., 2].mean() - first[..., 0].mean()


def test_outro_ends_where_transition_starts(pair: tuple[Path, Path], tmp_path: Path) -> None:
    painting, photo = pair
    maker = LocalVideoMaker()
    transition, outro = tmp_path / "t.mp4", tmp_path / "o.mp4"
    maker.first_last(painting, photo, transition, seconds=1.0, style="transition", width=W, height=H, fps=FPS)
    maker.first_last(photo, painting, outro, seconds=1.4, style="outro", width=W, height=H, fps=FPS)
    t_frames, o_frames = decode(transition, W, H), decode(outro, W, H)
    assert len(o_frames) == round(1.4 * FPS)
    assert mad(o_frames[-1], t_frames[0]) < 3
    assert mad(o_frames[0], compose_vertical(load_bgr(photo), W, H)) < 5


def test_bad_style_is_refused(pair: tuple[Path, Path], tmp_path: Path) -> None:
    style: Any = "boom"
    with pytest.raises(ValueError):
        LocalVideoMaker().first_last(*pair, tmp_path / "x.mp4", seconds=1, style=style, width=W, height=H, fps=FPS)
