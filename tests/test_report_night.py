"""A real (tiny) night on the embedded backends writes its report, and the page opens offline."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from vivant.cli import app

from .conftest import make_workspace, shared_rows
from .test_report import screenshot

pytestmark = pytest.mark.slow
runner = CliRunner()


def test_a_night_writes_its_report(tmp_path: Path, paintings_dir: Path) -> None:
    cfg = make_workspace(tmp_path / "ws", shared_rows(paintings_dir, ["vermeer_girl-with-a-pearl-earring.jpg"]))
    result = runner.invoke(app, ["night", "--count", "1", "--seed", "1", "--langs", "en", "--config", str(cfg)])
    assert result.exit_code == 0, result.output
    html = tmp_path / "ws" / "reports" / "batch-0001.html"
    assert f"report: {html}" in result.output.replace("\n", "")
    text = html.read_text()
    # self-contained: no script, no stylesheet, image or font fetched from anywhere
    assert "<script" not in text and "<link" not in text
    assert not re.search(r"""(src|href|url)\s*[=(]\s*["']?(https?:)?//""", text)
    data = json.loads(html.with_suffix(".json").read_text())
    h = data["figures"]["headline"]
    assert h["cpu_only"] and h["gpu_efficiency"] is None and h["videos"] == 1
    assert [s["number"] for s in data["figures"]["steps"]] == list(range(11))  # ten steps, then QA
    assert all(s["cpu_substitute"] for s in data["figures"]["steps"][:9])
    assert "No GPU this night" in text and "CPU substitute" in text
    page = screenshot(html, tmp_path / "night-report.png")
    assert page.charts == 4 and page.runs >= 10
    assert "n/a" in page.text
