"""What the final render (step 9) is asked for: :class:`FinalSpec`, and the clips as probed (:class:`Clip`)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

from vivant.backends import ffmpeg
from vivant.config import RenderSettings
from vivant.errors import FFmpegError

_FROM_RENDER = (
    "fonts_dir", "width", "height", "fps", "preset", "crf", "loudness_lufs", "music_gain_db", "title_seconds",
)  # fmt: skip
"""The fields of :class:`FinalSpec` taken as they are from ``[render]`` (same names in both)."""


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
        same = {name: getattr(render, name) for name in _FROM_RENDER}
        return cls(clips=list(clips), title=title, artist=artist, year=year, subtitles=subtitles,
                   watermark=render.watermark or None, music=music, **same)  # fmt: skip


@dataclass(frozen=True)
class Clip:
    """One clip of the final video as ffprobe saw it."""

    path: Path
    duration: float
    has_audio: bool
