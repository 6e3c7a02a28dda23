"""Step 9's render: probe the clips, measure the loudness (two audio-only passes), then one ffmpeg command
that makes the video and the final audio (the graphs come from :mod:`vivant.render.graph`)."""

from __future__ import annotations

import logging
import os
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

from vivant.backends import ffmpeg
from vivant.backends.local.fonts import find_fonts_dir
from vivant.errors import InputError, WorkspaceError
from vivant.render import graph
from vivant.render.loudness import measure
from vivant.render.spec import Clip, FinalSpec

log = logging.getLogger(__name__)


def probe_clips(paths: Sequence[Path]) -> list[Clip]:
    """Each clip's duration and whether it has audio; :class:`InputError` for a missing or non-video clip."""
    if not paths:
        raise InputError("final render: no clips given")
    clips = []
    for p in paths:
        if not p.is_file():
            raise InputError(f"{p}: clip is missing")
        info = ffmpeg.probe(p)
        if info.width is None or info.duration <= 0:
            raise InputError(f"{p}: not a video clip (no video stream or zero duration)")
        clips.append(Clip(p, info.duration, info.audio_codec is not None))
    return clips


def render_final(spec: FinalSpec, out: Path, *, progress: ffmpeg.ProgressCallback | None = None) -> None:
    """Render the final short to ``out`` (MP4, H.264 high + AAC 48 kHz stereo) in one ffmpeg command.

    ``progress`` is called with the seconds of video written so far. Raise :class:`InputError` for a missing
    clip, subtitle or music file, :class:`FFmpegError` when ffmpeg fails.
    """
    clips = probe_clips(spec.clips)
    for extra, what in ((spec.subtitles, "subtitles"), (spec.music, "music")):
        if extra is not None and not extra.is_file():
            raise InputError(f"{extra}: {what} file is missing")
    fonts_dir = find_fonts_dir(spec.fonts_dir)
    total = sum(c.duration for c in clips)

    out.parent.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="vivant-final-") as tmp:
        work = Path(tmp)
        # Pass 1: loudness of the narration and of the music, to set the music's level under the voice.
        voice, bed = measure(graph.levels_pass(spec, clips), graph.LEVELS, work)
        gain_db = graph.music_gain(spec, voice, bed)
        log.debug(
            "final: voice %s LUFS, music %s LUFS, music gain %.1f dB (%.2f s)",
            voice.integrated, bed.integrated, gain_db, time.perf_counter() - started,
        )  # fmt: skip
        # Pass 2: loudness of the mix, for loudnorm's linear mode.
        (mix,) = measure(graph.mix_pass(spec, clips, gain_db), ["mix"], work)
        log.debug("final: mix %s (%.2f s)", mix, time.perf_counter() - started)

        tmp_out = out.with_name(f".{out.stem}.part{out.suffix or '.mp4'}")
        command = graph.final_graph(spec, clips, fonts_dir=fonts_dir, workdir=work, gain_db=gain_db, mix=mix,
                                    out=tmp_out)  # fmt: skip
        try:
            ffmpeg.run(command.write(work / "final.graph"), progress=progress)
            os.replace(tmp_out, out)
        except OSError as e:
            raise WorkspaceError(f"{out}: cannot write the final video: {e}") from None
        finally:
            tmp_out.unlink(missing_ok=True)
    log.info("final: %s (%.1f s of video in %.1f s)", out, total, time.perf_counter() - started)
