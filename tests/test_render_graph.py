"""Step 9's FFmpeg graph as data: built by pure functions and checked here without running ffmpeg."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from PIL import Image

from vivant.backends import ffmpeg
from vivant.backends.local.fonts import find_fonts_dir
from vivant.config import RenderSettings
from vivant.errors import FFmpegError
from vivant.render import FinalSpec, make_thumbnail
from vivant.render import graph as g
from vivant.render.loudness import Loudness, meters, parse
from vivant.render.spec import Clip
from vivant.render.titles import fit_lines

CLIPS = [Clip(Path("/c/transition.mp4"), 1.5, False), Clip(Path("/c/lipsync.mp4"), 3.0, True),
         Clip(Path("/c/outro.mp4"), 1.0, False)]  # fmt: skip
TOTAL = 5.5
MIX = Loudness(integrated=-17.5, threshold=-28.0, lra=6.0, true_peak=-3.25)
WORK = Path("/w/l'atelier")
TITLE = "Portrait de l'artiste: un titre long qui ne tient pas sur une ligne"


def _final(tmp: Path | None = None, **kw: object) -> tuple[FinalSpec, g.Graph]:
    spec = FinalSpec(clips=[c.path for c in CLIPS], **{"title": TITLE, "artist": "Paul Cézanne", **kw})  # type: ignore[arg-type]
    command = g.final_graph(spec, CLIPS, fonts_dir=find_fonts_dir(None), workdir=tmp or WORK, gain_db=-3.0,
                            mix=MIX, out=Path("/o/final.mp4"))  # fmt: skip
    return spec, command


def _chain(command: g.Graph, label: str) -> str:
    """The chain of the graph that ends in ``[label]``."""
    (found,) = [f for f in command.filters if f.endswith(f"[{label}]")]
    return found


def test_concat_joins_every_clip_fitted_to_the_frame() -> None:
    _, command = _final()
    assert command.inputs == ["-i", "/c/transition.mp4", "-i", "/c/lipsync.mp4", "-i", "/c/outro.mp4"]
    for i in range(3):
        assert f"[{i}:v]scale=1080:1920:force_original_aspect_ratio=decrease,pad=1080:1920" in command.script()
    assert "[v0][v1][v2]concat=n=3:v=1:a=0,tpad=stop_mode=clone" in _chain(command, "vout")
    assert "trim=duration=5.5" in _chain(command, "vout")
    voice = [f for f in command.filters if f.endswith(("[a0]", "[a1]", "[a2]", "[voice]"))]
    assert voice[0].startswith("anullsrc=") and "d=1.5" in voice[0]  # a silent clip gets silence
    assert voice[1].startswith("[1:a]") and "atrim=duration=3," in voice[1]
    assert voice[3] == "[a0][a1][a2]concat=n=3:v=0:a=1[voice]"


def test_title_and_artist_fade_in_balanced_lines_read_from_files() -> None:
    _, command = _final(year=1886)
    title_files = sorted(p for p in command.texts if p.name.startswith("title"))
    assert len(title_files) >= 2  # wrapped
    assert " ".join(command.texts[p] for p in title_files) == TITLE
    assert command.texts[WORK / "artist0.txt"] == "Paul Cézanne, 1886"
    texts = [f for f in _chain(command, "vout").split(",drawtext=")[1:]]
    assert len(texts) == len(title_files) + 2  # title lines, byline, watermark
    first = texts[0]
    assert "textfile=/w/l\\\\\\'atelier/title0.txt" in first and "expansion=none" in first
    assert "enable='lt(t,3)'" in first and "alpha='if(lt(t,0.5),t/0.5," in first
    ys = [int(m) for m in re.findall(r":y=(\d+)", _chain(command, "vout"))]
    assert ys[0] == round(0.74 * 1920) and ys[: len(title_files) + 1] == sorted(ys[: len(title_files) + 1])


def test_long_title_is_wrapped_to_width_and_shrunk_to_fit() -> None:
    bold = find_fonts_dir(None) / "DejaVuSans-Bold.ttf"
    from PIL import ImageFont

    lines, size = fit_lines(TITLE, bold, 92, 900, max_lines=2, min_size=40)
    face = ImageFont.truetype(str(bold), size)
    assert len(lines) <= 2 and size < 92
    assert all(face.getlength(line) <= 900 for line in lines)
    widths = [face.getlength(line) for line in lines]
    assert max(widths) - min(widths) < 0.5 * max(widths)  # balanced, not greedy


def test_watermark_and_no_title() -> None:
    _, command = _final(title_seconds=0)
    assert list(command.texts.values()) == ["Tableau Vivant"]
    assert "fontcolor=white@0.6" in _chain(command, "vout")
    _, bare = _final(title_seconds=0, watermark=None)
    assert bare.texts == {} and "drawtext" not in bare.script()


def test_subtitles_are_burned_with_the_fonts_folder() -> None:
    _, command = _final(subtitles=Path("/s/sous-titres, fr.ass"))
    assert f"subtitles=filename=/s/sous-titres\\, fr.ass:fontsdir={find_fonts_dir(None)}" in _chain(command, "vout")
    assert "subtitles=" not in _final()[1].script()


def _duck_at(expr: str, t: float) -> float:
    env = {"t": t, "clip": lambda x, lo, hi: min(max(x, lo), hi), "max": max}
    return float(eval(expr, env))  # our own expression: numbers, t, clip and max


def test_music_is_ducked_under_the_voice() -> None:
    spans = g.speech_spans(CLIPS)
    assert spans == [(1.5, 4.5)]
    expr = g.duck_expr(spans, 10.0)
    assert _duck_at(expr, 0.5) == pytest.approx(1.0)
    assert _duck_at(expr, 3.0) == pytest.approx(10 ** (-10 / 20), abs=1e-3)
    assert _duck_at(expr, 5.2) == pytest.approx(1.0)
    assert 0.32 < _duck_at(expr, 1.5 - g.DUCK_RAMP / 2) < 1.0  # a ramp, not a jump
    assert g.duck_expr(spans, 0) == "1" and g.duck_expr([], 10.0) == "1"
    two = g.duck_expr([(1.0, 2.0), (4.0, 5.0)], 6.0)
    assert _duck_at(two, 1.5) == pytest.approx(_duck_at(two, 4.5)) == pytest.approx(10 ** (-6 / 20), abs=1e-3)
    music = g.music_chain(FinalSpec(clips=[], title="", artist=""), CLIPS, -3.0)
    assert music.startswith("[mraw]volume=-3.00dB,volume=volume='1-") and "afade=t=out:st=3.5:d=2" in music


def test_music_file_is_looped_and_ambient_bed_generated_otherwise() -> None:
    _, command = _final(music=Path("/m/air.mp3"))
    assert command.inputs[-4:] == ["-stream_loop", "-1", "-i", "/m/air.mp3"]
    assert _chain(command, "mraw").startswith("[3:a]aresample=48000")
    _, ambient = _final()
    assert "sine=f=110.0" in ambient.script() and "[3:a]" not in ambient.script()
    assert _chain(ambient, "mix") == "[voice][music]amix=inputs=2:normalize=0:duration=first[mix]"


def test_music_level_under_the_voice() -> None:
    spec = FinalSpec(clips=[], title="", artist="", music_gain_db=-20.0, duck_db=10.0, loudness_lufs=-14.0)
    voice, bed = Loudness(-18.0, -28.0, 4.0, -3.0), Loudness(-30.0, -40.0, 2.0, -12.0)
    assert g.music_gain(spec, voice, bed) == pytest.approx(-18.0 - 20.0 + 10.0 + 30.0)
    silent = Loudness(None, -70.0, 0.0, -99.0)
    assert g.music_gain(spec, silent, bed) == pytest.approx(-14.0 - 20.0 + 10.0 + 30.0)
    assert g.music_gain(spec, voice, silent) == 0.0


def test_loudness_is_normalised_linearly_with_the_measured_mix() -> None:
    _, command = _final(loudness_lufs=-16.0)
    out = _chain(command, "aout")
    assert out.startswith("[mix]loudnorm=I=-16:TP=-1.5:LRA=20.0:measured_I=-17.5:measured_TP=-3.25")
    assert ":linear=true" in out and "alimiter=limit=0.8414" in out and out.endswith("atrim=duration=5.5[aout]")
    unheard = g.loudness_chain(FinalSpec(clips=[], title="", artist=""), Loudness(None, -70.0, 0.0, -99.0), 2.0)
    assert "measured_I" not in unheard and "linear" not in unheard


def test_measurement_passes_and_their_summaries() -> None:
    spec = FinalSpec(clips=[], title="", artist="")
    levels = g.levels_pass(spec, CLIPS)
    assert levels.filters[-2:] == ["[voice]ebur128=framelog=quiet[meter0]", "[mraw]ebur128=framelog=quiet[meter1]"]
    assert levels.outputs == ["-map", "[meter0]", "-f", "null", "-", "-map", "[meter1]", "-f", "null", "-"]
    assert "-nostats" in levels.inputs and not any(":v]" in f for f in levels.filters)  # audio only
    assert meters(["mix"])[0] == ["[mix]ebur128=framelog=quiet:peak=true[meter0]"]
    stderr = "".join(
        f"[Parsed_ebur128_{k} @ 0x55] Summary:\n  Integrated loudness:\n    I:  {i} LUFS\n    Threshold: -31.0 LUFS\n"
        f"  Loudness range:\n    LRA:  4.5 LU\n  True peak:\n    Peak:  -inf dBFS\n"
        for k, i in ((12, "-70.0"), (3, "-19.5"))
    )
    voice, bed = parse(stderr, ["voice", "mraw"])
    assert voice == Loudness(-19.5, -31.0, 4.5, -99.0)  # sorted by filter number; -inf read as the default
    assert bed.integrated is None  # silence
    with pytest.raises(FFmpegError):
        parse("no summary", ["mix"])


def test_encode_arguments_and_metadata() -> None:
    _, command = _final(metadata={"language": "fr", "comment": "x"})
    out = command.outputs
    assert out[:4] == ["-map", "[vout]", "-map", "[aout]"] and out[-1] == "/o/final.mp4"
    assert out[out.index("-t") + 1] == "5.5" and "+faststart" in out
    assert out[out.index("-metadata:s:a:0") + 1] == "language=fr"
    assert f"title={TITLE}" in out and "comment=x" in out
    assert command.args(Path("/w/g")) == [*command.inputs, "-/filter_complex", "/w/g", *out]


def test_graph_writes_its_texts_and_script(tmp_path: Path) -> None:
    _, command = _final(tmp_path)
    args = command.write(tmp_path / "final.graph")
    assert (tmp_path / "final.graph").read_text(encoding="utf-8") == command.script()
    assert all(p.read_text(encoding="utf-8") == t for p, t in command.texts.items())
    assert args[args.index("-/filter_complex") + 1] == str(tmp_path / "final.graph")


def test_spec_from_settings() -> None:
    render = RenderSettings(width=720, height=1280, fps=30, crf=20, watermark="", title_seconds=2.0)
    spec = FinalSpec.from_settings(render, clips=[Path("a.mp4")], title="T", artist="A", year=1900)
    assert (spec.width, spec.height, spec.fps, spec.crf, spec.title_seconds) == (720, 1280, 30, 20, 2.0)
    assert spec.watermark is None and spec.year == 1900 and spec.clips == [Path("a.mp4")]


def test_thumbnail_from_an_image_needs_no_ffmpeg(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def no_ffmpeg(*a: object, **k: object) -> str:
        raise AssertionError("ffmpeg ran")

    monkeypatch.setattr(ffmpeg, "run", no_ffmpeg)
    painting = tmp_path / "p.png"
    Image.new("RGB", (400, 600), (40, 90, 160)).save(painting)
    out = tmp_path / "cover.jpg"
    make_thumbnail(painting, out, title=TITLE, artist="Paul Cézanne", fonts_dir=find_fonts_dir(None), width=270,
                   height=480)  # fmt: skip
    with Image.open(out) as im:
        rgb = im.convert("RGB")
        assert im.format == "JPEG" and im.size == (270, 480)
        assert sum(rgb.getpixel((x, 480 // 2))[2] for x in range(0, 270, 10)) > 27 * 120  # the painting
        assert max(rgb.getpixel((x, y))[0] for x in range(270) for y in range(40, 140)) > 200  # the title in white
