"""The report as rich renderables for the terminal; the CLI prints them (nothing here prints)."""

from __future__ import annotations

from rich.console import Group, RenderableType
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from vivant.report import Report
from vivant.report import fmt as f
from vivant.report.metrics import Incident


def _headline(report: Report) -> Table:
    h, prev, cost = report.figures.headline, report.previous, report.cost
    cur = report.cost.currency
    t = Table(title=f"batch {h.batch}" + (f" · {escape(h.note)}" if h.note else "") + f" · {f.clock(h.started_at)}"
              f" → {f.hhmm(h.ended_at)}", title_justify="left", min_width=72)  # fmt: skip
    t.add_column("")
    t.add_column(f"batch {h.batch}", justify="right")
    if prev:
        t.add_column(f"previous (batch {prev.headline.batch})", justify="right", style="dim")
    p = prev.headline if prev else None
    rows: list[tuple[str, str, str]] = [("wall clock", f.hm(h.wall), f.hm(p.wall) if p else "")]
    if h.cpu_only:
        rows += [
            ("CPU compute (no GPU)", f.hm(h.compute_total), f.hm(p.compute_total) if p else ""),
            ("GPU efficiency", "n/a", f.pct(p.gpu_efficiency) if p else ""),
        ]
    else:
        rows += [
            (f"GPU compute ({h.gpu_resource})", f.hm(h.gpu_compute), f.hm(p.gpu_compute) if p else ""),
            ("GPU efficiency", f.pct(h.gpu_efficiency), f.pct(p.gpu_efficiency) if p else ""),
            ("GPU waiting", f.hm(h.gpu_waiting), f.hm(p.gpu_waiting) if p else ""),
        ]
    rows += [
        ("queue wait (recorded)", f.hm(h.queue_wait), f.hm(p.queue_wait) if p else ""),
        ("videos", str(h.videos), str(p.videos) if p else ""),
        ("energy", f"{cost.kwh:.2f} kWh" + (" measured" if cost.measured else ""),
         f"{prev.cost.kwh:.2f} kWh" if prev else ""),
        ("cost per video", f.money(cost.per_video, cur), f.money(prev.cost.per_video, cur) if prev else ""),
        ("cost per kept video", f.money(cost.per_kept_video, cur),
         f.money(prev.cost.per_kept_video, cur) if prev else ""),
    ]  # fmt: skip
    for name, now, before in rows:
        t.add_row(name, f"[bold]{now}[/]", *([before] if prev else []))
    return t


def _steps(report: Report) -> Table:
    fig = report.figures
    t = Table(title="per step", title_justify="left")
    for col in ("step", "resource", "wall", "compute", "queue", "busy", "flags"):
        t.add_column(col, justify="left" if col in ("step", "resource", "flags") else "right")
    for s in fig.steps:
        flags = []
        if s.cpu_substitute:
            flags.append("[red]CPU substitute[/]")
        if s.degraded:
            flags.append("[yellow]degraded[/]")
        if s.failed_attempts:
            flags.append(f"[red]{s.failed_attempts} failed[/]")
        t.add_row(
            f"{s.number} {s.name}", ", ".join(s.resources_used), f.minutes(s.wall), f.minutes(s.compute),
            f.minutes(s.queue), f.pct(s.busy), " ".join(flags),
        )  # fmt: skip
    return t


def _bottlenecks(report: Report) -> Table:
    t = Table(title="top bottlenecks", title_justify="left")
    for col in ("#", "step", "compute", "share", "avg / painting"):
        t.add_column(col, justify="left" if col == "step" else "right")
    for b in report.figures.bottlenecks:
        t.add_row(str(b.rank), f"{b.step} {b.name}", f.hm(b.compute), f.pct(b.share), f.minutes(b.avg_per_painting))
    return t


def _paintings(report: Report) -> Table:
    t = Table(title="per painting", title_justify="left")
    for col in ("painting", "state", "wall", "compute", "GPU %", "longest step"):
        t.add_column(col, justify="right" if col in ("wall", "compute", "GPU %") else "left", overflow="fold")
    colours = {"ABORTED": "yellow", "FAILED": "red"}
    for p in report.figures.paintings:
        state = f"[{colours.get(p.state, 'green')}]{p.state}[/]"
        if p.state in colours and p.reason:
            state += f"\n[dim]{escape(p.reason)}[/]"
        longest = f"{p.longest_step} {f.minutes(p.longest_seconds)}" if p.longest_step else ""
        t.add_row(escape(p.key), state, f.minutes(p.wall), f.minutes(p.compute), f.pct(p.busy), longest)
    return t


def _outcomes(report: Report) -> Text:
    fig = report.figures
    c, r = fig.counts, fig.rejections
    lines = [f"{c.completed} completed · {c.aborted} aborted · {c.failed} failed" +
             (f" · {c.unfinished} unfinished" if c.unfinished else "")]  # fmt: skip
    for label, reasons in (("aborted", c.abort_reasons), ("failed", c.failure_reasons)):
        if reasons:
            lines.append(f"  {label}: " + "; ".join(f"{k} ×{n}" for k, n in reasons.items()))
    manual = "not reviewed yet" if r.manual is None else f"{f.pct(r.manual)} ({r.manual_count} of {r.reviewed})"
    lines.append(f"rejections: automatic (step 0) {f.pct(r.automatic)} ({r.automatic_count} of {c.drawn}),"
                 f" manual (review) {manual}")  # fmt: skip
    if r.qa_count:
        causes = ", ".join(f"{k} ×{n}" for k, n in sorted(r.qa_causes.items(), key=lambda kv: -kv[1]))
        lines.append(f"  automatic QA (step 10) held back {r.qa_count} video(s): {causes}")
    return Text("\n".join(lines))


def incident_line(i: Incident) -> str:
    """One incident (a job sent again, a server down or back) as a line."""
    where = (f" step {i.step}" if i.step is not None else "") + (f" {i.painting}" if i.painting else "")
    where += f" [{i.language}]" if i.language else ""
    if i.kind == "unit_resubmitted":
        return (f"sent again:{where}: prompt {i.old_remote_id} → {i.remote_id} on {i.endpoint}"
                f" ({i.detail}; {i.lost_seconds:.1f} s lost)")  # fmt: skip
    state = "down" if i.kind == "endpoint_down" else "back up"
    return f"server {i.endpoint} {state}{(' (seen by' + where + ')') if where else ''}" + (
        f": {i.detail}" if i.detail else ""
    )


def render(report: Report, path: str | None = None) -> RenderableType:
    """Everything the terminal shows; ``path`` is the HTML report's, when one was written."""
    parts: list[RenderableType] = [_headline(report)]
    for note in report.figures.notes:
        parts.append(Text(note, style="yellow"))
    for i in report.figures.incidents:
        parts.append(Text(f"  +{i.at:.0f} s {incident_line(i)}", style="yellow"))
    parts += [_steps(report), _bottlenecks(report), _paintings(report), _outcomes(report)]
    if path:
        parts.append(Text(f"report: {path}", style="bold"))
    return Group(*parts)
