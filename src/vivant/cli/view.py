"""How the commands show a run: progress bars from the engine's events, and a batch as a table."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn
from rich.table import Table

from vivant.cli.common import console, err_console
from vivant.events import Event, EventBus
from vivant.redact import redact

if TYPE_CHECKING:
    from vivant.backends.registry import Roles
    from vivant.workspace import Workspace


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


def print_batch(desc: dict[str, Any]) -> None:
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


def finish(desc: dict[str, Any], as_json: bool) -> None:
    """A batch's description: JSON, or the table."""
    if as_json:
        console.print_json(json.dumps(desc))
    else:
        print_batch(desc)


def run_batch(ws: Workspace, batch_id: int, *, quiet: bool = False, roles: Roles | None = None) -> dict[str, Any]:
    """Run a batch with the progress bars (none when ``quiet``), say where the report is; its description."""
    from vivant.night import run_batch as run

    ran = run(ws, batch_id, roles=roles, watch=ProgressView(console, quiet=quiet).attached)
    if ran.report is not None:
        (err_console if quiet else console).print(f"report: {ran.report}", markup=False)
    return ran.description
