"""LocalVideoMaker (crossfades) and LocalLipSyncer (mouth warp), decoded back with ffmpeg."""

from __future__ import annotations

import time
import wave
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest

from vivant.backends.ffmpeg import probe, run
from vivant.backends.local.canvas import canvas_transform, compose_vertical, load_bgr
from vivant.backends.local.image import LocalImageEditor
from vivant.backends.local.video import LocalLipSyncer, LocalVideoMaker, loudness_envelope, read_mono
from vivant.roles import Box, LipSyncer, VideoMaker

W, H, FPS = 270, 480, 25
MONA_FACE = Box(x=301, y=229, w=265, h=265)  # Haar box on leonardo_mona-lisa.jpg


def decode(path: Path, width: int, height: int) -> np.ndarray:
    """All frames of a video as an (n, h, w, 3) BGR array."""
    raw = path.with_suffix(".bgr")
    run(["-i", path, "-map", "0:v:0", "-f", "rawvideo", "-pix_fmt", "bgr24", raw])
    data = np.fromfile(raw, np.uint8)
    assert data.size % (width * height * 3) == 0
    return data.reshape(-1, height, width, 3)


def make_wav(path: Path, *, silent: float, loud: float, rate: int = 22050, mute: bool = False) -> Path:
    """``silent`` seconds of silence, then ``loud`` seconds of a buzzy tone with noise (speech stand-in)."""
    rng = np.random.default_rng(1)
    t = np.arange(int(rate * loud)) / rate
    burst = (0.5 * np.sin(2 * np.pi * 160 * t) + 0.2 * rng.normal(size=t.size)) * (0.7 + 0.3 * np.sin(8 * np.pi * t))
    x = np.concatenate([np.zeros(int(rate * silent)), burst])
    if mute:
        x[:] = 0
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes((np.clip(x, -1, 1) * 30000).astype("<i2").tobytes())
    return path


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
    assert isinstance(LocalLipSyncer(), LipSyncer)
    assert LocalVideoMaker.degraded and LocalLipSyncer.degraded


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


def test_envelope_follows_loudness(tmp_path: Path) -> None:
    samples, rate = read_mono(make_wav(tmp_path / "a.wav", silent=1.0, loud=1.0))
    env = loudness_envelope(samples, rate, FPS)
    assert len(env) == 2 * FPS
    assert env[: FPS - 2].max() == 0.0
    assert env[FPS + 5 :].mean() > 0.5
    silent, rate = read_mono(make_wav(tmp_path / "s.wav", silent=1.0, loud=1.0, mute=True))
    assert loudness_envelope(silent, rate, FPS).max() == 0.0


def _mouth_rect(face: Box, img: np.ndarray, width: int, height: int) -> tuple[slice, slice]:
    scale, ox, oy = canvas_transform(img.shape[1], img.shape[0], width, height)
    fx, fy, fw, fh = ox + face.x * scale, oy + face.y * scale, face.w * scale, face.h * scale
    return slice(int(fy + 0.6 * fh), int(fy + 1.05 * fh)), slice(int(fx + 0.2 * fw), int(fx + 0.8 * fw))


def test_lipsync_moves_mouth_with_the_voice(paintings_dir: Path, tmp_path: Path) -> None:
    painting = paintings_dir / "leonardo_mona-lisa.jpg"
    speech = make_wav(tmp_path / "speech.wav", silent=1.0, loud=1.2)
    mute = make_wav(tmp_path / "mute.wav", silent=1.0, loud=1.2, mute=True)
    syncer = LocalLipSyncer()
    talk, quiet = tmp_path / "talk.mp4", tmp_path / "quiet.mp4"
    for audio, out in ((speech, talk), (mute, quiet)):
        syncer.animate(painting, audio, out, face=MONA_FACE, width=W, height=H, fps=FPS)
    info = probe(talk)
    assert info.audio_codec == "aac" and info.video_codec == "h264"
    assert abs(info.duration - 2.2) <= 1 / FPS + 0.03
    a, b = decode(talk, W, H), decode(quiet, W, H)
    assert abs(len(a) - round(2.2 * FPS)) <= 1 and len(a) == len(b)
    rows, cols = _mouth_rect(MONA_FACE, load_bgr(painting), W, H)
    # During the silent second both clips are the same (same zoom and sway, mouth closed).
    assert mad(a[FPS // 2], b[FPS // 2]) < 1.0
    # While speaking, the mouth region differs from the silent clip's same frame; the corners do not.
    k = int(1.6 * FPS)
    mouth_diff, corner_diff = mad(a[k][rows, cols], b[k][rows, cols]), mad(a[k][:40, :40], b[k][:40, :40])
    assert mouth_diff > 4.0
    assert corner_diff < 2.5 and corner_diff < mouth_diff / 3
    # And within the talking clip, the mouth changes between a silent and a loud frame.
    assert mad(a[FPS // 2][rows, cols], a[k][rows, cols]) > mad(b[FPS // 2][rows, cols], b[k][rows, cols]) + 2


def test_lipsync_without_face_and_non_wav_audio(paintings_dir: Path, tmp_path: Path) -> None:
    speech = make_wav(tmp_path / "speech.wav", silent=0.3, loud=0.7)
    m4a = tmp_path / "speech.m4a"
    run(["-i", speech, "-c:a", "aac", m4a])
    out = tmp_path / "talk.mp4"
    LocalLipSyncer().animate(
        paintings_dir / "rembrandt_self-portrait-with-two-circles.jpg", m4a, out, face=None, width=W, height=H, fps=FPS
    )
    info = probe(out)
    assert info.audio_codec == "aac"
    assert abs(len(decode(out, W, H)) - FPS) <= 1


def test_lipsync_full_size(paintings_dir: Path, tmp_path: Path) -> None:
    """One real 1080x1920 clip of 2 s (also a loose speed check: the target is well under 1 s per second)."""
    speech = make_wav(tmp_path / "speech.wav", silent=0.5, loud=1.5)
    out = tmp_path / "full.mp4"
    started = time.perf_counter()
    LocalLipSyncer().animate(
        paintings_dir / "leonardo_mona-lisa.jpg", speech, out, face=MONA_FACE, width=1080, height=1920, fps=FPS
    )
    elapsed = time.perf_counter() - started
    info = probe(out)
    assert (info.width, info.height, info.audio_codec) == (1080, 1920, "aac")
    assert abs(info.duration - 2.0) <= 1 / FPS + 0.03
    assert elapsed < 2.0 * 5, f"{elapsed:.1f} s for 2 s of video"
    frame = decode(out, 1080, 1920)[-1]
    assert not np.array_equal(frame[:200], frame[-200:])  # a real picture, not a flat frame
    cv2.imwrite(str(tmp_path / "last.png"), frame)  # for a human looking at tmp_path
