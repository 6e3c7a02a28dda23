"""``vivant demo``: sample paintings (shared, cached or downloaded once), a workspace, one night."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from vivant.cli.common import JsonOpt, LangsOpt, VerboseOpt, app, console, guarded, open_ws, parse_langs
from vivant.cli.view import finish, run_batch
from vivant.errors import VivantError


@app.command()
@guarded
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
    from vivant import demo as demo_mod
    from vivant.night import demo_batch, import_samples
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
    with open_ws(config_path, verbose) as ws:
        from vivant.preflight import before_night

        languages = parse_langs(langs, list(ws.settings.languages))
        before_night(ws.settings)
        for line in import_samples(ws, source):
            console.print(line, markup=False)
        batch_id, chosen = demo_batch(ws, source, count=count, seed=seed, languages=languages)
        console.print(f"demo batch {batch_id}: {len(chosen)} paintings × {len(languages)} languages")
        desc = run_batch(ws, batch_id, quiet=as_json)
    finish(desc, as_json)
    if not as_json:
        pool = ws.settings.pool_dir
        console.print(f"\n[bold]videos:[/] {pool}")
        for f in sorted(pool.glob("*.mp4")):
            console.print(f"  {f}")
