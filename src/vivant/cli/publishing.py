"""After the night: the review page, the publisher (``vivant publish run|plan``) and the timers
(``vivant schedule install|status``)."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from vivant.cli.common import ConfigOpt, JsonOpt, VerboseOpt, app, console, guarded, open_ws, publish_app, schedule_app
from vivant.errors import VivantError


@app.command()
@guarded
def review(
    host: Annotated[str | None, typer.Option("--host", help="Address to bind (default: review.host).")] = None,
    port: Annotated[int | None, typer.Option("--port", help="Port (default: review.port).")] = None,
    config: ConfigOpt = None,
    verbose: VerboseOpt = False,
) -> None:
    """The morning review page: watch, approve, reject with reasons, or redo from a step."""
    from vivant.review import serve

    if port is not None and not 1 <= port <= 65535:
        raise VivantError(f"--port {port}: not a port; choose one from 1 to 65535")
    with open_ws(config, verbose) as ws:
        settings, database = ws.settings, ws.settings.database
    bind = host or settings.review.host
    console.print(f"review page: http://{bind}:{port or settings.review.port}/  (Ctrl+C to stop)")
    serve(settings, database, host=host, port=port)


@publish_app.command("run")
@guarded
def publish_run(
    once: Annotated[bool, typer.Option("--once", help="One pass (for cron or a systemd timer), then exit.")] = False,
    config: ConfigOpt = None,
    verbose: VerboseOpt = False,
    as_json: JsonOpt = False,
) -> None:
    """Post the approved paintings due now (up to publish.per_day a day); without --once, keep running."""
    from vivant.publish.publisher import PassSummary, Publisher

    def show(s: PassSummary) -> None:
        if as_json:
            console.print_json(json.dumps({"day": s.day, "scheduled": s.scheduled, "posted": s.posted,
                                           "failed": s.failed, "stopped": s.stopped}))  # fmt: skip
            return
        for p in s.posted:
            where = escape(f"{p['platform']} [{p['language']}] item {p['item']}")
            console.print(f"posted {where}: {escape(str(p['url']))}")
        for f in s.failed:
            console.print(f"[red]failed[/] {f['platform']} post {f['post']}: {escape(str(f['error']))}")
        for platform, why in s.stopped.items():
            console.print(f"[yellow]{platform} stopped for today[/]: {escape(why)}")
        if not (s.posted or s.failed or s.stopped):
            console.print(f"{s.day}: nothing due now")

    with open_ws(config, verbose) as ws:
        publisher = Publisher(ws.store, ws.settings)
        publisher.guard_logs()
        if once:
            show(publisher.run_once())
        else:
            console.print("publisher running (Ctrl+C to stop)")
            publisher.run_forever(on_pass=show)


@publish_app.command("plan")
@guarded
def publish_plan(
    days: Annotated[int, typer.Option("--days", help="Days ahead to show.")] = 3,
    config: ConfigOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """What goes out when: day, time, platform, language, painting, state, URL."""
    from vivant.publish import limits
    from vivant.publish.publisher import Publisher, describe_plan

    with open_ws(config) as ws:
        lines = describe_plan(Publisher(ws.store, ws.settings).plan(days=days), ws.settings)
    if as_json:
        console.print_json(json.dumps(lines))
        return
    for platform in ws.settings.publish.platforms:
        console.print(f"[bold]{platform}[/]: {escape(limits.describe(ws.settings, platform))}")
    table = Table(title="publishing plan")
    for col in ("day", "at", "platform", "lang", "painting", "state", "url / error"):
        table.add_column(col, overflow="fold")
    for line in lines:
        table.add_row(str(line["day"]), str(line["at"]), str(line["platform"]), str(line["language"]),
                      escape(str(line["title"])), str(line["state"]),
                      escape(str(line["url"] or line["error"])))  # fmt: skip
    console.print(table if lines else "nothing approved to publish")


@schedule_app.command("install")
@guarded
def schedule_install(
    cron: Annotated[bool, typer.Option("--cron", help="Print crontab lines instead of writing systemd units.")] = False,
    at: Annotated[str, typer.Option("--at", help="Time of the night's start, HH:MM.")] = "22:30",
    count: Annotated[int, typer.Option("--count", "-n", help="Portraits a night.")] = 20,
    unit_dir: Annotated[Path | None, typer.Option("--unit-dir", help="Where to write the units.")] = None,
    no_enable: Annotated[bool, typer.Option("--no-enable", help="Write the units without enabling them.")] = False,
    config: ConfigOpt = None,
) -> None:
    """Write systemd user units and timers (night, publisher), or print the crontab lines with --cron."""
    from vivant import config as config_mod
    from vivant import timers

    path = config or config_mod.find()
    if path is None:
        raise VivantError("no vivant.toml here or in a parent folder: run `vivant init` or pass --config")
    vivant = Path(sys.argv[0]).resolve() if Path(sys.argv[0]).name == "vivant" else None
    plan = timers.Plan(config=path.resolve(), night_at=at, count=count, vivant=str(vivant) if vivant else "")
    if cron:
        for line in timers.crontab_lines(plan):
            console.print(line, markup=False, soft_wrap=True)
        return
    for written in timers.install(plan, unit_dir=unit_dir, enable=not no_enable):
        console.print(f"wrote {written}")


@schedule_app.command("status")
@guarded
def schedule_status(
    unit_dir: Annotated[Path | None, typer.Option("--unit-dir", help="Where the units are.")] = None,
) -> None:
    """Which units and timers are installed, and when they run next."""
    from vivant import timers

    for line in timers.status(unit_dir=unit_dir):
        console.print(line, markup=False, soft_wrap=True)
