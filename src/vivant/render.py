"""The final render (step 9): the clips, subtitles, title, watermark and music in one FFmpeg graph.

:func:`render_final` joins the clips with the ``concat`` filter (one decode, one encode), burns in the ASS
subtitles with libass, draws the title and artist over the first seconds with a fade and a small watermark
with ``drawtext`` (texts come from files, so no quoting of titles is needed), lays a music bed under the voice
(a file, looped or trimmed, or an ambient bed generated inside the graph), ducks it while the narration
speaks, fades it out at the end and normalises the loudness.

Loudness is normalised in two passes: two quick audio-only ffmpeg runs measure (with ``ebur128``; the video
is not decoded) first the narration and the music, to level the music under the voice, then the mix; the
render then applies ``loudnorm`` in linear mode with those measurements, and a peak limiter. The video and
the final audio are made by a single ffmpeg command.

:func:`make_thumbnail` draws a JPEG cover and :func:`pick_music` chooses a music file deterministically.
"""

from __future__ import annotations

import hashlib
import logging
import math
import os
import re
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

from vivant.backends import ffmpeg
from vivant.backends.local.fonts import find_fonts_dir, font_file
from vivant.config import RenderSettings
from vivant.errors import FFmpegError, InputError, WorkspaceError

log = logging.getLogger(__name__)

MUSIC_SUFFIXES = (".mp3", ".wav", ".ogg", ".flac", ".m4a")
SAMPLE_RATE = 48000
TRUE_PEAK_DB = -1.5
LOUDNORM_LRA = 20.0
"""Generous: the music-only intro and outro widen the range, and linear mode needs measured LRA <= target."""
_DUCK_RAMP = 0.35
_MUSIC_FADE_IN = 1.0
_MUSIC_FADE_OUT = 2.0
_TITLE_FADE_IN = 0.5
_TITLE_FADE_OUT = 0.7


@dataclass(frozen=True)
class FinalSpec:
    """Everything the final render needs.

    ``clips`` are played in order (normally transition, lip-sync, outro), each already ``width`` x ``height``;
    a clip's audio, when it has some, is the narration, and the clips without audio get silence. The
    subtitles' times must already include the offset of the narration (the first clip's duration).
    ``music_gain_db`` is the level of the music under the narration relative to the narration's loudness;
    where nobody speaks the music is ``duck_db`` louder.
    """

    clips: Sequence[Path]
    title: str
    artist: str
    year: int | None = None
    subtitles: Path | None = None
    watermark: str | None = "Tableau Vivant"
    music: Path | None = None
    fonts_dir: Path | None = None
    width: int = 1080
    height: int = 1920
    fps: int = 25
    preset: str = "veryfast"
    crf: int = 23
    loudness_lufs: float = -14.0
    music_gain_db: float = -20.0
    duck_db: float = 10.0
    title_seconds: float = 3.0
    title_top: float = 0.74
    """Top of the title block, as a share of the height: below the painting, clear of the face."""
    metadata: dict[str, str] = field(default_factory=dict)

    @cached_property
    def duration_hint(self) -> float:
        """The video's length in seconds (the sum of the clips'), probed once; 0 if a clip cannot be read."""
        try:
            return sum(ffmpeg.probe(Path(c)).duration for c in self.clips)
        except FFmpegError:
            return 0.0

    @classmethod
    def from_settings(
        cls,
        render: RenderSettings,
        *,
        clips: Sequence[Path],
        title: str,
        artist: str,
        year: int | None = None,
        subtitles: Path | None = None,
        music: Path | None = None,
    ) -> FinalSpec:
        return cls(
            clips=list(clips),
            title=title,
            artist=artist,
            year=year,
            subtitles=subtitles,
            watermark=render.watermark or None,
            music=music,
            fonts_dir=render.fonts_dir,
            width=render.width,
            height=render.height,
            fps=render.fps,
            preset=render.preset,
            crf=render.crf,
            loudness_lufs=render.loudness_lufs,
            music_gain_db=render.music_gain_db,
            title_seconds=render.title_seconds,
        )


# -- filtergraph text ----------------------------------------------------------------------------------------


def filter_path(path: Path | str) -> str:
    """Escape a file path for a filter option inside a filtergraph (both levels of FFmpeg's escaping)."""
    value = re.sub(r"([\\':])", r"\\\1", str(path))
    return re.sub(r"([\\'\[\],;])", r"\\\1", value)


def _num(x: float) -> str:
    return f"{x:.4f}".rstrip("0").rstrip(".") if not float(x).is_integer() else str(int(x))


@dataclass(frozen=True)
class _Clip:
    path: Path
    duration: float
    has_audio: bool


def _probe_clips(paths: Sequence[Path]) -> list[_Clip]:
    if not paths:
        raise InputError("final render: no clips given")
    clips = []
    for p in paths:
        if not p.is_file():
            raise InputError(f"{p}: clip is missing")
        info = ffmpeg.probe(p)
        if info.width is None or info.duration <= 0:
            raise InputError(f"{p}: not a video clip (no video stream or zero duration)")
        clips.append(_Clip(p, info.duration, info.audio_codec is not None))
    return clips


_AFORMAT = f"aresample={SAMPLE_RATE},aformat=sample_fmts=fltp:channel_layouts=stereo"


def _voice_chain(clips: Sequence[_Clip], first_input: int = 0) -> list[str]:
    """Filters making ``[voice]``: each clip's audio (or silence) padded/trimmed to the clip, concatenated."""
    parts = []
    for i, c in enumerate(clips):
        d = _num(c.duration)
        if c.has_audio:
            parts.append(f"[{first_input + i}:a]{_AFORMAT},apad,atrim=duration={d},asetpts=PTS-STARTPTS[a{i}]")
        else:
            parts.append(f"anullsrc=r={SAMPLE_RATE}:cl=stereo:d={d},aformat=sample_fmts=fltp[a{i}]")
    labels = "".join(f"[a{i}]" for i in range(len(clips)))
    parts.append(f"{labels}concat=n={len(clips)}:v=0:a=1[voice]")
    return parts


def _ambient_bed(total: float) -> list[str]:
    """Filters making ``[mraw]``: a soft A-minor pad of low sines with slow tremolo and a breath of noise."""
    d = _num(total)
    tones = [(110.0, 0.11, 0.5, 1.0), (164.81, 0.13, 0.6, 0.7), (220.0, 0.17, 0.7, 0.45), (261.63, 0.1, 0.8, 0.3)]
    parts = []
    for k, (freq, rate, depth, gain) in enumerate(tones):
        parts.append(f"sine=f={freq}:r={SAMPLE_RATE}:d={d},tremolo=f={rate}:d={depth},volume={gain}[bed{k}]")
    parts.append(f"anoisesrc=c=pink:r={SAMPLE_RATE}:a=0.05:d={d}:seed=7,lowpass=f=500,lowpass=f=500[bednoise]")
    labels = "".join(f"[bed{k}]" for k in range(len(tones)))
    parts.append(
        f"{labels}[bednoise]amix=inputs={len(tones) + 1}:normalize=0,lowpass=f=1400,"
        f"aecho=0.8:0.6:73|131:0.25|0.18,{_AFORMAT}[mraw]"
    )
    return parts


def _music_raw(music: Path | None, total: float, music_input: int) -> list[str]:
    if music is None:
        return _ambient_bed(total)
    return [f"[{music_input}:a]{_AFORMAT},atrim=duration={_num(total)},asetpts=PTS-STARTPTS[mraw]"]


def _speech_spans(clips: Sequence[_Clip]) -> list[tuple[float, float]]:
    spans, t = [], 0.0
    for c in clips:
        if c.has_audio:
            spans.append((t, t + c.duration))
        t += c.duration
    return spans


def _duck_expr(spans: Sequence[tuple[float, float]], duck_db: float) -> str:
    """A volume expression: 1 where nobody speaks, ``-duck_db`` dB during speech, with short ramps."""
    if not spans or duck_db <= 0:
        return "1"
    low = 10 ** (-duck_db / 20)
    r = _DUCK_RAMP
    terms = [f"clip((t-{_num(s - r)})/{r},0,1)*clip(({_num(e + r)}-t)/{r},0,1)" for s, e in spans]
    m = terms[0]
    for term in terms[1:]:
        m = f"max({m},{term})"
    return f"1-{_num(1 - low)}*{m}"


def _music_chain(spec: FinalSpec, clips: Sequence[_Clip], total: float, gain_db: float) -> list[str]:
    fade_out = min(_MUSIC_FADE_OUT, total / 2)
    return [
        f"[mraw]volume={gain_db:.2f}dB,volume=volume='{_duck_expr(_speech_spans(clips), spec.duck_db)}':eval=frame,"
        f"afade=t=in:d={_num(min(_MUSIC_FADE_IN, total / 2))},"
        f"afade=t=out:st={_num(total - fade_out)}:d={_num(fade_out)}[music]"
    ]


@dataclass(frozen=True)
class Loudness:
    """ebur128's summary: integrated loudness and its gate (LUFS), loudness range (LU), true peak (dBFS)."""

    integrated: float | None
    threshold: float
    lra: float
    true_peak: float


_SUMMARY = re.compile(r"\[Parsed_ebur128_(\d+) @ [^\]]*\] Summary:(.*?)(?=\[Parsed_ebur128_|\Z)", re.S)


def _value(name: str, text: str, default: float) -> float:
    found = re.search(rf"{name}:\s+(-?(?:\d+(?:\.\d+)?|inf))", text)
    if not found:
        return default
    x = float(found.group(1))
    return x if math.isfinite(x) else default


def _measure(inputs: Sequence[str], graph: Sequence[str], labels: Sequence[str], workdir: Path) -> list[Loudness]:
    """One audio-only pass measuring each of ``labels`` with ebur128 (cheap; the video is not decoded)."""
    peak = ":peak=true" if len(labels) == 1 else ""
    meters = [f"[{label}]ebur128=framelog=quiet{peak}[meter{k}]" for k, label in enumerate(labels)]
    graph_file = workdir / f"measure-{'-'.join(labels)}.graph"
    graph_file.write_text(";\n".join([*graph, *meters]), encoding="utf-8")
    outputs: list[str] = []
    for k in range(len(labels)):
        outputs += ["-map", f"[meter{k}]", "-f", "null", "-"]
    err = ffmpeg.run([*inputs, "-nostats", "-/filter_complex", graph_file, *outputs])
    # Filters are numbered in the order of the graph text, so the meters' summaries sort into ``labels``' order.
    found = sorted((int(m.group(1)), m.group(2)) for m in _SUMMARY.finditer(err))
    if len(found) != len(labels):
        raise FFmpegError(f"loudness measurement of {', '.join(labels)} printed no result", stderr_tail=err)
    results = []
    for _, text in found:
        integrated = _value("I", text, -70.0)
        results.append(
            Loudness(
                integrated=integrated if integrated > -69.0 else None,
                threshold=_value("Threshold", text, -70.0),
                lra=_value("LRA", text, 0.0),
                true_peak=_value("Peak", text, -99.0),
            )
        )
    return results


# -- text layout ---------------------------------------------------------------------------------------------


def _wrap(words: Sequence[str], width_of: Callable[[str], float], max_width: float) -> list[str]:
    """Greedy wrap, then the same number of lines re-split so that the widest line is as narrow as possible."""
    greedy: list[str] = []
    for word in words:
        if greedy and width_of(greedy[-1] + " " + word) <= max_width:
            greedy[-1] += " " + word
        else:
            greedy.append(word)
    k, n = len(greedy), len(words)
    if k < 2 or n > 40:
        return greedy
    # best[j][m]: (widest line, breaks) for the first j words in m lines
    inf = (float("inf"), ())
    best: list[list[tuple[float, tuple[int, ...]]]] = [[inf] * (k + 1) for _ in range(n + 1)]
    best[0][0] = (0.0, ())
    for j in range(1, n + 1):
        for m in range(1, min(j, k) + 1):
            for i in range(m - 1, j):
                prev = best[i][m - 1]
                if prev[0] == float("inf"):
                    continue
                widest = max(prev[0], width_of(" ".join(words[i:j])))
                if widest < best[j][m][0]:
                    best[j][m] = (widest, (*prev[1], j))
    widest, breaks = best[n][k]
    if widest == float("inf"):
        return greedy
    starts = (0, *breaks[:-1])
    return [" ".join(words[a:b]) for a, b in zip(starts, breaks, strict=True)]


def fit_lines(
    text: str, font: Path, size: int, max_width: float, *, max_lines: int = 3, min_size: int = 12
) -> tuple[list[str], int]:
    """Wrap ``text`` to ``max_width`` pixels in balanced lines, shrinking the font until it fits in
    ``max_lines`` lines. Return the lines and the font size."""
    from PIL import ImageFont

    words = text.split()
    while True:
        face = ImageFont.truetype(str(font), size)
        lines = _wrap(words, face.getlength, max_width)
        fits = len(lines) <= max_lines and all(face.getlength(line) <= max_width for line in lines)
        if fits or size <= min_size:
            return lines, size
        size = max(min_size, int(size * 0.9))


def _drawtext(
    textfile: Path,
    font: Path,
    size: int,
    *,
    x: str,
    y: int,
    color: str = "white",
    border: int = 0,
    shadow: int = 0,
    alpha: str | None = None,
    enable: str | None = None,
) -> str:
    opts = [
        f"fontfile={filter_path(font)}",
        f"textfile={filter_path(textfile)}",
        "expansion=none",
        f"fontsize={size}",
        f"fontcolor={color}",
        f"x={x}",
        f"y={y}",
    ]
    if border:
        opts += [f"borderw={border}", "bordercolor=black@0.85"]
    if shadow:
        opts += [f"shadowx={shadow}", f"shadowy={shadow}", "shadowcolor=black@0.5"]
    if alpha:
        opts.append(f"alpha='{alpha}'")
    if enable:
        opts.append(f"enable='{enable}'")
    return "drawtext=" + ":".join(opts)


def _overlay_filters(spec: FinalSpec, fonts_dir: Path, workdir: Path) -> list[str]:
    """drawtext filters for the title, the artist line and the watermark."""
    w, h = spec.width, spec.height
    filters: list[str] = []
    bold, regular = font_file(fonts_dir, bold=True), font_file(fonts_dir, bold=False)
    ts = spec.title_seconds
    if ts > 0 and (spec.title.strip() or spec.artist.strip()):
        fade_in = min(_TITLE_FADE_IN, ts / 3)
        fade_out = min(_TITLE_FADE_OUT, ts / 3)
        alpha = (
            f"if(lt(t,{_num(fade_in)}),t/{_num(fade_in)},"
            f"if(gt(t,{_num(ts - fade_out)}),max(0,({_num(ts)}-t)/{_num(fade_out)}),1))"
        )
        enable = f"lt(t,{_num(ts)})"
        y = round(spec.title_top * h)
        lines, size = fit_lines(spec.title, bold, round(0.048 * h), 0.84 * w, min_size=round(0.026 * h))
        for k, line in enumerate(lines):
            tf = workdir / f"title{k}.txt"
            tf.write_text(line, encoding="utf-8")
            filters.append(
                _drawtext(tf, bold, size, x="(w-text_w)/2", y=y, border=max(2, size // 14),
                          shadow=max(1, size // 25), alpha=alpha, enable=enable)
            )  # fmt: skip
            y += round(size * 1.22)
        byline = spec.artist.strip() + (f", {spec.year}" if spec.year else "")
        if byline:
            y += round(0.012 * h)
            a_lines, a_size = fit_lines(byline, regular, round(0.03 * h), 0.84 * w, max_lines=2)
            for k, line in enumerate(a_lines):
                tf = workdir / f"artist{k}.txt"
                tf.write_text(line, encoding="utf-8")
                filters.append(
                    _drawtext(tf, regular, a_size, x="(w-text_w)/2", y=y, border=max(2, a_size // 14),
                              shadow=max(1, a_size // 25), alpha=alpha, enable=enable)
                )  # fmt: skip
                y += round(a_size * 1.22)
    if spec.watermark and spec.watermark.strip():
        tf = workdir / "watermark.txt"
        tf.write_text(" ".join(spec.watermark.split()), encoding="utf-8")
        size = max(10, round(0.021 * h))
        filters.append(
            _drawtext(tf, bold, size, x=str(round(0.06 * w)), y=round(0.085 * h), color="white@0.6",
                      shadow=max(1, size // 18))
        )  # fmt: skip
    return filters


# -- the render ----------------------------------------------------------------------------------------------


def render_final(spec: FinalSpec, out: Path, *, progress: ffmpeg.ProgressCallback | None = None) -> None:
    """Render the final short to ``out`` (MP4, H.264 high + AAC 48 kHz stereo) in one ffmpeg command.

    ``progress`` is called with the seconds of video written so far. Raise :class:`InputError` for a missing
    clip, subtitle or music file, :class:`FFmpegError` when ffmpeg fails.
    """
    clips = _probe_clips(spec.clips)
    for extra, what in ((spec.subtitles, "subtitles"), (spec.music, "music")):
        if extra is not None and not extra.is_file():
            raise InputError(f"{extra}: {what} file is missing")
    fonts_dir = find_fonts_dir(spec.fonts_dir)
    total = sum(c.duration for c in clips)
    n = len(clips)
    clip_inputs: list[str] = []
    for c in clips:
        clip_inputs += ["-i", str(c.path)]
    music_inputs = ["-stream_loop", "-1", "-i", str(spec.music)] if spec.music is not None else []

    out.parent.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="vivant-final-") as tmp:
        work = Path(tmp)
        # Pass 1: loudness of the narration and of the music, to set the music's level under the voice.
        voice, bed = _measure(
            [*clip_inputs, *music_inputs], [*_voice_chain(clips), *_music_raw(spec.music, total, n)],
            ["voice", "mraw"], work,
        )  # fmt: skip
        reference = voice.integrated if voice.integrated is not None else spec.loudness_lufs
        gain_db = 0.0
        if bed.integrated is not None:
            gain_db = reference + spec.music_gain_db + spec.duck_db - bed.integrated
        log.debug(
            "final: voice %s LUFS, music %s LUFS, music gain %.1f dB (%.2f s)",
            voice.integrated, bed.integrated, gain_db, time.perf_counter() - started,
        )  # fmt: skip

        audio = [
            *_voice_chain(clips),
            *_music_raw(spec.music, total, n),
            *_music_chain(spec, clips, total, gain_db),
            "[voice][music]amix=inputs=2:normalize=0:duration=first[mix]",
        ]
        # Pass 2: loudness of the mix, for loudnorm's linear mode.
        (mix,) = _measure([*clip_inputs, *music_inputs], audio, ["mix"], work)
        log.debug("final: mix %s (%.2f s)", mix, time.perf_counter() - started)
        limit = 10 ** (TRUE_PEAK_DB / 20)
        loudnorm = f"loudnorm=I={_num(spec.loudness_lufs)}:TP={TRUE_PEAK_DB}:LRA={LOUDNORM_LRA}"
        if mix.integrated is not None:
            loudnorm += (
                f":measured_I={mix.integrated}:measured_TP={mix.true_peak}:measured_LRA={min(mix.lra, 99.0)}"
                f":measured_thresh={mix.threshold}:linear=true"
            )
        audio.append(
            f"[mix]{loudnorm}:print_format=none,{_AFORMAT},"
            f"alimiter=limit={limit:.4f}:level=0:attack=5:release=50:latency=1,"
            f"atrim=duration={_num(total)}[aout]"
        )

        w, h = spec.width, spec.height
        video = [
            f"[{i}:v]scale={w}:{h}:force_original_aspect_ratio=decrease,pad={w}:{h}:(ow-iw)/2:(oh-ih)/2,"
            f"setsar=1,fps={spec.fps},format=yuv420p,setpts=PTS-STARTPTS[v{i}]"
            for i in range(n)
        ]
        chain = [f"tpad=stop_mode=clone:stop_duration=1,trim=duration={_num(total)},setpts=PTS-STARTPTS"]
        if spec.subtitles is not None:
            chain.append(f"subtitles=filename={filter_path(spec.subtitles)}:fontsdir={filter_path(fonts_dir)}")
        chain += _overlay_filters(spec, fonts_dir, work)
        chain.append("format=yuv420p")
        labels = "".join(f"[v{i}]" for i in range(n))
        video.append(f"{labels}concat=n={n}:v=1:a=0," + ",".join(chain) + "[vout]")

        graph_file = work / "final.graph"
        graph_file.write_text(";\n".join(video + audio), encoding="utf-8")
        tmp_out = out.with_name(f".{out.stem}.part{out.suffix or '.mp4'}")
        metadata = {"title": spec.title, "artist": spec.artist, **spec.metadata}
        meta_args: list[str] = []
        for key, value in metadata.items():
            meta_args += ["-metadata", f"{key}={value}"]
            if key == "language":  # MP4 keeps a language only on a stream (QA and players read it there)
                meta_args += ["-metadata:s:a:0", f"language={value}"]
        args = [
            *clip_inputs, *music_inputs,
            "-/filter_complex", str(graph_file),
            "-map", "[vout]", "-map", "[aout]",
            "-c:v", "libx264", "-preset", spec.preset, "-crf", str(spec.crf), "-profile:v", "high",
            "-pix_fmt", "yuv420p", "-r", str(spec.fps),
            "-c:a", "aac", "-b:a", "160k", "-ar", str(SAMPLE_RATE), "-ac", "2",
            "-t", _num(total), "-movflags", "+faststart", *meta_args,
            str(tmp_out),
        ]  # fmt: skip
        try:
            ffmpeg.run(args, progress=progress)
            os.replace(tmp_out, out)
        except OSError as e:
            raise WorkspaceError(f"{out}: cannot write the final video: {e}") from None
        finally:
            tmp_out.unlink(missing_ok=True)
    log.info("final: %s (%.1f s of video in %.1f s)", out, total, time.perf_counter() - started)


# -- thumbnail and music -------------------------------------------------------------------------------------

_IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".webp", ".bmp", ".tif", ".tiff")


def make_thumbnail(
    video_or_image: Path,
    out_jpg: Path,
    *,
    title: str,
    artist: str,
    fonts_dir: Path,
    width: int = 1080,
    height: int = 1920,
    at: float | None = None,
) -> None:
    """Write a JPEG cover: a frame (of a video, at ``at`` seconds, default 45% in) or an image, cropped to
    ``width`` x ``height``, with the title drawn big and the artist under it.

    Pass the lip-sync clip (or the final video with ``at`` inside the speaking part).
    """
    from PIL import Image, ImageDraw, ImageFont, ImageOps, UnidentifiedImageError

    if not video_or_image.is_file():
        raise InputError(f"{video_or_image}: no such file for the thumbnail")
    with tempfile.TemporaryDirectory(prefix="vivant-thumb-") as tmp:
        if video_or_image.suffix.lower() in _IMAGE_SUFFIXES:
            source = video_or_image
        else:
            when = at if at is not None else 0.45 * ffmpeg.probe(video_or_image).duration
            source = Path(tmp) / "frame.png"
            ffmpeg.run(["-ss", f"{max(0.0, when):.3f}", "-i", video_or_image, "-frames:v", "1", source])
            if not source.is_file():
                raise FFmpegError(f"{video_or_image}: no frame at {when:.2f} s for the thumbnail")
        try:
            with Image.open(source) as im:
                frame = ImageOps.exif_transpose(im).convert("RGB")
        except (UnidentifiedImageError, OSError) as e:
            raise InputError(f"{video_or_image}: not a readable image: {e}") from None
    img = ImageOps.fit(frame, (width, height), Image.Resampling.LANCZOS, centering=(0.5, 0.4))

    # Darken the top for legibility.
    shade = Image.new("L", (1, height))
    for yy in range(height):
        shade.putpixel((0, yy), int(150 * max(0.0, 1 - yy / (0.5 * height))))
    black = Image.new("RGB", (width, height), (0, 0, 0))
    img = Image.composite(black, img, shade.resize((width, height)))

    draw = ImageDraw.Draw(img)
    bold, regular = font_file(fonts_dir, bold=True), font_file(fonts_dir, bold=False)
    lines, size = fit_lines(title, bold, round(0.07 * height), 0.88 * width, max_lines=4, min_size=round(0.03 * height))
    face = ImageFont.truetype(str(bold), size)
    y = round(0.12 * height)
    for line in lines:
        draw.text((width / 2, y), line, font=face, fill=(255, 255, 255), anchor="ma",
                  stroke_width=max(2, size // 16), stroke_fill=(0, 0, 0))  # fmt: skip
        y += round(size * 1.18)
    if artist.strip():
        small = ImageFont.truetype(str(regular), round(0.035 * height))
        draw.text((width / 2, y + round(0.015 * height)), artist.strip(), font=small, fill=(255, 226, 90),
                  anchor="ma", stroke_width=3, stroke_fill=(0, 0, 0))  # fmt: skip
    out_jpg.parent.mkdir(parents=True, exist_ok=True)
    try:
        img.save(out_jpg, "JPEG", quality=90, optimize=True, progressive=True)
    except OSError as e:
        raise WorkspaceError(f"{out_jpg}: cannot write the thumbnail: {e}") from None


def pick_music(music_dir: Path | None, seed: str) -> Path | None:
    """A music file of ``music_dir`` chosen by ``seed`` (same seed, same folder: same file); None if none."""
    if music_dir is None or not music_dir.is_dir():
        if music_dir is not None:
            log.warning("music folder %s does not exist; using the generated ambient bed", music_dir)
        return None
    files = sorted(p for p in music_dir.iterdir() if p.is_file() and p.suffix.lower() in MUSIC_SUFFIXES)
    if not files:
        return None
    digest = hashlib.sha256(seed.encode("utf-8")).digest()
    return files[int.from_bytes(digest[:8], "big") % len(files)]
