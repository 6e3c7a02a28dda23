"""The ``vivant`` command line: thin typer commands over the library.

Every command turns a :class:`~vivant.errors.VivantError` into one red line and a non-zero exit; unexpected
errors are written with their traceback to ``logs/vivant.log`` in the workspace, and the user sees one line
pointing there. Progress comes from engine events rendered with rich.
"""

from __future__ import annotations

import functools
import json
import logging
import sys
import typing
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any, ParamSpec, TypeVar

import typer
from rich.console import Console
from rich.logging import RichHandler
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn
from rich.table import Table

from vivant import __version__
from vivant.errors import VivantError
from vivant.events import Event, EventBus
from vivant.redact import RedactingFilter, redact

P = ParamSpec("P")
R = TypeVar("R")

app = typer.Typer(
    help="Tableau Vivant: portrait paintings become talking vertical videos, every night, on your machines.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
catalog_app = typer.Typer(help="Import painting catalogs and see what is in them.", no_args_is_help=True)
app.add_typer(catalog_app, name="catalog")
publish_app = typer.Typer(help="Publish approved videos: the plan, and the publisher.", no_args_is_help=True)
app.add_typer(publish_app, name="publish")
schedule_app = typer.Typer(help="Unattended nights: systemd timers or crontab lines.", no_args_is_help=True)
app.add_typer(schedule_app, name="schedule")

console = Console(stderr=False, highlight=False)
err_console = Console(stderr=True, highlight=False, soft_wrap=True)
log = logging.getLogger("vivant")

ConfigOpt = Annotated[
    Path | None,
    typer.Option(
        "--config", "-c", help="vivant.toml to use (default: found in this folder or a parent).", envvar="VIVANT_CONFIG"
    ),
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON instead of tables.")]
LangsOpt = Annotated[str | None, typer.Option("--langs", help="Languages, comma-separated (default: config).")]
VerboseOpt = Annotated[bool, typer.Option("--verbose", "-v", help="Show info-level logs.")]


def _setup_logging(verbose: bool, log_dir: Path | None = None) -> None:
    root = logging.getLogger()
    root.setLevel(logging.DEBUG)
    for h in list(root.handlers):
        if getattr(h, "_vivant", False):
            root.removeHandler(h)
    handler = RichHandler(console=err_console, show_path=False, show_time=False, rich_tracebacks=False)
    handler.setLevel(logging.INFO if verbose else logging.WARNING)
    handler.addFilter(lambda r: r.exc_info is None or verbose)
    handler.addFilter(RedactingFilter())
    handler._vivant = True  # type: ignore[attr-defined]
    root.addHandler(handler)
    if log_dir is not None:
        try:
            log_dir.mkdir(parents=True, exist_ok=True)
            fh = logging.FileHandler(log_dir / "vivant.log", encoding="utf-8")
        except OSError:
            return
        fh.setLevel(logging.DEBUG)
        fh.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        fh.addFilter(RedactingFilter())
        fh._vivant = True  # type: ignore[attr-defined]
        root.addHandler(fh)


def _guarded(fn: Callable[P, R]) -> Callable[P, R]:
    """Turn errors into one line for the user and an exit code."""

    @functools.wraps(fn)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return fn(*args, **kwargs)
        except VivantError as e:
            err_console.print(f"[bold red]error:[/] {escape(redact(str(e)))}", markup=True, highlight=False)
            raise typer.Exit(1) from None
        except KeyboardInterrupt:
            err_console.print("[yellow]interrupted[/]: run `vivant resume` to continue where it stopped.")
            raise typer.Exit(130) from None
        except typer.Exit:
            raise
        except Exception as e:
            log.debug("unexpected error", exc_info=e)
            what = escape(redact(str(e)))
            err_console.print(f"[bold red]unexpected error:[/] {type(e).__name__}: {what} (details in logs/vivant.log)")
            raise typer.Exit(2) from None

    return wrapper


def _open(config: Path | None, verbose: bool = False) -> Any:
    from vivant.workspace import open_workspace

    ws = open_workspace(config)
    _register_secrets(ws.settings)
    _setup_logging(verbose, ws.settings.workspace / "logs")
    return ws


def _register_secrets(settings: Any) -> None:
    """The configured keys join the one redaction point (the credentials file's values join it when read)."""
    from vivant.redact import register

    register(settings.llm.key(), settings.whisper.key())


def _langs(value: str | None, default: list[str]) -> list[str]:
    if not value:
        return list(default)
    langs = [v.strip() for v in value.split(",") if v.strip()]
    bad = [v for v in langs if v not in ("fr", "en")]
    if bad or not langs:
        raise VivantError(f"--langs: unknown language {', '.join(bad) or '(none)'}; choose from fr, en")
    return langs


# -- progress ---------------------------------------------------------------------------------------------------


class ProgressView:
    """Renders engine events: one bar per step (units done / total, ETA) and the unit being worked on."""

    def __init__(self, console: Console, quiet: bool = False) -> None:
        self.console = console
        self.quiet = quiet
        self.progress = Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            TimeRemainingColumn(),
            TextColumn("{task.fields[current]}"),
            console=console,
            transient=False,
            disable=quiet,
        )
        self._tasks: dict[int, Any] = {}

    @contextmanager
    def attached(self, bus: EventBus) -> Iterator[None]:
        unsubscribe = bus.subscribe(self.on_event)
        with self.progress:
            try:
                yield
            finally:
                unsubscribe()

    def on_event(self, e: Event) -> None:
        p = self.progress
        if e.kind == "step_started" and e.step is not None:
            self._tasks[e.step] = p.add_task(f"step {e.step} {e.step_name}", total=e.data.get("units", 0), current="")
        elif e.kind == "unit_started" and e.step in self._tasks:
            lang = f" · {e.language}" if e.language else ""
            attempt = f" (attempt {e.data['attempt']})" if e.data.get("attempt", 1) > 1 else ""
            p.update(self._tasks[e.step], current=escape(f"{e.painting}{lang}{attempt}"))
        elif e.kind == "unit_progress" and e.step in self._tasks:
            lang = f" · {e.language}" if e.language else ""
            node = f" · {e.data['node_class']} #{e.data.get('node')}" if e.data.get("node_class") else ""
            steps = f" {e.data['value']}/{e.data['max']}" if "value" in e.data else ""
            queued = " · queued" if e.data.get("phase") == "queued" else ""
            p.update(self._tasks[e.step], current=escape(f"{e.painting}{lang} {e.data.get('fraction', 0):.0%}"
                                                          f"{queued}{node}{steps}"))  # fmt: skip
        elif e.kind == "unit_succeeded" and e.step in self._tasks:
            p.advance(self._tasks[e.step])
            if e.data.get("refused"):
                p.console.print(f"  [yellow]refused[/] {escape(e.painting)}: {escape('; '.join(e.data['refused']))}")
        elif e.kind == "unit_failed" and e.step in self._tasks:
            lang = f" · {e.language}" if e.language else ""
            p.console.print(
                f"  [red]failed[/] step {e.step} {escape(e.painting)}{lang} (attempt {e.data.get('attempt')}):"
                f" {escape(redact(str(e.data.get('error'))))}"
            )
        elif e.kind == "item_state" and e.data.get("state") == "FAILED" and e.step in self._tasks:
            p.advance(self._tasks[e.step])
        elif e.kind == "step_finished" and e.step in self._tasks:
            t = self._tasks[e.step]
            p.update(t, completed=p.tasks[t].total, current=f"done in {e.data.get('seconds', 0):.1f}s")
        elif e.kind in ("unit_resubmitted", "endpoint_down", "endpoint_up"):
            from vivant.report.metrics import Incident
            from vivant.report.terminal import incident_line

            fields = {k: v for k, v in e.data.items() if k in Incident.model_fields}
            fields |= {"at": 0.0, "kind": e.kind, "step": e.step, "painting": e.painting, "language": e.language}
            fields["detail"] = str(e.data.get("reason") or e.data.get("why") or "")
            p.console.print(f"  [yellow]{escape(incident_line(Incident(**fields)))}[/]")
        elif e.kind == "recovered":
            followed = int(e.data.get("followed", 0))
            again = int(e.data.get("interrupted", 0)) - followed
            parts = [f"{again} interrupted attempt(s) will run again"] if again else []
            if followed:
                parts.append(f"{followed} will follow its job still on the server (sent again only if lost there)")
            if parts:
                p.console.print("resuming: " + "; ".join(parts))


def _run_batch(ws: Any, batch_id: int, *, quiet: bool = False, roles: Any = None) -> dict[str, Any]:
    from vivant.batch import describe
    from vivant.engine import Engine
    from vivant.report import start_meter, write_night_report

    bus = EventBus()
    bus.subscribe(_event_recorder(ws.store))
    engine = Engine(ws.store, ws.settings, bus=bus, roles=roles)
    view = ProgressView(console, quiet=quiet)
    meter = start_meter(ws.settings)
    with view.attached(bus):
        engine.run(batch_id)
    report_path = write_night_report(ws.store, ws.settings, batch_id, meter)
    if report_path is not None:
        (err_console if quiet else console).print(f"report: {report_path}", markup=False)
    return describe(ws.store, batch_id)


def _event_recorder(store: Any) -> Callable[[Event], None]:
    from vivant.events import PERSISTED

    def record(e: Event) -> None:
        if e.kind in PERSISTED:
            data = dict(e.data)
            if e.step is not None:
                data.setdefault("step", e.step)
            if e.language:
                data.setdefault("language", e.language)
            if e.painting:
                data.setdefault("painting", e.painting)
            store.add_event(e.kind, data, batch_id=e.batch_id, item_id=e.item_id)

    return record


def _batch_or_latest(ws: Any, batch: int | None) -> int:
    """The batch asked for, or the latest one; one clear line when there is none yet."""
    if batch is not None:
        return batch
    latest = ws.store.latest_batch()
    if latest is None:
        raise VivantError("no batch yet: run `vivant night` or `vivant demo`")
    return int(latest.id)


def _print_batch(desc: dict[str, Any]) -> None:
    table = Table(title=f"batch {desc['batch']} · {desc['status']} · {', '.join(desc['languages'])}")
    for col in ("painting", "state", "videos / reason"):
        table.add_column(col, overflow="fold")
    for item in desc["items"]:
        state = item["state"]
        colour = {"COMPLETE": "green", "ABORTED": "yellow", "FAILED": "red"}.get(state, "cyan")
        detail = (
            "\n".join(f"{lang}: {p}" for lang, p in item["videos"].items()) if state == "COMPLETE" else item["reason"]
        )
        table.add_row(
            f"{escape(item['title'])}\n[dim]{escape(item['artist'])}[/]", f"[{colour}]{state}[/]", escape(detail)
        )
    console.print(table)
    counts = ", ".join(f"{v} {k.lower()}" for k, v in sorted(desc["counts"].items()))
    console.print(f"[bold]{counts}[/]")
    if desc.get("owner"):
        import time

        o = desc["owner"]
        since = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(o["since"]))
        what = f" ({o['command']})" if o.get("command") else ""
        console.print(f"[cyan]being run by process {o['pid']} on {escape(o['host'])}{escape(what)} since {since}[/]")
    if desc.get("incidents"):
        from vivant.report.metrics import Incident
        from vivant.report.terminal import incident_line

        for inc in desc["incidents"]:
            console.print(f"[yellow]{escape(incident_line(Incident(**inc)))}[/]")
    for r in desc.get("running", []):  # what runs where, now
        lang = f" [{r['language']}]" if r["language"] else ""
        where = f"running on {r['resource']} ({r.get('endpoint') or r['backend']})"
        console.print(f"{where}: step {r['step']} {r['step_name']}{lang} of {escape(r['painting'])}")


# -- commands ---------------------------------------------------------------------------------------------------


# -- models: configs for the model servers ---------------------------------------------------------------------

models_app = typer.Typer(help="Model server configs (llama-swap) and prompt templates.", no_args_is_help=True)
app.add_typer(models_app, name="models")


@models_app.command("llama-swap")
@_guarded
def models_llama_swap(
    models_dir: Annotated[Path, typer.Option("--models-dir", help="Folder of .gguf files and safetensors folders.")],
    out: Annotated[Path, typer.Option("--out", "-o", help="The YAML file to write.")] = Path("llama-swap.yaml"),
    ttl: Annotated[int, typer.Option("--ttl", help="Seconds before an idle model is unloaded (0: never).")] = 300,
    group: Annotated[str, typer.Option("--group", help="One group of all models; '' for none.")] = "vivant",
    llama_server: Annotated[str, typer.Option("--llama-server", help="llama.cpp's server binary.")] = "llama-server",
    hf_server: Annotated[str, typer.Option("--hf-server", help="For safetensors folders: vllm or sglang.")] = "vllm",
) -> None:
    """Write a llama-swap config for every model in a folder (GGUF: llama.cpp; safetensors: vLLM/SGLang)."""
    from vivant import models_config

    if hf_server not in ("vllm", "sglang"):
        raise VivantError(f"--hf-server {hf_server!r}: choose vllm or sglang")
    cfg = models_config.scan(
        models_dir, ttl=ttl, group=group, llama_server=llama_server, hf_server=typing.cast(typing.Any, hf_server)
    )
    models_config.write_llama_swap(cfg, out)
    console.print(f"wrote {escape(str(out))}: {len(cfg.models)} models ({escape(', '.join(cfg.models))})")


@models_app.command("prompts")
@_guarded
def models_prompts(
    out: Annotated[Path, typer.Argument(help="Folder to copy the prompt templates into (then set llm.prompts_dir).")],
) -> None:
    """Copy the packaged prompt templates into a folder, to edit them."""
    import shutil

    from vivant.backends.openai.prompts import Prompts

    out.mkdir(parents=True, exist_ok=True)
    for template in sorted(Prompts.packaged().glob("*.txt")):
        target = out / template.name
        if target.exists():
            console.print(f"kept {escape(str(target))} (already there)")
            continue
        shutil.copyfile(template, target)
        console.print(f"wrote {escape(str(target))}")


def _version(value: bool) -> None:
    if value:
        console.print(f"vivant {__version__}")
        raise typer.Exit()


@app.callback()
def main(
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Show the version.")
    ] = False,
) -> None:
    """Tableau Vivant."""


@app.command()
@_guarded
def init(
    folder: Annotated[Path, typer.Argument(help="Workspace folder to create.")] = Path("."),
    zim: Annotated[list[Path] | None, typer.Option("--zim", help="A .zim archive for research (repeatable).")] = None,
    force: Annotated[bool, typer.Option("--force", help="Overwrite an existing vivant.toml.")] = False,
) -> None:
    """Write a commented vivant.toml and create the workspace (database, batches/, pool/, reports/)."""
    from vivant.workspace import init_workspace

    path = init_workspace(folder, zim_files=[z.resolve() for z in zim or []], force=force)
    console.print(f"workspace ready: {path}")


@catalog_app.command("import")
@_guarded
def catalog_import(
    source: Annotated[Path, typer.Argument(help="A CSV or JSON file, a WikiArt genre list, or a folder of images.")],
    fmt: Annotated[
        str | None, typer.Option("--format", help="csv, json, wikiart or folder (default: guessed).")
    ] = None,
    column: Annotated[
        list[str] | None, typer.Option("--column", help="Column mapping FIELD=COLUMN, e.g. title=name (repeatable).")
    ] = None,
    genre_index: Annotated[Path | None, typer.Option("--genre-index", help="WikiArt genre_class file.")] = None,
    portraits: Annotated[Path | None, typer.Option("--portraits", help="File listing the portraits.")] = None,
    keep_unknown_dates: Annotated[
        bool, typer.Option("--keep-unknown-dates", help="Keep rows with no date at all.")
    ] = False,
    artist_deaths: Annotated[
        Path | None, typer.Option("--artist-deaths", help="CSV of artist (or slug), death year.")
    ] = None,
    config: ConfigOpt = None,
    verbose: VerboseOpt = False,
) -> None:
    """Import paintings into the catalog; says how many rows were kept and dropped, and why."""
    from vivant import catalog

    columns = catalog.ColumnMap.from_pairs(column) if column else None
    formats = typing.get_args(catalog.Format)
    if fmt is not None and fmt not in formats:
        raise VivantError(f"--format {fmt!r}: choose one of {', '.join(formats)}")
    with _open(config, verbose) as ws, console.status(f"importing {source} ..."):
        report = catalog.import_catalog(
            ws.store,
            source,
            ws.settings.catalog,
            fmt=typing.cast("catalog.Format | None", fmt),
            columns=columns,
            genre_index=genre_index,
            keep_unknown_dates=keep_unknown_dates,
            portraits_file=portraits,
            artist_deaths=artist_deaths,
        )
    for line in report.lines():
        console.print(line, markup=False)


@catalog_app.command("stats")
@_guarded
def catalog_stats(config: ConfigOpt = None, as_json: JsonOpt = False) -> None:
    """What the catalog holds: paintings, portraits, artists, genres, paintings already used."""
    from vivant import catalog

    with _open(config) as ws:
        stats = catalog.stats(ws.store)
    if as_json:
        console.print_json(json.dumps(stats))
        return
    console.print(
        f"{stats['paintings']} paintings, {stats['portraits']} portraits, {stats['artists']} artists, "
        f"{stats['used']} already used"
    )
    table = Table(title="genres")
    table.add_column("genre")
    table.add_column("paintings", justify="right")
    for g, n in list(stats["genres"].items())[:15]:
        table.add_row(str(g), str(n))
    console.print(table)


@app.command()
@_guarded
def night(
    count: Annotated[int, typer.Option("--count", "-n", help="How many portraits to draw.")] = 20,
    seed: Annotated[int | None, typer.Option("--seed", help="Seed of the draw (reproducible).")] = None,
    langs: LangsOpt = None,
    include_used: Annotated[bool, typer.Option("--include-used", help="Allow paintings used before.")] = False,
    config: ConfigOpt = None,
    verbose: VerboseOpt = False,
    as_json: JsonOpt = False,
) -> None:
    """Draw portraits and run the ten steps on them, step by step across the batch."""
    from vivant.backends.registry import Roles
    from vivant.batch import start_night

    with _open(config, verbose) as ws:
        languages = _langs(langs, list(ws.settings.languages))
        roles = Roles(ws.settings)  # checked (preflight) before the draw, then used by the night
        batch_id = start_night(ws, count=count, seed=seed, languages=languages, include_used=include_used,
                               roles=roles)  # fmt: skip
        console.print(f"batch {batch_id}: {len(ws.store.items(batch_id))} paintings, {', '.join(languages)}")
        desc = _run_batch(ws, batch_id, quiet=as_json, roles=roles)
    _finish(desc, as_json)


@app.command()
@_guarded
def prefilter(
    count: Annotated[int, typer.Option("--count", "-n", help="How many portraits to draw.")] = 20,
    seed: Annotated[int | None, typer.Option("--seed", help="Seed of the draw (as `vivant night --seed`).")] = None,
    everything: Annotated[bool, typer.Option("--all", help="Every portrait of the catalog, not a draw.")] = False,
    include_used: Annotated[bool, typer.Option("--include-used", help="Allow paintings used before.")] = False,
    config: ConfigOpt = None,
    verbose: VerboseOpt = False,
    as_json: JsonOpt = False,
) -> None:
    """Dry run of step 0: which drawn portraits would be accepted and why (no batch made, nothing used up)."""
    from vivant.prefilter import dry_run, pick

    def line(r: dict[str, Any]) -> None:
        if as_json:
            return
        sitter = r["sitter"]
        who = f"{sitter['gender']} ({sitter['source']})" if sitter else "-"
        verdict = "[green]accept[/]" if r["accepted"] else "[red]refuse[/]"
        why = "; ".join(r["reasons"])
        console.print(
            f"{verdict} {escape(r['painting'])} · {r['people']} person(s) · {who} · {r['seconds']:.1f} s"
            + (f" · {escape(why)}" if why else "")
        )

    with _open(config, verbose) as ws:
        ids = pick(ws, count=count, seed=seed, include_used=include_used, everything=everything)
        rows = dry_run(ws, ids, on_result=line)
    accepted = sum(1 for r in rows if r["accepted"])
    if as_json:
        console.print_json(json.dumps({"accepted": accepted, "inspected": len(rows), "paintings": rows}))
    else:
        console.print(f"{accepted} of {len(rows)} would be accepted (dry run: no batch made)")


def _finish(desc: dict[str, Any], as_json: bool) -> None:
    if as_json:
        console.print_json(json.dumps(desc))
    else:
        _print_batch(desc)


def _skip_busy(ws: Any, batch_id: int, *, explicit: bool) -> bool:
    """A batch another live process runs: one line, nothing changed (an error when it was asked for by id)."""
    from vivant.engine import LEASE_STALE, this_process
    from vivant.errors import BatchBusy
    from vivant.store import busy_message

    lease = ws.store.busy(batch_id, this_process(), stale_after=LEASE_STALE)
    if lease is None:
        return False
    message = busy_message(batch_id, lease, ws.store.clock())
    if explicit:
        raise BatchBusy(batch_id, message)
    err_console.print(f"[yellow]skipped:[/] {escape(message)}")
    return True


@app.command()
@_guarded
def resume(
    batch: Annotated[
        int | None, typer.Argument(help="Batch to continue (default: every batch with work left).")
    ] = None,
    config: ConfigOpt = None,
    verbose: VerboseOpt = False,
    as_json: JsonOpt = False,
) -> None:
    """Continue interrupted batches (and paintings sent to REDO): nothing finished runs again."""
    with _open(config, verbose) as ws:
        ids = [batch] if batch is not None else ws.store.batches_with_work()
        if batch is None:
            ids += [b.id for b in ws.store.batches() if b.status == "RUNNING" and b.id not in ids]
        ws.store.check()  # a damaged database is one line, never "nothing to resume"
        if not ids:
            console.print("nothing to resume: every batch is finished")
            return
        from vivant.preflight import before_night

        before_night(ws.settings, nothing="nothing was resumed")  # the backends' own check runs in the engine
        skipped = 0
        for batch_id in sorted(set(ids)):
            ws.store.batch(batch_id)
            if _skip_busy(ws, batch_id, explicit=batch is not None):
                skipped += 1
                continue
            console.print(f"resuming batch {batch_id}")
            desc = _run_batch(ws, batch_id, quiet=as_json)
            _finish(desc, as_json)
        if skipped == len(set(ids)):
            raise typer.Exit(1)  # every batch with work left is another process's


@app.command()
@_guarded
def status(
    batch: Annotated[int | None, typer.Argument(help="Batch id (default: the latest).")] = None,
    config: ConfigOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """States of a batch's paintings, reasons, and the paths of the final videos."""
    from vivant.batch import describe

    with _open(config) as ws:
        desc = describe(ws.store, _batch_or_latest(ws, batch))
    _finish(desc, as_json)


@app.command()
@_guarded
def redo(
    painting: Annotated[str, typer.Argument(help="Painting key, id or title.")],
    from_step: Annotated[
        str | None,
        typer.Option("--from", help="Step number or name to run again from (default: the step QA suggests)."),
    ] = None,
    batch: Annotated[int | None, typer.Option("--batch", help="Batch (default: the painting's latest).")] = None,
    run_now: Annotated[bool, typer.Option("--run", help="Run it now instead of at the next resume.")] = False,
    config: ConfigOpt = None,
    verbose: VerboseOpt = False,
) -> None:
    """Mark a painting REDO from a step; the next `vivant resume` (or --run) runs it again from there."""
    from vivant.batch import find_item_for_redo
    from vivant.engine import Engine
    from vivant.steps import find_step

    try:
        chosen = find_step(from_step) if from_step is not None else None
    except KeyError as e:
        raise VivantError(f"--from: {e.args[0]}") from None
    with _open(config, verbose) as ws:
        item_id = find_item_for_redo(ws.store, painting, batch)
        from vivant.qa import results

        failed = results.failed(ws.store, ws.settings.workspace, item_id)
        suggested = results.suggested_step(ws.store, ws.settings.workspace, item_id)
        if suggested is not None:
            causes = sorted({c for r in failed.values() for c in r.causes()})
            console.print(f"{painting}: QA failed ({', '.join(causes)}); it suggests redoing from step "
                          f"{find_step(suggested).label}")  # fmt: skip
        if chosen is None and suggested is None:
            raise VivantError(f"{painting}: --from is needed (QA found nothing to suggest a step from)")
        step = chosen if chosen is not None else find_step(suggested)  # type: ignore[arg-type]
        Engine(ws.store, ws.settings).redo(item_id, step)
        item = ws.store.item(item_id)
        console.print(f"{painting}: REDO from step {step.label} in batch {item.batch_id}")
        if run_now:
            _finish(_run_batch(ws, item.batch_id), False)


@app.command()
@_guarded
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
    from vivant.qa import QAInputs, run_qa

    _setup_logging(verbose)
    found = config or find()
    settings = load(found) if found else Settings()
    if lang is not None and lang not in ("fr", "en"):
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
@_guarded
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
    from vivant.report import build_report, write_report
    from vivant.report.terminal import render

    with _open(config) as ws:
        batch = _batch_or_latest(ws, batch)
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
@_guarded
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


@app.command()
@_guarded
def demo(
    workspace: Annotated[Path, typer.Option("--workspace", help="Workspace folder for the demo.")] = Path(
        "demo-workspace"
    ),
    paintings: Annotated[
        Path | None,
        typer.Option("--paintings", help="Folder of sample paintings (with catalog.csv, or images with sidecar JSON)."),
    ] = None,
    count: Annotated[int, typer.Option("--count", "-n", help="Portraits in the demo night.")] = 4,
    seed: Annotated[int, typer.Option("--seed", help="Seed of the draw.")] = 7,
    langs: LangsOpt = None,
    samples_url: Annotated[str | None, typer.Option("--samples-url", hidden=True, envvar="VIVANT_SAMPLES_URL")] = None,
    verbose: VerboseOpt = False,
    as_json: JsonOpt = False,
) -> None:
    """Turn sample paintings into real videos: init, import, one night; prints where the videos are."""
    from vivant import catalog
    from vivant import demo as demo_mod
    from vivant.workspace import init_workspace

    source = paintings
    if source is None:
        source = demo_mod.project_shared_paintings()
    if source is None:
        cache = demo_mod.default_cache()
        console.print(f"downloading sample paintings from Wikimedia Commons into {cache} (once)")
        source = demo_mod.download_samples(
            cache,
            base_url=samples_url or demo_mod.COMMONS_FILEPATH,
            on_file=lambda name, i, n: console.print(f"  {i + 1}/{n} {escape(name)}"),
        )
    if not source.is_dir():
        raise VivantError(f"--paintings {source}: not a folder")
    zims = demo_mod.sample_zims(source)  # research too: the archives beside the samples
    config_path = init_workspace(workspace, zim_files=zims)
    if zims:
        console.print(f"research in {', '.join(escape(z.name) for z in zims)}")
    with _open(config_path, verbose) as ws:
        from vivant.preflight import before_night

        languages = _langs(langs, list(ws.settings.languages))
        before_night(ws.settings)
        listed = (source / "catalog.csv").is_file()
        report = catalog.import_catalog(
            ws.store,
            source / "catalog.csv" if listed else source,
            ws.settings.catalog,
            fmt="csv" if listed else "folder",
            columns=catalog.ColumnMap(genre="kind") if listed else None,
            keep_unknown_dates=not listed,
        )
        for line in report.lines():
            console.print(line, markup=False)
        rows = [(pid, genre, ws.store.painting(pid).key) for pid, genre in ws.store.painting_genres()]
        chosen = demo_mod.choose(rows, portraits=count, seed=seed)
        if not chosen:
            raise VivantError(f"{source}: no painting to run the demo on")
        batch_id = ws.store.create_batch(chosen, languages=languages, seed=seed, note="demo")
        console.print(f"demo batch {batch_id}: {len(chosen)} paintings × {len(languages)} languages")
        desc = _run_batch(ws, batch_id, quiet=as_json)
    _finish(desc, as_json)
    if not as_json:
        pool = ws.settings.pool_dir
        console.print(f"\n[bold]videos:[/] {pool}")
        for f in sorted(pool.glob("*.mp4")):
            console.print(f"  {f}")


# -- review, publish, schedule ------------------------------------------------------------------------------------


@app.command()
@_guarded
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
    with _open(config, verbose) as ws:
        settings, database = ws.settings, ws.settings.database
    bind = host or settings.review.host
    console.print(f"review page: http://{bind}:{port or settings.review.port}/  (Ctrl+C to stop)")
    serve(settings, database, host=host, port=port)


@publish_app.command("run")
@_guarded
def publish_run(
    once: Annotated[bool, typer.Option("--once", help="One pass (for cron or a systemd timer), then exit.")] = False,
    config: ConfigOpt = None,
    verbose: VerboseOpt = False,
    as_json: JsonOpt = False,
) -> None:
    """Post the approved paintings due now (up to publish.per_day a day); without --once, keep running."""
    from vivant.publish.scheduler import PassSummary, Publisher

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

    with _open(config, verbose) as ws:
        publisher = Publisher(ws.store, ws.settings)
        publisher.guard_logs()
        if once:
            show(publisher.run_once())
        else:
            console.print("publisher running (Ctrl+C to stop)")
            publisher.run_forever(on_pass=show)


@publish_app.command("plan")
@_guarded
def publish_plan(
    days: Annotated[int, typer.Option("--days", help="Days ahead to show.")] = 3,
    config: ConfigOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """What goes out when: day, time, platform, language, painting, state, URL."""
    from vivant.publish import limits
    from vivant.publish.scheduler import Publisher, describe_plan

    with _open(config) as ws:
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
@_guarded
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
    from vivant import schedule

    path = config or config_mod.find()
    if path is None:
        raise VivantError("no vivant.toml here or in a parent folder: run `vivant init` or pass --config")
    vivant = Path(sys.argv[0]).resolve() if Path(sys.argv[0]).name == "vivant" else None
    plan = schedule.Plan(config=path.resolve(), night_at=at, count=count, vivant=str(vivant) if vivant else "")
    if cron:
        for line in schedule.crontab_lines(plan):
            console.print(line, markup=False, soft_wrap=True)
        return
    for written in schedule.install(plan, unit_dir=unit_dir, enable=not no_enable):
        console.print(f"wrote {written}")


@schedule_app.command("status")
@_guarded
def schedule_status(
    unit_dir: Annotated[Path | None, typer.Option("--unit-dir", help="Where the units are.")] = None,
) -> None:
    """Which units and timers are installed, and when they run next."""
    from vivant import schedule

    for line in schedule.status(unit_dir=unit_dir):
        console.print(line, markup=False, soft_wrap=True)


def run() -> None:  # pragma: no cover - console entry point alias
    app()


if __name__ == "__main__":  # pragma: no cover
    sys.exit(app())
