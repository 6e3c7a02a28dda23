"""The nights: ``vivant night``, ``prefilter``, ``resume``, ``status`` and ``redo`` (the work is in
:mod:`vivant.night` and :mod:`vivant.batch`; here only the options and what is printed)."""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer
from rich.markup import escape

from vivant.cli.common import (
    ConfigOpt,
    JsonOpt,
    LangsOpt,
    VerboseOpt,
    app,
    console,
    err_console,
    guarded,
    open_ws,
    parse_langs,
)
from vivant.cli.view import finish, run_batch
from vivant.errors import VivantError


@app.command()
@guarded
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

    with open_ws(config, verbose) as ws:
        languages = parse_langs(langs, list(ws.settings.languages))
        roles = Roles(ws.settings)  # checked (preflight) before the draw, then used by the night
        batch_id = start_night(ws, count=count, seed=seed, languages=languages, include_used=include_used,
                               roles=roles)  # fmt: skip
        console.print(f"batch {batch_id}: {len(ws.store.items(batch_id))} paintings, {', '.join(languages)}")
        desc = run_batch(ws, batch_id, quiet=as_json, roles=roles)
    finish(desc, as_json)


@app.command()
@guarded
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

    with open_ws(config, verbose) as ws:
        ids = pick(ws, count=count, seed=seed, include_used=include_used, everything=everything)
        rows = dry_run(ws, ids, on_result=line)
    accepted = sum(1 for r in rows if r["accepted"])
    if as_json:
        console.print_json(json.dumps({"accepted": accepted, "inspected": len(rows), "paintings": rows}))
    else:
        console.print(f"{accepted} of {len(rows)} would be accepted (dry run: no batch made)")


@app.command()
@guarded
def resume(
    batch: Annotated[
        int | None, typer.Argument(help="Batch to continue (default: every batch with work left).")
    ] = None,
    config: ConfigOpt = None,
    verbose: VerboseOpt = False,
    as_json: JsonOpt = False,
) -> None:
    """Continue interrupted batches (and paintings sent to REDO): nothing finished runs again."""
    from vivant.night import batches_to_resume, busy

    with open_ws(config, verbose) as ws:
        ids = batches_to_resume(ws.store, batch)
        if not ids:
            console.print("nothing to resume: every batch is finished")
            return
        from vivant.preflight import before_night

        before_night(ws.settings, nothing="nothing was resumed")  # the backends' own check runs in the engine
        skipped = 0
        for batch_id in ids:
            message = busy(ws.store, batch_id, explicit=batch is not None)
            if message is not None:  # another live process runs it: one line, nothing changed
                err_console.print(f"[yellow]skipped:[/] {escape(message)}")
                skipped += 1
                continue
            console.print(f"resuming batch {batch_id}")
            desc = run_batch(ws, batch_id, quiet=as_json)
            finish(desc, as_json)
        if skipped == len(ids):
            raise typer.Exit(1)  # every batch with work left is another process's


@app.command()
@guarded
def status(
    batch: Annotated[int | None, typer.Argument(help="Batch id (default: the latest).")] = None,
    config: ConfigOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """States of a batch's paintings, reasons, and the paths of the final videos."""
    from vivant.batch import describe
    from vivant.night import latest_batch

    with open_ws(config) as ws:
        desc = describe(ws.store, latest_batch(ws.store, batch))
    finish(desc, as_json)


@app.command()
@guarded
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
    from vivant.engine import Engine
    from vivant.night import plan_redo
    from vivant.steps import find_step

    try:
        chosen = find_step(from_step) if from_step is not None else None
    except KeyError as e:
        raise VivantError(f"--from: {e.args[0]}") from None
    with open_ws(config, verbose) as ws:
        plan = plan_redo(ws, painting, chosen, batch)
        if plan.suggested is not None:
            console.print(f"{painting}: QA failed ({', '.join(plan.qa_causes)}); it suggests redoing from step "
                          f"{plan.suggested.label}")  # fmt: skip
        Engine(ws.store, ws.settings).redo(plan.item_id, plan.step)
        item = ws.store.item(plan.item_id)
        console.print(f"{painting}: REDO from step {plan.step.label} in batch {item.batch_id}")
        if run_now:
            finish(run_batch(ws, item.batch_id), False)
