"""Step 9's FFmpeg graph, built by pure functions: the probed clips and the measured loudness in, the
filtergraph and ffmpeg's arguments out (nothing here runs ffmpeg or writes a file).

The clips are joined with the ``concat`` filter (one decode, one encode); the ASS subtitles are burned in with
libass; the title, the artist line and a watermark are drawn with ``drawtext`` (:mod:`vivant.render.titles`);
a music bed (a file, looped or trimmed, or an ambient bed generated inside the graph) lies under the voice,
ducked while the narration speaks and faded out at the end; ``loudnorm`` in linear mode (with the mix's
measured loudness) and a peak limiter set the final loudness.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from vivant.render.loudness import Loudness, measurement
from vivant.render.spec import Clip, FinalSpec
from vivant.render.syntax import Graph, filter_path, num
from vivant.render.titles import overlay_filters

SAMPLE_RATE = 48000
TRUE_PEAK_DB = -1.5
LOUDNORM_LRA = 20.0
"""Generous: the music-only intro and outro widen the range, and linear mode needs measured LRA <= target."""
DUCK_RAMP = 0.35
MUSIC_FADE_IN = 1.0
MUSIC_FADE_OUT = 2.0
AFORMAT = f"aresample={SAMPLE_RATE},aformat=sample_fmts=fltp:channel_layouts=stereo"
LEVELS = ("voice", "mraw")
"""The first measurement: the narration and the raw music bed."""


def input_args(spec: FinalSpec, clips: Sequence[Clip]) -> list[str]:
    """The clips (inputs 0 to n-1), then the music file looped (input n), if any."""
    args: list[str] = []
    for c in clips:
        args += ["-i", str(c.path)]
    if spec.music is not None:
        args += ["-stream_loop", "-1", "-i", str(spec.music)]
    return args


def voice_chain(clips: Sequence[Clip], first_input: int = 0) -> list[str]:
    """Filters making ``[voice]``: each clip's audio (or silence) padded/trimmed to the clip, concatenated."""
    parts = []
    for i, c in enumerate(clips):
        d = num(c.duration)
        if c.has_audio:
            parts.append(f"[{first_input + i}:a]{AFORMAT},apad,atrim=duration={d},asetpts=PTS-STARTPTS[a{i}]")
        else:
            parts.append(f"anullsrc=r={SAMPLE_RATE}:cl=stereo:d={d},aformat=sample_fmts=fltp[a{i}]")
    labels = "".join(f"[a{i}]" for i in range(len(clips)))
    parts.append(f"{labels}concat=n={len(clips)}:v=0:a=1[voice]")
    return parts


def ambient_bed(total: float) -> list[str]:
    """Filters making ``[mraw]``: a soft A-minor pad of low sines with slow tremolo and a breath of noise."""
    d = num(total)
    tones = [(110.0, 0.11, 0.5, 1.0), (164.81, 0.13, 0.6, 0.7), (220.0, 0.17, 0.7, 0.45), (261.63, 0.1, 0.8, 0.3)]
    parts = []
    for k, (freq, rate, depth, gain) in enumerate(tones):
        parts.append(f"sine=f={freq}:r={SAMPLE_RATE}:d={d},tremolo=f={rate}:d={depth},volume={gain}[bed{k}]")
    parts.append(f"anoisesrc=c=pink:r={SAMPLE_RATE}:a=0.05:d={d}:seed=7,lowpass=f=500,lowpass=f=500[bednoise]")
    labels = "".join(f"[bed{k}]" for k in range(len(tones)))
    parts.append(
        f"{labels}[bednoise]amix=inputs={len(tones) + 1}:normalize=0,lowpass=f=1400,"
        f"aecho=0.8:0.6:73|131:0.25|0.18,{AFORMAT}[mraw]"
    )
    return parts


def music_raw(music: Path | None, total: float, music_input: int) -> list[str]:
    """Filters making ``[mraw]``: the music file trimmed to the video, or the ambient bed."""
    if music is None:
        return ambient_bed(total)
    return [f"[{music_input}:a]{AFORMAT},atrim=duration={num(total)},asetpts=PTS-STARTPTS[mraw]"]


def speech_spans(clips: Sequence[Clip]) -> list[tuple[float, float]]:
    """Start and end (seconds in the video) of each clip with a voice."""
    spans, t = [], 0.0
    for c in clips:
        if c.has_audio:
            spans.append((t, t + c.duration))
        t += c.duration
    return spans


def duck_expr(spans: Sequence[tuple[float, float]], duck_db: float) -> str:
    """A volume expression: 1 where nobody speaks, ``-duck_db`` dB during speech, with short ramps."""
    if not spans or duck_db <= 0:
        return "1"
    low = 10 ** (-duck_db / 20)
    r = DUCK_RAMP
    terms = [f"clip((t-{num(s - r)})/{r},0,1)*clip(({num(e + r)}-t)/{r},0,1)" for s, e in spans]
    m = terms[0]
    for term in terms[1:]:
        m = f"max({m},{term})"
    return f"1-{num(1 - low)}*{m}"


def music_chain(spec: FinalSpec, clips: Sequence[Clip], gain_db: float) -> str:
    """``[mraw]`` -> ``[music]``: leveled by ``gain_db``, ducked under the voice, faded in and out."""
    total = sum(c.duration for c in clips)
    fade_out = min(MUSIC_FADE_OUT, total / 2)
    return (
        f"[mraw]volume={gain_db:.2f}dB,volume=volume='{duck_expr(speech_spans(clips), spec.duck_db)}':eval=frame,"
        f"afade=t=in:d={num(min(MUSIC_FADE_IN, total / 2))},"
        f"afade=t=out:st={num(total - fade_out)}:d={num(fade_out)}[music]"
    )


def levels_pass(spec: FinalSpec, clips: Sequence[Clip]) -> Graph:
    """Pass 1: the loudness of the narration and of the music bed (labels :data:`LEVELS`)."""
    total = sum(c.duration for c in clips)
    chains = [*voice_chain(clips), *music_raw(spec.music, total, len(clips))]
    return measurement(input_args(spec, clips), chains, LEVELS)


def music_gain(spec: FinalSpec, voice: Loudness, bed: Loudness) -> float:
    """The music's gain (dB) that puts it ``music_gain_db`` under the voice where it is ducked."""
    if bed.integrated is None:
        return 0.0
    reference = voice.integrated if voice.integrated is not None else spec.loudness_lufs
    return reference + spec.music_gain_db + spec.duck_db - bed.integrated


def mix_chains(spec: FinalSpec, clips: Sequence[Clip], gain_db: float) -> list[str]:
    """Filters making ``[mix]``: the voice over the leveled, ducked music."""
    total = sum(c.duration for c in clips)
    return [
        *voice_chain(clips),
        *music_raw(spec.music, total, len(clips)),
        music_chain(spec, clips, gain_db),
        "[voice][music]amix=inputs=2:normalize=0:duration=first[mix]",
    ]


def mix_pass(spec: FinalSpec, clips: Sequence[Clip], gain_db: float) -> Graph:
    """Pass 2: the loudness of the mix, for ``loudnorm``'s linear mode (label ``mix``)."""
    return measurement(input_args(spec, clips), mix_chains(spec, clips, gain_db), ["mix"])


def loudness_chain(spec: FinalSpec, mix: Loudness, total: float) -> str:
    """``[mix]`` -> ``[aout]``: loudnorm (linear with the measurements when the mix was heard), limiter, trim."""
    limit = 10 ** (TRUE_PEAK_DB / 20)
    loudnorm = f"loudnorm=I={num(spec.loudness_lufs)}:TP={TRUE_PEAK_DB}:LRA={LOUDNORM_LRA}"
    if mix.integrated is not None:
        loudnorm += (
            f":measured_I={mix.integrated}:measured_TP={mix.true_peak}:measured_LRA={min(mix.lra, 99.0)}"
            f":measured_thresh={mix.threshold}:linear=true"
        )
    return (
        f"[mix]{loudnorm}:print_format=none,{AFORMAT},"
        f"alimiter=limit={limit:.4f}:level=0:attack=5:release=50:latency=1,"
        f"atrim=duration={num(total)}[aout]"
    )


def video_chains(spec: FinalSpec, clips: Sequence[Clip], fonts_dir: Path, overlays: Sequence[str]) -> list[str]:
    """Filters making ``[vout]``: each clip fitted to the frame, concatenated, subtitles and texts on top."""
    w, h, n = spec.width, spec.height, len(clips)
    total = sum(c.duration for c in clips)
    video = [
        f"[{i}:v]scale={w}:{h}:force_original_aspect_ratio=decrease,pad={w}:{h}:(ow-iw)/2:(oh-ih)/2,"
        f"setsar=1,fps={spec.fps},format=yuv420p,setpts=PTS-STARTPTS[v{i}]"
        for i in range(n)
    ]
    chain = [f"tpad=stop_mode=clone:stop_duration=1,trim=duration={num(total)},setpts=PTS-STARTPTS"]
    if spec.subtitles is not None:
        chain.append(f"subtitles=filename={filter_path(spec.subtitles)}:fontsdir={filter_path(fonts_dir)}")
    chain += overlays
    chain.append("format=yuv420p")
    labels = "".join(f"[v{i}]" for i in range(n))
    video.append(f"{labels}concat=n={n}:v=1:a=0," + ",".join(chain) + "[vout]")
    return video


def encode_args(spec: FinalSpec, total: float, out: Path) -> list[str]:
    """The output side: H.264 high + AAC 48 kHz stereo, ``+faststart``, the metadata (language on the stream)."""
    metadata = {"title": spec.title, "artist": spec.artist, **spec.metadata}
    meta_args: list[str] = []
    for key, value in metadata.items():
        meta_args += ["-metadata", f"{key}={value}"]
        if key == "language":  # MP4 keeps a language only on a stream (QA and players read it there)
            meta_args += ["-metadata:s:a:0", f"language={value}"]
    return [
        "-map", "[vout]", "-map", "[aout]",
        "-c:v", "libx264", "-preset", spec.preset, "-crf", str(spec.crf), "-profile:v", "high",
        "-pix_fmt", "yuv420p", "-r", str(spec.fps),
        "-c:a", "aac", "-b:a", "160k", "-ar", str(SAMPLE_RATE), "-ac", "2",
        "-t", num(total), "-movflags", "+faststart", *meta_args,
        str(out),
    ]  # fmt: skip


def final_graph(
    spec: FinalSpec, clips: Sequence[Clip], *, fonts_dir: Path, workdir: Path, gain_db: float, mix: Loudness,
    out: Path,
) -> Graph:  # fmt: skip
    """The render's one command: video and audio graphs, the title texts to write in ``workdir``, to ``out``."""
    total = sum(c.duration for c in clips)
    overlays = overlay_filters(spec, fonts_dir, workdir)
    video = video_chains(spec, clips, fonts_dir, overlays.filters)
    audio = [*mix_chains(spec, clips, gain_db), loudness_chain(spec, mix, total)]
    return Graph(input_args(spec, clips), video + audio, encode_args(spec, total, out), overlays.texts)
