"""Checking: ``vivant qa`` (finished videos), ``vivant report`` (where a night's time went), ``vivant doctor``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from vivant.cli.common import ConfigOpt, JsonOpt, VerboseOpt, app, console, err_console, guarded, open_ws, setup_logging


@app.command()
@guarded
def qa(
    videos: Annotated[list[Path], typer.Argument(help="MP4 files to check.")],
    script: Annotated[
        Path | None, typer.Option("--script", help="The script (step 1's script.json, or plain text) for the WER.")
    ] = None,
    subtitles: Annotated[
        Path | None, typer.Option("--subtitles", help="The ASS subtitles burned into the video (step 7's).")
    ] = None,
    lang: Annotated[
        str | None, typer.Option("--lang", help="Language spoken (fr, en); default: the file's language tag.")
    ] = None,
    as_json: JsonOpt = False,
    config: ConfigOpt = None,
    verbose: VerboseOpt = False,
) -> None:
    """Check finished videos (format, picture, sound, sync, speech, subtitles): exit 0 when every check passes,
    1 when one fails, 2 on bad input."""
    import json

    from vivant.config import Settings, find, load
    from vivant.errors import InputError
    from vivant.languages import LANGUAGES
    from vivant.qa import QAInputs, run_qa

    setup_logging(verbose)
    found = config or find()
    settings = load(found) if found else Settings()
    if lang is not None and lang not in LANGUAGES:
        err_console.print(f"[bold red]error:[/] --lang {escape(lang)}: choose fr or en")
        raise typer.Exit(2)
    try:
        text = _script_text(script) if script is not None else ""
        if subtitles is not None and not subtitles.is_file():
            raise InputError(f"{subtitles}: no such subtitles file")
        reports = [run_qa(v, settings, QAInputs(language=lang or "", script=text, subtitles=subtitles)) for v in videos]
    except InputError as e:
        err_console.print(f"[bold red]error:[/] {escape(str(e))}")
        raise typer.Exit(2) from None
    if as_json:
        console.print_json(json.dumps([r.model_dump() for r in reports]))
    else:
        for r in reports:
            verdict = "[green]PASS[/]" if r.passed else "[bold red]FAIL[/]"
            console.print(f"{verdict} {escape(r.video)} ({r.duration:.1f} s, checked in {r.seconds:.1f} s)")
            for c in r.checks:
                colour = {"pass": "green", "fail": "red", "skip": "yellow"}[c.verdict]
                console.print(f"  [{colour}]{escape(c.line())}[/]")
    if any(not r.passed for r in reports):
        raise typer.Exit(1)


def _script_text(path: Path) -> str:
    """The narration text of a script file: step 1's script.json (its "script") or plain text."""
    import json

    from vivant.errors import InputError

    try:
        raw = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise InputError(f"{path}: cannot read the script: {e}") from None
    if path.suffix.lower() == ".json":
        try:
            data = json.loads(raw)
            return str(data["script"])
        except (ValueError, KeyError, TypeError):
            raise InputError(f'{path}: not a script JSON (no "script" text)') from None
    return raw


@app.command()
@guarded
def report(
    batch: Annotated[int | None, typer.Argument(help="Batch to report on (default: the latest).")] = None,
    html: Annotated[
        bool, typer.Option("--html/--no-html", help="Write reports/batch-NNNN.html and .json (default: yes).")
    ] = True,
    open_page: Annotated[bool, typer.Option("--open", help="Open the HTML report in the browser.")] = False,
    config: ConfigOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Where a night's time, GPU and money went: per step, per painting, bottlenecks, rejections, cost."""
    from vivant.night import latest_batch
    from vivant.report import build_report, write_report
    from vivant.report.terminal import render

    with open_ws(config) as ws:
        batch = latest_batch(ws.store, batch)
        result = build_report(ws.store, ws.settings, batch)
        path = write_report(ws.store, ws.settings, batch, report=result) if html or open_page else None
    if as_json:
        console.print_json(result.model_dump_json())
    else:
        console.print(render(result, str(path) if path else None))
    if open_page and path is not None:
        import webbrowser

        webbrowser.open(path.as_uri())


@app.command()
@guarded
def doctor(config: ConfigOpt = None) -> None:
    """Check ffmpeg, fonts, voices, ZIM files and backends."""
    from vivant import config as config_mod
    from vivant.doctor import run_checks

    path = config or config_mod.find()
    settings = config_mod.load(path) if path else config_mod.Settings().resolved(Path.cwd())
    if path is None:
        console.print("[yellow]no vivant.toml found: checking the defaults[/]")
    findings = run_checks(settings)
    table = Table(title="vivant doctor")
    table.add_column("check")
    table.add_column("")
    table.add_column("detail", overflow="fold")
    for f in findings:
        table.add_row(f.name, "[green]ok[/]" if f.ok else "[red]problem[/]", escape(f.detail))
    console.print(table)
    if not all(f.ok for f in findings):
        raise typer.Exit(1)
