"""Setting up: ``vivant init``, ``--version``, ``vivant catalog import|stats``, ``vivant models llama-swap|prompts``."""

from __future__ import annotations

import json
import typing
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from vivant import __version__
from vivant.cli.common import ConfigOpt, JsonOpt, VerboseOpt, app, catalog_app, console, guarded, open_ws
from vivant.errors import VivantError

models_app = typer.Typer(help="Model server configs (llama-swap) and prompt templates.", no_args_is_help=True)
app.add_typer(models_app, name="models")


@models_app.command("llama-swap")
@guarded
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
@guarded
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
@guarded
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
@guarded
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
    with open_ws(config, verbose) as ws, console.status(f"importing {source} ..."):
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
@guarded
def catalog_stats(config: ConfigOpt = None, as_json: JsonOpt = False) -> None:
    """What the catalog holds: paintings, portraits, artists, genres, paintings already used."""
    from vivant import catalog

    with open_ws(config) as ws:
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
