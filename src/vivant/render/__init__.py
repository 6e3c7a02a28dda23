"""The final render (step 9): the clips, subtitles, title, watermark and music in one FFmpeg graph.

:mod:`~vivant.render.graph` builds the graphs as data (pure functions, tested without the binary);
:mod:`~vivant.render.final` runs them: two quick audio-only passes measure the loudness (``ebur128``,
:mod:`~vivant.render.loudness`), first of the narration and the music, to level the music under the voice,
then of the mix; the render then applies ``loudnorm`` in linear mode with those measurements, and a peak
limiter, in a single ffmpeg command that makes the video and the final audio. :mod:`~vivant.render.titles`
lays out the texts, :mod:`~vivant.render.thumbnail` draws the JPEG cover and :mod:`~vivant.render.music`
chooses a music file deterministically.
"""

from vivant.render.final import render_final
from vivant.render.music import MUSIC_SUFFIXES, pick_music
from vivant.render.spec import FinalSpec
from vivant.render.syntax import filter_path
from vivant.render.thumbnail import make_thumbnail

__all__ = ["MUSIC_SUFFIXES", "FinalSpec", "filter_path", "make_thumbnail", "pick_music", "render_final"]
