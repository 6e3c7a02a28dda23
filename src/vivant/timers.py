"""Unattended nights: systemd user units and timers (or crontab lines) for the night and the publisher.

``vivant schedule install`` writes ``vivant-night.service``/``.timer`` (every day at the chosen hour: first
``vivant resume`` for interrupted batches and paintings sent to REDO, then ``vivant night``) and
``vivant-publish.service``/``.timer`` (``vivant publish run --once`` every 15 minutes) into
``~/.config/systemd/user``, then enables the timers; with ``--cron`` it prints the equivalent crontab lines
instead. ``vivant schedule status`` says what is installed and when it runs next.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from vivant.errors import VivantError

UNITS = ("vivant-night.service", "vivant-night.timer", "vivant-publish.service", "vivant-publish.timer")
TIMERS = ("vivant-night.timer", "vivant-publish.timer")
PUBLISH_EVERY_MINUTES = 15


@dataclass(frozen=True)
class Plan:
    config: Path
    night_at: str = "22:30"
    count: int = 20
    vivant: str = ""

    def command(self) -> list[str]:
        return shlex.split(self.vivant) if self.vivant else [sys.executable, "-m", "vivant"]

    @property
    def hour_minute(self) -> tuple[int, int]:
        m = re.fullmatch(r"(\d{1,2}):(\d{2})", self.night_at)
        if not m or int(m.group(1)) > 23 or int(m.group(2)) > 59:
            raise VivantError(f"--at {self.night_at!r}: expected HH:MM, e.g. 22:30")
        return int(m.group(1)), int(m.group(2))


def _cmd(plan: Plan, *args: str) -> str:
    return shlex.join([*plan.command(), *args, "--config", str(plan.config)])


def unit_files(plan: Plan) -> dict[str, str]:
    hour, minute = plan.hour_minute
    workdir = plan.config.parent
    env = "Environment=PYTHONUNBUFFERED=1"
    return {
        "vivant-night.service": f"""[Unit]
Description=Tableau Vivant: the night's batch

[Service]
Type=oneshot
WorkingDirectory={workdir}
{env}
ExecStartPre=-{_cmd(plan, "resume")}
ExecStart={_cmd(plan, "night", "--count", str(plan.count))}
Nice=10
""",
        "vivant-night.timer": f"""[Unit]
Description=Tableau Vivant: the night at {hour:02d}:{minute:02d}

[Timer]
OnCalendar=*-*-* {hour:02d}:{minute:02d}:00
Persistent=true

[Install]
WantedBy=timers.target
""",
        "vivant-publish.service": f"""[Unit]
Description=Tableau Vivant: one pass of the publisher

[Service]
Type=oneshot
WorkingDirectory={workdir}
{env}
ExecStart={_cmd(plan, "publish", "run", "--once")}
""",
        "vivant-publish.timer": f"""[Unit]
Description=Tableau Vivant: the publisher every {PUBLISH_EVERY_MINUTES} minutes

[Timer]
OnCalendar=*:0/{PUBLISH_EVERY_MINUTES}
Persistent=true

[Install]
WantedBy=timers.target
""",
    }


def crontab_lines(plan: Plan) -> list[str]:
    hour, minute = plan.hour_minute
    logs = plan.config.parent / "logs"
    cd = f"cd {shlex.quote(str(plan.config.parent))}"
    night = f"{_cmd(plan, 'resume')}; {_cmd(plan, 'night', '--count', str(plan.count))}"
    publish = _cmd(plan, "publish", "run", "--once")
    return [
        "# Tableau Vivant (vivant schedule install --cron)",
        f"{minute} {hour} * * * {cd} && ({night}) >> {shlex.quote(str(logs / 'night.log'))} 2>&1",
        f"*/{PUBLISH_EVERY_MINUTES} * * * * {cd} && {publish} >> {shlex.quote(str(logs / 'publish.log'))} 2>&1",
    ]


def user_unit_dir() -> Path:
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "systemd" / "user"


def install(plan: Plan, *, unit_dir: Path | None = None, enable: bool = True) -> list[Path]:
    """Write the units (and enable the timers with ``systemctl --user`` when asked); return the files written."""
    folder = unit_dir or user_unit_dir()
    written = []
    try:
        folder.mkdir(parents=True, exist_ok=True)
        for name, text in unit_files(plan).items():
            path = folder / name
            path.write_text(text, encoding="utf-8")
            written.append(path)
    except OSError as e:
        raise VivantError(f"{folder}: cannot write the units: {e.strerror or e}") from None
    if enable:
        _systemctl("daemon-reload")
        _systemctl("enable", "--now", *TIMERS)
    return written


def _systemctl(*args: str) -> str:
    if shutil.which("systemctl") is None:
        raise VivantError("systemctl is not available here: use `vivant schedule install --cron`")
    done = subprocess.run(["systemctl", "--user", *args], capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise VivantError(f"systemctl --user {' '.join(args)}: {(done.stderr or done.stdout).strip()[:300]}")
    return done.stdout


def status(*, unit_dir: Path | None = None) -> list[str]:
    """One line per unit (installed or not) and the timers' next runs when systemd can tell; crontab lines."""
    folder = unit_dir or user_unit_dir()
    lines = [f"{name}: {'installed' if (folder / name).is_file() else 'not installed'} ({folder})" for name in UNITS]
    if shutil.which("systemctl") is not None and any((folder / t).is_file() for t in TIMERS):
        done = subprocess.run(["systemctl", "--user", "list-timers", "--all", "--no-pager", *TIMERS],
                              capture_output=True, text=True, check=False)  # fmt: skip
        text = (done.stdout or done.stderr).strip()
        lines += text.splitlines() if text else []
    if shutil.which("crontab") is not None:
        done = subprocess.run(["crontab", "-l"], capture_output=True, text=True, check=False)
        cron = [line for line in done.stdout.splitlines() if "vivant" in line and not line.startswith("#")]
        lines += [f"crontab: {line}" for line in cron] or ["crontab: no vivant line"]
    return lines
