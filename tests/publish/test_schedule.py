"""`vivant schedule`: systemd user units and timers, or crontab lines."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from vivant import timers
from vivant.cli import app

runner = CliRunner()


def test_units_run_the_night_at_the_hour_and_the_publisher_every_quarter(tmp_path: Path) -> None:
    cfg = tmp_path / "ws" / "vivant.toml"
    assert runner.invoke(app, ["init", str(cfg.parent)]).exit_code == 0
    units = tmp_path / "units"
    result = runner.invoke(app, ["schedule", "install", "--config", str(cfg), "--at", "23:15", "--count", "12",
                                 "--unit-dir", str(units), "--no-enable"])  # fmt: skip
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in units.iterdir()) == sorted(timers.UNITS)
    night = (units / "vivant-night.service").read_text()
    assert "ExecStartPre=-" in night and " resume --config " in night
    assert " night --count 12 --config " + str(cfg) in night
    assert "OnCalendar=*-*-* 23:15:00" in (units / "vivant-night.timer").read_text()
    assert "publish run --once" in (units / "vivant-publish.service").read_text()
    assert "OnCalendar=*:0/15" in (units / "vivant-publish.timer").read_text()
    status = runner.invoke(app, ["schedule", "status", "--unit-dir", str(units)])
    assert status.exit_code == 0 and "vivant-night.timer: installed" in status.output


def test_cron_lines_and_bad_hour(tmp_path: Path) -> None:
    cfg = tmp_path / "ws" / "vivant.toml"
    assert runner.invoke(app, ["init", str(cfg.parent)]).exit_code == 0
    result = runner.invoke(app, ["schedule", "install", "--cron", "--config", str(cfg), "--at", "02:05"])
    assert result.exit_code == 0, result.output
    lines = [line for line in result.output.splitlines() if line and not line.startswith("#")]
    assert lines[0].startswith("5 2 * * * cd ") and " night --count 20 " in lines[0] and " resume " in lines[0]
    assert lines[1].startswith("*/15 * * * * cd ") and "publish run --once" in lines[1]
    bad = runner.invoke(app, ["schedule", "install", "--cron", "--config", str(cfg), "--at", "25:00"])
    assert bad.exit_code == 1 and "HH:MM" in bad.output
