"""Windowed lip-sync: windows at pauses, jobs spread over endpoints, resumable, joined to the narration's length."""

from __future__ import annotations

import itertools
import math
import random
import subprocess
from pathlib import Path

import pytest

from vivant.backends.comfyui.errors import ComfyExecutionError, WorkflowError
from vivant.backends.comfyui.pool import ComfyPool
from vivant.backends.comfyui.roles import ComfyBackends
from vivant.backends.comfyui.windows import Window, plan, window_seconds
from vivant.backends.ffmpeg import ffmpeg_exe, probe
from vivant.config import Settings
from vivant.errors import StepError
from vivant.roles import WordTiming

from .conftest import STANDIN, fast_settings
from .server import ComfyTestServer

FPS = 10


def speech(seconds: float, seed: int = 1) -> list[WordTiming]:
    """Words of 0.15-0.6 s with short gaps, and a breath every few words, over ``seconds``."""
    rng = random.Random(seed)
    words: list[WordTiming] = []
    t = 0.3
    while True:
        d = rng.uniform(0.15, 0.6)
        if t + d > seconds - 0.3:
            return words
        words.append(WordTiming(word=f"w{len(words)}", start=round(t, 3), end=round(t + d, 3)))
        t += d + (rng.uniform(0.25, 0.5) if len(words) % 7 == 0 else rng.uniform(0.0, 0.08))


def cut_inside_a_word(cut: float, words: list[WordTiming]) -> bool:
    return any(w.start + 1e-9 < cut < w.end - 1e-9 for w in words)


def narration(tmp: Path, seconds: float) -> Path:
    out = tmp / f"narration-{seconds:g}.wav"
    subprocess.run([ffmpeg_exe(), "-y", "-loglevel", "error", "-f", "lavfi", "-i", f"sine=f=200:d={seconds}",
                    "-ar", "22050", "-ac", "1", str(out)], check=True)  # fmt: skip
    return out


def frame_count(video: Path) -> int:
    err = subprocess.run([ffmpeg_exe(), "-hide_banner", "-nostdin", "-i", str(video), "-map", "0:v:0", "-f", "null",
                          "-"], capture_output=True, text=True, check=True).stderr  # fmt: skip
    return int(err.rsplit("frame=", 1)[1].split()[0])


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_windows_cut_between_words_cover_the_narration_and_fit(seed: int) -> None:
    words = speech(45.0, seed)
    windows = plan(words, 45.0, 5.0, crossfade=0.2, fps=FPS)
    assert 9 <= len(windows) <= 10
    assert windows[0].start == 0.0 and windows[-1].end == 45.0
    for a, b in itertools.pairwise(windows):
        assert a.end == b.start, "no gap, no overlap between windows"
        assert not cut_inside_a_word(a.end, words), (a.end, seed)
        assert a.clip_end == pytest.approx(a.end + 0.1) and b.clip_start == pytest.approx(b.start - 0.1)
    assert all(0 < w.seconds <= 5.0 + 1e-9 for w in windows)
    assert windows[0].clip_start == 0.0 and windows[-1].clip_end == 45.0
    for w in windows[:-1]:  # a cut on a render frame boundary when its pause holds one
        lo = max(x.end for x in words if x.end <= w.end + 1e-9)
        hi = min(x.start for x in words if x.start >= w.end - 1e-9)
        if any(lo <= k / FPS <= hi for k in range(math.ceil(lo * FPS), math.floor(hi * FPS) + 1)):
            assert abs(w.end * FPS - round(w.end * FPS)) < 1e-6, (w, lo, hi)


def test_short_narration_is_one_window_and_a_word_longer_than_the_window_is_refused() -> None:
    assert plan(speech(4.0), 4.0, 5.0) == [Window(0, 0.0, 4.0, 0.0, 4.0)]
    long_word = [WordTiming(word="a", start=0.1, end=0.5), WordTiming(word="interminable", start=0.6, end=7.0)]
    with pytest.raises(StepError, match="'interminable' would be cut"):
        plan(long_word, 8.0, 5.0)


def test_window_lengths_in_seconds_or_frames() -> None:
    assert window_seconds("5s", 16) == 5.0 and window_seconds("5", 16) == 5.0 and window_seconds(4.5, 16) == 4.5
    assert window_seconds("77f", 16) == 77 / 16 and window_seconds("257 frames", 25) == 257 / 25
    assert window_seconds("0", 25) == 0.0
    with pytest.raises(WorkflowError, match=r"comfyui\.lipsync_window: 'five' is not a window length"):
        window_seconds("five", 25)


def backends(pool: ComfyPool, tmp_path: Path, **comfy: object) -> ComfyBackends:
    settings = Settings.model_validate({
        "workspace": str(tmp_path),
        "comfyui": {"endpoints": pool.urls, "video_width": 64, "video_height": 64, "video_fps": 8,
                    "workflows": {"lipsync": str(STANDIN / "lipsync.json")}, **comfy},
    })  # fmt: skip
    return ComfyBackends(settings, pool=pool)


def test_independent_windows_spread_over_two_endpoints_and_join_to_the_narration(tmp_path: Path,
                                                                                  image: Path) -> None:  # fmt: skip
    seconds = 12.0
    audio = narration(tmp_path, seconds)
    words = speech(seconds)
    with ComfyTestServer(tmp_path / "a") as a, ComfyTestServer(tmp_path / "b", flavour="2026") as b:
        a.faults.node_seconds = b.faults.node_seconds = 0.05
        pool = ComfyPool(fast_settings(a.url, b.url), client_id="windows")
        try:
            syncer = backends(pool, tmp_path, lipsync_window="2.5s", lipsync_mode="independent").lipsyncer()
            unit = tmp_path / "batches" / "0001" / "painting" / ".tmp-6-lipsync-en-1"
            unit.mkdir(parents=True)
            out = unit / "lipsync.mp4"
            syncer.animate(image, audio, out, face=None, width=64, height=112, fps=FPS, words=words)
        finally:
            pool.close()
        n = len(plan(words, seconds, 2.5))
        assert len(a.stats.runs) + len(b.stats.runs) == n >= 5
        assert a.stats.runs and b.stats.runs, "the windows of one painting ran on both endpoints"
    info = probe(out)
    assert (info.width, info.height, info.video_codec, info.audio_codec) == (64, 112, "h264", "aac")
    assert abs(frame_count(out) - seconds * FPS) <= 1, "the clip lasts the narration within one frame"
    assert abs(info.duration - seconds) <= 1 / FPS
    assert not (unit.parent / ".windows-lipsync-all").exists(), "the window cache goes once the clip is made"


def test_a_failure_mid_step_redoes_only_the_missing_windows(tmp_path: Path, image: Path) -> None:
    seconds = 9.0
    audio = narration(tmp_path, seconds)
    words = speech(seconds, seed=4)
    n = len(plan(words, seconds, 1.5))
    with ComfyTestServer(tmp_path / "comfy") as srv:
        srv.faults.fail_runs = {3}
        pool = ComfyPool(fast_settings(srv.url), client_id="chained")
        try:
            syncer = backends(pool, tmp_path, lipsync_window="1.5s", lipsync_mode="chained").lipsyncer()
            out = tmp_path / "unit" / "lipsync.mp4"
            out.parent.mkdir()
            with pytest.raises(ComfyExecutionError):
                syncer.animate(image, audio, out, face=None, width=64, height=112, fps=FPS, words=words)
            cache = tmp_path / ".windows-lipsync-all"
            assert len(list(cache.glob("*.mp4"))) == 3 and srv.stats.posts == 4
            syncer.animate(image, audio, out, face=None, width=64, height=112, fps=FPS, words=words)
        finally:
            pool.close()
        assert n >= 6 and srv.stats.posts == 4 + (n - 3), "the second attempt made only the windows left"
    assert abs(frame_count(out) - seconds * FPS) <= 1


def test_a_window_the_server_finished_before_a_crash_is_collected_not_run_again(tmp_path: Path, image: Path,
                                                                                 monkeypatch: pytest.MonkeyPatch,
                                                                                 ) -> None:  # fmt: skip
    """The process dies after the server ran window 3 but before its clip was kept: the next attempt follows
    the prompt id recorded for that window and downloads its output instead of posting it again."""
    from vivant.backends.comfyui import windows as windows_module

    seconds = 6.0
    audio = narration(tmp_path, seconds)
    words = speech(seconds, seed=5)
    n = len(plan(words, seconds, 1.5))
    real_fit = windows_module.fit_clip
    calls = {"n": 0}

    def dies_on_the_third(*args: object, **kw: object) -> Path:
        calls["n"] += 1
        if calls["n"] == 3:
            raise KeyboardInterrupt("the process is killed")
        return real_fit(*args, **kw)  # type: ignore[arg-type]

    with ComfyTestServer(tmp_path / "comfy", flavour="2026") as srv:
        pool = ComfyPool(fast_settings(srv.url), client_id="crash")
        try:
            syncer = backends(pool, tmp_path, lipsync_window="1.5s", lipsync_mode="chained").lipsyncer()
            out = tmp_path / "unit" / "lipsync.mp4"
            out.parent.mkdir()
            monkeypatch.setattr(windows_module, "fit_clip", dies_on_the_third)
            with pytest.raises(KeyboardInterrupt):
                syncer.animate(image, audio, out, face=None, width=64, height=112, fps=FPS, words=words)
            assert srv.stats.posts == 3 and len(list((tmp_path / ".windows-lipsync-all").glob("*.prompt"))) == 3
            monkeypatch.setattr(windows_module, "fit_clip", real_fit)
            syncer.animate(image, audio, out, face=None, width=64, height=112, fps=FPS, words=words)
            assert pool.stats.counts["adopted"] == 1
        finally:
            pool.close()
        assert n >= 4 and srv.stats.posts == n, "every window posted once, the third one included"
    assert abs(frame_count(out) - seconds * FPS) <= 1
