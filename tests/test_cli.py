"""The CLI in-process: help everywhere, init, one clear line for bad input, never a traceback."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from vivant.cli import app

runner = CliRunner()


def _commands(group: Any, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    out = []
    for name, cmd in group.commands.items():
        if hasattr(cmd, "commands"):
            out += _commands(cmd, (*prefix, name))
        else:
            out.append((*prefix, name))
    return out


def test_every_command_has_help() -> None:
    import typer.main

    group = typer.main.get_command(app)
    commands = _commands(group)
    expected = {"init", "night", "resume", "status", "redo", "demo", "doctor"}
    assert expected <= {c[-1] for c in commands}
    assert ("catalog", "import") in commands and ("catalog", "stats") in commands
    for c in commands:
        result = runner.invoke(app, [*c, "--help"])
        assert result.exit_code == 0, c
        assert len(result.output) > 100


def test_init_writes_config_and_workspace(tmp_path: Path) -> None:
    ws = tmp_path / "ws"
    result = runner.invoke(app, ["init", str(ws)])
    assert result.exit_code == 0, result.output
    for sub in ("vivant.toml", "vivant.db", "batches", "pool", "reports"):
        assert (ws / sub).exists(), sub
    assert "# " in (ws / "vivant.toml").read_text()


def test_bad_config_key_is_one_line(tmp_path: Path) -> None:
    runner.invoke(app, ["init", str(tmp_path)])
    cfg = tmp_path / "vivant.toml"
    cfg.write_text(cfg.read_text().replace("min_side_px = ", "min_sidepx = "))
    result = runner.invoke(app, ["status", "--config", str(cfg)])
    assert result.exit_code == 1
    assert "checks.min_sidepx: unknown key" in result.output
    assert "Traceback" not in result.output
    assert len(result.output.strip().splitlines()) == 1


def test_status_without_batch_and_night_without_catalog(tmp_path: Path) -> None:
    runner.invoke(app, ["init", str(tmp_path)])
    cfg = str(tmp_path / "vivant.toml")
    result = runner.invoke(app, ["status", "--config", cfg])
    assert result.exit_code == 1 and "no batch yet" in result.output
    result = runner.invoke(app, ["night", "--config", cfg, "--count", "2"])
    assert result.exit_code == 1 and "no portrait left to draw" in result.output
    result = runner.invoke(app, ["night", "--config", cfg, "--langs", "fr,de"])
    assert result.exit_code == 1 and "unknown language de" in result.output


def test_redo_unknown_painting_and_step(tmp_path: Path) -> None:
    runner.invoke(app, ["init", str(tmp_path)])
    cfg = str(tmp_path / "vivant.toml")
    result = runner.invoke(app, ["redo", "nobody", "--from", "3", "--config", cfg])
    assert result.exit_code == 1 and "not in the catalog" in result.output
    result = runner.invoke(app, ["redo", "nobody", "--from", "dance", "--config", cfg])
    assert result.exit_code == 1 and "no step 'dance'" in result.output


@pytest.mark.parametrize("args", [["catalog", "stats", "--json"]])
def test_catalog_stats_json_on_empty_catalog(tmp_path: Path, args: list[str]) -> None:
    runner.invoke(app, ["init", str(tmp_path)])
    result = runner.invoke(app, [*args, "--config", str(tmp_path / "vivant.toml")])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["paintings"] == 0


def test_doctor_reports_each_check(tmp_path: Path) -> None:
    runner.invoke(app, ["init", str(tmp_path)])
    result = runner.invoke(app, ["doctor", "--config", str(tmp_path / "vivant.toml")])
    assert result.exit_code == 0, result.output
    for name in ("ffmpeg", "fonts", "voices", "zim", "vision", "backends", "disk"):
        assert name in result.output
    assert "problem" not in result.output


def test_doctor_names_a_broken_zim_file(tmp_path: Path) -> None:
    bad = tmp_path / "broken.zim"
    bad.write_bytes(b"not a zim archive at all")
    runner.invoke(app, ["init", str(tmp_path), "--zim", str(bad)])
    result = runner.invoke(app, ["doctor", "--config", str(tmp_path / "vivant.toml")])
    assert result.exit_code == 1
    assert "broken.zim" in result.output and "problem" in result.output


def test_night_says_when_no_image_exists(tmp_path: Path) -> None:
    runner.invoke(app, ["init", str(tmp_path)])
    cfg = str(tmp_path / "vivant.toml")
    listing = tmp_path / "list.csv"
    listing.write_text("file,title,artist,year,genre\nnowhere/mona.jpg,Mona Lisa,Leonardo da Vinci,1503,portrait\n")
    assert runner.invoke(app, ["catalog", "import", str(listing), "--config", cfg]).exit_code == 0
    result = runner.invoke(app, ["night", "--config", cfg, "--count", "1"])
    assert result.exit_code == 1
    assert "1 portrait(s) to draw from, but none of their image files exists" in result.output
    assert "mona.jpg" in result.output
