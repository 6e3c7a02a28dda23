"""Fixtures for the QA tests: the review tests' tiny real night (one painting, FR + EN, step 10 included, plus
a clone of it in batch 2), copied per test; and FFmpeg helpers that inject defects into its final videos."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.review.helpers import copy_workspace, night_template
from vivant import config
from vivant.backends import ffmpeg
from vivant.store import Store


@pytest.fixture(scope="session")
def night(tmp_path_factory: pytest.TempPathFactory, paintings_dir: Path) -> Path:
    return night_template(tmp_path_factory, paintings_dir)


@pytest.fixture
def ws_config(night: Path, tmp_path: Path) -> Path:
    """vivant.toml of a private copy of the finished night."""
    return copy_workspace(night, tmp_path / "ws")


@dataclass(frozen=True)
class Final:
    settings: config.Settings
    video: Path
    script: str
    script_file: Path
    subtitles: Path
    language: str


def final(ws_config: Path, language: str = "en", item_id: int = 1) -> Final:
    settings = config.load(ws_config)
    with Store.open(settings.database) as store:

        def path(step: int, kind: str) -> Path:
            return settings.workspace / store.artifacts(item_id, step=step, language=language, kind=kind)[-1].path

        video, script_file, subs = path(9, "video"), path(1, "script"), path(7, "subtitles")
    script = json.loads(script_file.read_text(encoding="utf-8"))["script"]
    return Final(settings, video, script, script_file, subs, language)


def reencode(
    src: Path, dest: Path, *, vf: str | None = None, af: str | None = None, extra: tuple[str, ...] = ()
) -> Path:
    """``src`` through a video and/or audio filter (the other stream copied)."""
    args: list[str | Path] = ["-i", src]
    args += ["-vf", vf, "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p"] if vf else ["-c:v", "copy"]
    args += ["-af", af, "-c:a", "aac"] if af else ["-c:a", "copy"]
    ffmpeg.run([*args, *extra, dest])
    return dest
