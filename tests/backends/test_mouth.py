"""The CPU lip-sync (:class:`LocalLipSyncer`): visemes from word timings, the real lips moved on dlib's 68
landmarks (measured back on the decoded frames), and the box warp it falls back to without a face."""

from __future__ import annotations

import json
import wave
from pathlib import Path

import cv2
import numpy as np
import pytest

from vivant.backends.ffmpeg import probe, run
from vivant.backends.local.canvas import canvas_transform, load_bgr
from vivant.backends.local.mouth import MESH, WARP, LocalLipSyncer, cpu_seconds
from vivant.backends.local.mouth_audio import loudness_envelope, read_mono, timings_beside
from vivant.backends.local.mouth_landmarks import _lips_redder, find_landmarks, measure_openings
from vivant.backends.local.mouth_visemes import mouth_track, word_visemes
from vivant.roles import Box, LipSyncer, WordTiming

from .test_video import decode

W, H, FPS = 270, 480, 25
MONA_FACE = Box(x=301, y=229, w=265, h=265)  # Haar box on leonardo_mona-lisa.jpg
# Words chosen for their mouths (m/b/p closures between open vowels), with pauses between them.
SCRIPT = [("mama", 0.40, 0.95), ("bob", 1.30, 1.70), ("papa", 2.10, 2.65), ("ah", 3.00, 3.40), ("map", 3.75, 4.25)]
SECONDS = 4.7


def write_wav(path: Path, x: np.ndarray, rate: int) -> Path:
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes((np.clip(x, -1, 1) * 30000).astype("<i2").tobytes())
    return path


def buzz(seconds: float, rate: int, seed: int = 1) -> np.ndarray:
    """A buzzy tone with noise (a speech stand-in)."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(rate * seconds)) / rate
    return (0.5 * np.sin(2 * np.pi * 160 * t) + 0.2 * rng.normal(size=t.size)) * (0.7 + 0.3 * np.sin(8 * np.pi * t))


def make_wav(path: Path, *, silent: float, loud: float, rate: int = 22050, mute: bool = False) -> Path:
    """``silent`` seconds of silence, then ``loud`` seconds of buzz."""
    x = np.concatenate([np.zeros(int(rate * silent)), buzz(loud, rate)])
    return write_wav(path, x * (0 if mute else 1), rate)


def spoken(folder: Path, rate: int = 22050) -> tuple[Path, list[WordTiming]]:
    """Step 2's pair for :data:`SCRIPT`: ``narration.wav`` (buzz while a word lasts) and ``timings.json``."""
    x = np.zeros(int(rate * SECONDS))
    words = [WordTiming(word=w, start=a, end=b) for w, a, b in SCRIPT]
    for w in words:
        i, j = int(w.start * rate), int(w.end * rate)
        x[i:j] = buzz((j - i) / rate + 0.01, rate)[: j - i]
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "timings.json").write_text(json.dumps([w.model_dump() for w in words]), encoding="utf-8")
    return write_wav(folder / "narration.wav", x, rate), words


def mad(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.abs(a.astype(np.int16) - b.astype(np.int16)).mean())


# -- visemes ----------------------------------------------------------------------------------------------------


def test_letters_become_mouth_shapes() -> None:
    def kinds(word: str) -> list[str]:
        return [k for k, _ in word_visemes(word)]

    assert kinds("map") == ["closed", "open", "closed"]
    assert kinds("Bébé,") == ["closed", "wide", "closed", "wide"]  # accents and punctuation folded
    assert kinds("you") == ["wide", "round"]  # "ou" is one round sound
    assert kinds("see") == ["other", "wide"]  # a doubled letter is one sound
    assert kinds("chou") == ["hush", "round"]
    assert kinds("five") == ["teeth", "wide", "teeth", "wide"] and word_visemes("five")[-1][1] < 0.5
    assert kinds("1815") == ["other", "open"] * 4  # a number is spoken: one syllable a digit


def test_track_opens_on_vowels_closes_on_mbp_and_in_silence() -> None:
    words = [WordTiming(word=w, start=a, end=b) for w, a, b in SCRIPT]
    n = round(SECONDS * FPS)
    track = mouth_track(words, n, FPS)
    t = np.arange(n) / FPS
    labels = np.array(track.viseme)
    assert len(track.opening) == len(track.spread) == n
    # Silences: before the first word, in every pause, after the last word.
    silent = (t < 0.35) | ((t > 1.0) & (t < 1.25)) | ((t > 2.7) & (t < 2.95)) | (t > 4.3)
    assert (labels[silent] == "rest").all() and track.opening[silent].max() == 0.0
    # Every m/b/p (9 of them in mama, bob, papa, map) closes the lips on a frame.
    closed = labels == "closed"
    assert closed.sum() >= 9 and track.opening[closed].min() == 0.0
    starts = np.flatnonzero(closed & ~np.roll(closed, 1))
    assert len(starts) >= 8
    # Vowels open: "ah" opens wide, and each word opens between its closures.
    ah = (t > 3.05) & (t < 3.35)
    assert track.opening[ah].max() > 0.8
    for _, a, b in SCRIPT:
        assert track.opening[(t >= a) & (t <= b)].max() > 0.5
    # Round and wide shapes spread the other way.
    oo = mouth_track([WordTiming(word="you", start=0.2, end=0.8)], 30, FPS)
    ee = mouth_track([WordTiming(word="see", start=0.2, end=0.8)], 30, FPS)
    assert oo.spread.min() < -0.5 and ee.spread.max() > 0.5


def test_timings_beside_the_narration(tmp_path: Path) -> None:
    wav, words = spoken(tmp_path / "audio")
    assert timings_beside(wav) == words
    (tmp_path / "audio" / "timings.json").write_text("{not json", encoding="utf-8")
    assert timings_beside(wav) is None
    assert timings_beside(tmp_path / "elsewhere.wav") is None


def test_envelope_follows_loudness(tmp_path: Path) -> None:
    samples, rate = read_mono(make_wav(tmp_path / "a.wav", silent=1.0, loud=1.0))
    env = loudness_envelope(samples, rate, FPS)
    assert len(env) == 2 * FPS
    assert env[: FPS - 2].max() == 0.0
    assert env[FPS + 5 :].mean() > 0.5
    silent, rate = read_mono(make_wav(tmp_path / "s.wav", silent=1.0, loud=1.0, mute=True))
    assert loudness_envelope(silent, rate, FPS).max() == 0.0


# -- landmarks and the mesh mouth ---------------------------------------------------------------------------------


def test_landmarks_on_a_portrait_and_none_on_a_wall(paintings_dir: Path) -> None:
    mona = load_bgr(paintings_dir / "leonardo_mona-lisa.jpg")
    found = find_landmarks(mona, MONA_FACE)
    assert found is not None and found.points.shape == (68, 2)
    mouth = found.points[48:68].mean(axis=0)
    # The lips lie in the lower part of the Haar face box, the mouth closed (a smile).
    assert MONA_FACE.x + 0.3 * MONA_FACE.w < mouth[0] < MONA_FACE.x + 0.7 * MONA_FACE.w
    assert MONA_FACE.y + 0.55 * MONA_FACE.h < mouth[1] < MONA_FACE.y + 1.1 * MONA_FACE.h
    assert found.opening < 0.08
    wall = np.full((400, 300, 3), 128, np.uint8)
    wall[:, 150:] = 90
    assert find_landmarks(wall) is None


def test_turned_heads_and_the_lip_colour_check(paintings_dir: Path) -> None:
    """Rossetti's Proserpine and Lady Lilith turn and tilt their heads: the HOG detector misses both, the CNN
    detector finds them, and their lips are where the paintings have them (by eye on the images). A fit
    whose lips would lie on the nose or a cheek fails the lips' colour check."""
    for name, (x, y) in (("rossetti_proserpine.jpg", (415, 522)), ("rossetti_lady-lilith.jpg", (631, 283))):
        found = find_landmarks(load_bgr(paintings_dir / name))
        assert found is not None, name
        mouth = found.points[48:68].mean(axis=0)
        assert abs(mouth[0] - x) < 30 and abs(mouth[1] - y) < 30, (name, mouth)
    mona = load_bgr(paintings_dir / "leonardo_mona-lisa.jpg")
    lips = find_landmarks(mona, MONA_FACE)
    assert lips is not None and _lips_redder(mona, lips.points)
    for shift in ((0.0, -0.8), (0.9, -0.6), (-0.9, -0.6)):  # nose, cheeks (in mouth widths)
        assert not _lips_redder(mona, lips.points + np.array(shift, np.float32) * lips.mouth_width)


@pytest.mark.parametrize(
    "painting",
    ["leonardo_mona-lisa.jpg", "vermeer_girl-with-a-pearl-earring.jpg", "cezanne_madame-cezanne-in-blue.jpg"],
)
def test_mesh_mouth_follows_the_words(paintings_dir: Path, tmp_path: Path, painting: str) -> None:
    """The lips' opening measured on the decoded frames follows the viseme track: open on vowels, closed on
    m/b/p and in the pauses (the painting's own mouth as the zero)."""
    wav, _ = spoken(tmp_path / "audio")  # timings.json beside it, as step 2 leaves them
    out = tmp_path / "talk.mp4"
    syncer = LocalLipSyncer()
    width, height = 360, 640
    syncer.animate(paintings_dir / painting, wav, out, face=None, width=width, height=height, fps=FPS)
    assert syncer.name == MESH and syncer.last is not None and syncer.last.landmarks is not None
    info = probe(out)
    assert info.audio_codec == "aac" and abs(info.duration - SECONDS) <= 1 / FPS + 0.03
    track = syncer.last.track
    measured = measure_openings(decode(out, width, height))
    assert len(measured) == len(track.opening) and np.isnan(measured).mean() < 0.05
    labels = np.array(track.viseme)
    m = measured - np.nanmedian(measured[labels == "rest"])
    ok = ~np.isnan(m)
    assert np.corrcoef(track.opening[ok], m[ok])[0, 1] > 0.75
    vowels = ok & (track.opening > 0.5)
    closures = ok & (labels == "closed") & (track.opening == 0.0)
    rest = ok & (labels == "rest")
    assert vowels.sum() >= 10 and closures.sum() >= 5 and rest.sum() >= 20
    assert m[vowels].mean() > 0.08  # open by a tenth of the mouth's width, at least
    assert abs(m[closures].mean()) < 0.03 and abs(m[rest].mean()) < 0.02
    assert m[vowels].mean() > m[closures].mean() + 0.06


def test_syncer_is_a_lipsyncer() -> None:
    assert isinstance(LocalLipSyncer(), LipSyncer)
    assert LocalLipSyncer.degraded


def test_falls_back_to_the_box_warp_without_a_face(tmp_path: Path) -> None:
    wall = np.full((320, 240, 3), 140, np.uint8)  # small: the CNN detector looks at it too
    cv2.rectangle(wall, (50, 50), (190, 250), (90, 110, 130), -1)
    painting = tmp_path / "wall.png"
    cv2.imwrite(str(painting), wall)
    wav, _ = spoken(tmp_path / "audio")
    syncer = LocalLipSyncer()
    syncer.animate(painting, wav, tmp_path / "a.mp4", face=None, width=W, height=H, fps=FPS)
    assert syncer.name == WARP and syncer.last is not None and syncer.last.landmarks is None
    # The same object on a face: the name says which rig made the last clip (the step records it).
    syncer.animate(
        Path(__file__).resolve().parents[3] / "shared/data/paintings/leonardo_mona-lisa.jpg",
        wav, tmp_path / "b.mp4", face=None, width=W, height=H, fps=FPS,
    )  # fmt: skip
    assert syncer.name == MESH


def _mouth_rect(face: Box, img: np.ndarray, width: int, height: int) -> tuple[slice, slice]:
    scale, ox, oy = canvas_transform(img.shape[1], img.shape[0], width, height)
    fx, fy, fw, fh = ox + face.x * scale, oy + face.y * scale, face.w * scale, face.h * scale
    return slice(int(fy + 0.6 * fh), int(fy + 1.05 * fh)), slice(int(fx + 0.2 * fw), int(fx + 0.8 * fw))


@pytest.mark.parametrize("landmarks", [True, False], ids=["mesh", "warp"])
def test_lipsync_moves_mouth_with_the_voice(paintings_dir: Path, tmp_path: Path, landmarks: bool) -> None:
    """Without word timings the mouth follows the loudness, on either rig."""
    painting = paintings_dir / "leonardo_mona-lisa.jpg"
    speech = make_wav(tmp_path / "speech.wav", silent=1.0, loud=1.2)
    mute = make_wav(tmp_path / "mute.wav", silent=1.0, loud=1.2, mute=True)
    syncer = LocalLipSyncer(landmarks=landmarks)
    talk, quiet = tmp_path / "talk.mp4", tmp_path / "quiet.mp4"
    for audio, out in ((speech, talk), (mute, quiet)):
        syncer.animate(painting, audio, out, face=MONA_FACE, width=W, height=H, fps=FPS)
    assert syncer.name == (MESH if landmarks else WARP)
    info = probe(talk)
    assert info.audio_codec == "aac" and info.video_codec == "h264"
    assert abs(info.duration - 2.2) <= 1 / FPS + 0.03
    a, b = decode(talk, W, H), decode(quiet, W, H)
    assert abs(len(a) - round(2.2 * FPS)) <= 1 and len(a) == len(b)
    rows, cols = _mouth_rect(MONA_FACE, load_bgr(painting), W, H)
    # During the silent second both clips are the same (same zoom, sway and blinks, mouth closed).
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
    """One real 1080x1920 clip of 2 s, and a loose cost check in CPU seconds (this process and the encoder, so
    a busy machine does not fail it): about 1.5 s per second of video here, the bound is 5."""
    speech = make_wav(tmp_path / "speech.wav", silent=0.5, loud=1.5)
    out = tmp_path / "full.mp4"
    started = cpu_seconds()
    syncer = LocalLipSyncer()
    syncer.animate(
        paintings_dir / "leonardo_mona-lisa.jpg", speech, out, face=MONA_FACE, width=1080, height=1920, fps=FPS
    )
    elapsed = cpu_seconds() - started
    assert syncer.name == MESH
    info = probe(out)
    assert (info.width, info.height, info.audio_codec) == (1080, 1920, "aac")
    assert abs(info.duration - 2.0) <= 1 / FPS + 0.03
    assert elapsed < 2.0 * 5, f"{elapsed:.1f} CPU s for 2 s of video"
    png = tmp_path / "loud.png"  # one frame while the voice is loud, for a human looking at tmp_path
    run(["-i", out, "-vf", f"select=eq(n\\,{round(1.5 * FPS)})", "-frames:v", "1", png])
    frame = cv2.imread(str(png))
    assert frame.shape == (1920, 1080, 3)
    assert not np.array_equal(frame[:200], frame[-200:])  # a real picture, not a flat frame


@pytest.mark.parametrize(("image", "backend"), [("mona", MESH), ("wall", WARP)])
def test_step_records_which_mouth_ran(paintings_dir: Path, tmp_path: Path, image: str, backend: str) -> None:
    """Step 6 on the embedded backend, with step 2's narration and timings where step 2 leaves them: the
    attempt's backend names the rig that made the clip."""
    from vivant.backends.registry import Roles
    from vivant.config import Settings
    from vivant.roles import Painting, Verdict
    from vivant.steps import lipsync
    from vivant.steps.base import StepContext

    if image == "mona":
        portrait, face = paintings_dir / "leonardo_mona-lisa.jpg", MONA_FACE
    else:
        portrait, face = tmp_path / "wall.png", None
        cv2.imwrite(str(portrait), np.full((320, 240, 3), 120, np.uint8))
    wav, _ = spoken(tmp_path / "2-audio" / "en")
    verdict = tmp_path / "verdict.json"
    verdict.write_text(
        Verdict(accepted=True, width=960, height=1431, people=1, main_face=face, backend="test").model_dump_json(),
        encoding="utf-8",
    )
    found = {("prepare", "verdict"): verdict, ("realistic", "image"): portrait, ("audio", "audio"): wav}
    base = Settings()
    settings = base.model_copy(update={"render": base.render.model_copy(update={"width": W, "height": H})})
    out = tmp_path / "6-lipsync" / "en"
    out.mkdir(parents=True)
    ctx = StepContext(
        painting=Painting(id=1, key="p", title="P", artist="A", image_path=str(portrait)),
        language="en",
        out=out,
        settings=settings,
        roles=Roles(settings),
        lookup=lambda step, kind, _lang: found[(step, kind)],
        per_language_steps=frozenset({"audio", "lipsync"}),
    )
    result = lipsync.run(ctx)
    assert result.backend == backend and result.degraded
    assert abs(probe(out / "lipsync.mp4").duration - SECONDS) <= 1 / FPS + 0.03


def test_numbers_move_the_mouth() -> None:
    """A year is spoken ("sixteen sixty-five"): its digits open the mouth, not a still face while the voice goes on."""
    from vivant.backends.local.mouth_visemes import word_visemes

    kinds = [k for k, _ in word_visemes("1665.")]
    assert kinds.count("open") == 4 and len(kinds) == 8


def test_the_head_never_stays_still_in_a_pause(paintings_dir: Path, tmp_path: Path) -> None:
    """Six silent seconds of the photo-like Rembrandt (steps 3 and 4 on the CPU) at full size, measured as step 10
    measures a final video: no frozen stretch at all. Without the head's rise and fall, the sway's turning points
    leave still frames (a demo video failed QA on 0.36 s of them)."""
    from vivant.backends.local.image import LocalImageEditor
    from vivant.qa.analysis import Span, frozen_runs
    from vivant.qa.media import frames

    restored, photo = tmp_path / "restored.png", tmp_path / "photo.png"
    LocalImageEditor().edit(paintings_dir / "rembrandt_self-portrait-with-two-circles.jpg", restored, task="restore")
    LocalImageEditor().edit(restored, photo, task="realistic")
    silence = make_wav(tmp_path / "silence.wav", silent=6.0, loud=0.0)

    def still(breath: float) -> list[Span]:
        syncer = LocalLipSyncer()
        syncer.breath_px_share = breath
        out = tmp_path / f"breath-{breath}.mp4"
        syncer.animate(photo, silence, out, face=None, width=1080, height=1920, fps=FPS)
        assert syncer.name == MESH
        grey, _ = frames(out, tmp_path)  # step 10's small grey frames
        return frozen_runs(grey, FPS, Span(0.0, len(grey) / FPS))

    assert still(LocalLipSyncer.breath_px_share) == []
    assert still(0.0)  # the sway alone stops now and then
