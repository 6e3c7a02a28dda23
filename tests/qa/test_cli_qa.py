"""`vivant qa` on any MP4: exit 0 when every check passes, 1 when one fails, 2 on bad input (one line)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tests.qa.conftest import final
from vivant.backends import ffmpeg
from vivant.cli import app

pytestmark = pytest.mark.slow
runner = CliRunner()


def test_bad_input_is_one_clear_line_and_exit_2(ws_config: Path, tmp_path: Path) -> None:
    f = final(ws_config)
    empty = tmp_path / "empty.mp4"
    empty.write_bytes(b"")
    text = tmp_path / "notes.mp4"
    text.write_text("not a video at all\n")
    silent = tmp_path / "silent.mp4"
    ffmpeg.run(["-i", f.video, "-an", "-c:v", "copy", silent])
    for path, message in ((empty, "empty file (0 bytes)"), (text, "not a video"), (silent, "no audio stream"),
                          (tmp_path / "missing.mp4", "no such file")):  # fmt: skip
        result = runner.invoke(app, ["qa", str(path), "--config", str(ws_config)])
        assert result.exit_code == 2, (path, result.output)
        lines = [line for line in result.output.splitlines() if line.strip()]
        assert len(lines) == 1 and message in lines[0] and path.name in lines[0], result.output
    result = runner.invoke(app, ["qa", str(f.video), "--script", str(text), "--lang", "de"])
    assert result.exit_code == 2 and "--lang" in result.output


def test_a_finished_video_passes_and_a_cut_one_fails(ws_config: Path, tmp_path: Path) -> None:
    f = final(ws_config)
    args = ["--script", str(f.script_file), "--subtitles", str(f.subtitles), "--config", str(ws_config), "--json"]
    result = runner.invoke(app, ["qa", str(f.video), *args])
    assert result.exit_code == 0, result.output
    (report,) = json.loads(result.output)
    assert report["language"] == "en"  # from the file's language tag
    verdicts = {c["name"]: c["verdict"] for c in report["checks"]}
    assert verdicts["wer"] == verdicts["subtitle_timing"] == verdicts["sync"] == "pass", report
    for c in report["checks"]:
        assert {"name", "group", "verdict", "value", "threshold"} <= set(c)

    cut = tmp_path / "cut.mp4"
    ffmpeg.run(["-i", f.video, "-t", f"{ffmpeg.probe(f.video).duration * 0.6:.2f}", "-c", "copy", cut])
    result = runner.invoke(app, ["qa", str(cut), *args[:-1]])
    assert result.exit_code == 1, result.output
    assert "FAIL" in result.output and "ending" in result.output and "wer" in result.output
