"""The final render (one ffmpeg graph), the thumbnail and the music choice, on tiny generated clips."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from vivant.backends import ffmpeg
from vivant.backends.local.fonts import ASS_FONT_FAMILY, find_fonts_dir, font_family, font_file
from vivant.errors import InputError
from vivant.render import FinalSpec, filter_path, make_thumbnail, pick_music, render_final
from vivant.roles import WordTiming
from vivant.subtitles import build_ass, layout

W, H, FPS = 1080, 1920, 25
INTRO, SPEECH, OUTRO = 1.5, 3.0, 1.0
TOTAL = INTRO + SPEECH + OUTRO
TITLE = "Portrait de l’artiste: l'homme, 1886"
WORDS = "Voici Madame Cézanne en bleu, peinte par Paul Cézanne."
SAMPLE_T = INTRO + 0.5  # the second word is highlighted


def _encode(args: list[str], out: Path) -> Path:
    ffmpeg.run([*args, "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-r", str(FPS), out])
    return out


@dataclass(frozen=True)
class Inputs:
    folder: Path
    transition: Path
    lipsync: Path
    outro: Path
    subtitles: Path
    music: Path
    words: list[WordTiming]

    @property
    def clips(self) -> list[Path]:
        return [self.transition, self.lipsync, self.outro]


@pytest.fixture(scope="module")
def inputs(tmp_path_factory: pytest.TempPathFactory) -> Inputs:
    # A folder name that needs escaping inside a filtergraph.
    folder = tmp_path_factory.mktemp("render") / "l'atelier, 1: clips"
    folder.mkdir()
    transition = _encode(["-f", "lavfi", "-i", f"testsrc2=s={W}x{H}:r={FPS}:d={INTRO}"], folder / "transition.mp4")
    lipsync = _encode(
        [
            "-f", "lavfi", "-i", f"color=c=0x203040:s={W}x{H}:r={FPS}:d={SPEECH}",
            "-f", "lavfi", "-i", f"sine=f=220:r=22050:d={SPEECH},volume=0.3",
            "-c:a", "aac", "-shortest",
        ],
        folder / "lipsync.mp4",
    )  # fmt: skip
    outro = _encode(["-f", "lavfi", "-i", f"color=c=0x402030:s={W}x{H}:r={FPS}:d={OUTRO}"], folder / "outro.mp4")
    music = folder / "music.wav"
    ffmpeg.run(["-f", "lavfi", "-i", "sine=f=330:r=44100:d=2,volume=0.5", "-ac", "2", music])
    words = [WordTiming(word=w, start=0.35 * i, end=0.35 * i + 0.3) for i, w in enumerate(WORDS.split())]
    subtitles = folder / "subs.ass"
    fonts = find_fonts_dir(None)
    subtitles.write_text(build_ass(words, width=W, height=H, offset=INTRO, font=font_family(fonts)), encoding="utf-8")
    return Inputs(folder, transition, lipsync, outro, subtitles, music, words)


@dataclass(frozen=True)
class Renders:
    ambient: Path
    """Subtitles, a title with an apostrophe, a colon and a comma, the generated ambient bed."""
    music: Path
    """No subtitles, a music file (shorter than the video, so looped)."""


@pytest.fixture(scope="module")
def renders(inputs: Inputs) -> Renders:
    ambient = inputs.folder / "final ambient.mp4"
    seen: list[float] = []
    render_final(
        FinalSpec(clips=inputs.clips, title=TITLE, artist="Paul Cézanne", year=1886, subtitles=inputs.subtitles),
        ambient,
        progress=seen.append,
    )
    assert seen and max(seen) > TOTAL / 2
    music = inputs.folder / "final music.mp4"
    render_final(
        FinalSpec(
            clips=inputs.clips, title="Madame Cézanne in Blue", artist="Paul Cézanne", music=inputs.music,
            watermark=None,
        ),
        music,
    )  # fmt: skip
    return Renders(ambient, music)


def frame(video: Path, t: float, tmp: Path) -> np.ndarray:
    png = tmp / f"{video.stem}-{t:.2f}.png"
    ffmpeg.run(["-ss", f"{t:.3f}", "-i", video, "-frames:v", "1", png])
    with Image.open(png) as im:
        return np.asarray(im.convert("RGB")).astype(np.int32)


def subtitle_band(rgb: np.ndarray) -> np.ndarray:
    lay = layout(W, H)
    bottom = H - lay.margin_v + lay.font_size // 2
    return rgb[bottom - 3 * lay.font_size : bottom]


def yellow_pixels(rgb: np.ndarray) -> int:
    r, g, b = rgb[..., 0], rgb[..., 1], rgb[..., 2]
    return int(((r > 200) & (g > 190) & (b < 100)).sum())


@pytest.mark.parametrize("which", ["ambient", "music"])
def test_final_format_and_duration(renders: Renders, which: str) -> None:
    info = ffmpeg.probe(getattr(renders, which))
    assert (info.width, info.height) == (W, H)
    assert info.video_codec == "h264" and info.audio_codec == "aac" and info.pix_fmt == "yuv420p"
    assert info.duration == pytest.approx(TOTAL, abs=0.15)


@pytest.mark.parametrize("which", ["ambient", "music"])
def test_final_loudness_is_normalised(renders: Renders, which: str) -> None:
    assert ffmpeg.loudness(getattr(renders, which)) == pytest.approx(-14.0, abs=1.5)


def test_audio_is_48k_stereo_faststart(renders: Renders) -> None:
    err = ffmpeg.run(["-i", renders.ambient, "-map", "0:a", "-t", "0.1", "-f", "null", "-"])
    assert "48000 Hz, stereo" in err
    data = renders.ambient.read_bytes()
    assert 0 <= data.find(b"moov") < data.find(b"mdat")  # +faststart: the index comes first


def test_ambient_bed_is_audible_but_quiet(renders: Renders, tmp_path: Path) -> None:
    intro = tmp_path / "intro.wav"
    ffmpeg.run(["-ss", "0.5", "-t", f"{INTRO - 0.6:.2f}", "-i", renders.ambient, "-vn", intro])
    bed = ffmpeg.loudness(intro)
    assert -45.0 < bed < -18.0


def test_subtitles_render_with_the_highlight(renders: Renders, tmp_path: Path) -> None:
    with_subs = subtitle_band(frame(renders.ambient, SAMPLE_T, tmp_path))
    without = subtitle_band(frame(renders.music, SAMPLE_T, tmp_path))
    assert yellow_pixels(with_subs) > 500
    assert yellow_pixels(without) == 0
    white = ((with_subs > 220).all(axis=-1)).sum()
    assert white > 500  # the other word of the line, in white
    assert np.abs(with_subs - without).mean() > 5


def test_title_shows_then_fades(renders: Renders, tmp_path: Path) -> None:
    def top(t: float) -> np.ndarray:
        return frame(renders.ambient, t, tmp_path)[int(0.73 * H) : int(0.92 * H)]

    during, after = top(SAMPLE_T), top(INTRO + SPEECH - 0.2)
    assert ((during > 230).all(axis=-1)).sum() > 2000  # white title letters on the navy clip
    assert ((after > 230).all(axis=-1)).sum() < 50


def test_duration_hint(inputs: Inputs) -> None:
    spec = FinalSpec(clips=inputs.clips, title="t", artist="a")
    assert spec.duration_hint == pytest.approx(TOTAL, abs=0.1)
    assert FinalSpec(clips=[Path("/nonexistent.mp4")], title="t", artist="a").duration_hint == 0.0


def test_missing_clip_is_an_input_error(inputs: Inputs, tmp_path: Path) -> None:
    with pytest.raises(InputError):
        render_final(FinalSpec(clips=[tmp_path / "nope.mp4"], title="t", artist="a"), tmp_path / "x.mp4")


def test_thumbnail_from_video_and_image(inputs: Inputs, tmp_path: Path, paintings_dir: Path) -> None:
    fonts = find_fonts_dir(None)
    out = tmp_path / "thumb.jpg"
    make_thumbnail(inputs.lipsync, out, title=TITLE, artist="Paul Cézanne", fonts_dir=fonts)
    with Image.open(out) as im:
        assert im.format == "JPEG" and im.size == (W, H)
    painting = paintings_dir / "vermeer_girl-with-a-pearl-earring.jpg"
    out2 = tmp_path / "thumb2.jpg"
    make_thumbnail(painting, out2, title="Girl with a Pearl Earring", artist="Vermeer", fonts_dir=fonts,
                   width=540, height=960)  # fmt: skip
    with Image.open(out2) as im:
        assert im.format == "JPEG" and im.size == (540, 960)


def test_pick_music_is_deterministic(tmp_path: Path) -> None:
    assert pick_music(None, "x") is None
    assert pick_music(tmp_path / "absent", "x") is None
    assert pick_music(tmp_path, "x") is None
    for name in ("b.mp3", "a.WAV", "c.ogg", "notes.txt", "d.flac", "e.m4a"):
        (tmp_path / name).write_bytes(b"")
    picks = {pick_music(tmp_path, f"item-{k}") for k in range(40)}
    assert picks <= {tmp_path / n for n in ("b.mp3", "a.WAV", "c.ogg", "d.flac", "e.m4a")}
    assert len(picks) >= 3
    assert pick_music(tmp_path, "item-7") == pick_music(tmp_path, "item-7")


def test_fonts(tmp_path: Path) -> None:
    default = find_fonts_dir(None)
    assert font_file(default, bold=True).name == "DejaVuSans-Bold.ttf"
    assert font_file(default, bold=False).name == "DejaVuSans.ttf"
    assert font_family(default) == ASS_FONT_FAMILY
    empty = tmp_path / "empty"
    empty.mkdir()
    assert find_fonts_dir(empty) == default
    custom = tmp_path / "custom"
    custom.mkdir()
    for name in ("Serif-Italic.ttf", "Serif-Bold.ttf", "Serif.ttf"):
        (custom / name).write_bytes((default / "DejaVuSerif.ttf").read_bytes())
    assert find_fonts_dir(custom) == custom
    assert font_file(custom, bold=True).name == "Serif-Bold.ttf"
    assert font_file(custom, bold=False).name == "Serif.ttf"


def test_filter_path_escapes_both_levels() -> None:
    assert filter_path("/a/b.ass") == "/a/b.ass"
    assert filter_path("/x/l'a, b: c") == "/x/l\\\\\\'a\\, b\\\\: c"
