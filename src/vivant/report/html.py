"""The report as one self-contained HTML page: a Jinja2 template, inline CSS, inline SVG charts, no script.

The page opens offline: nothing in it refers to a network address.
"""

from __future__ import annotations

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape
from markupsafe import Markup

from vivant import __version__
from vivant.config import Settings
from vivant.report import Report
from vivant.report import fmt as f
from vivant.report.charts import Bar, Segment, bars, step_colour, timeline

TEMPLATE = "report.html.j2"
COMPUTE, QUEUE, OTHER = "#2f6db5", "#e3a21a", "#c9ced6"
OUTAGE = "#c0392b"


def _environment() -> Environment:
    env = Environment(
        loader=PackageLoader("vivant", "templates"),
        autoescape=select_autoescape(["html", "j2"]),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(hm=f.hm, minutes=f.minutes, pct=f.pct, clock=f.clock, hhmm=f.hhmm)
    return env


def charts(report: Report) -> dict[str, Markup]:
    fig = report.figures
    names = {s.number: s.name for s in fig.steps}
    prev = report.previous.step_walls if report.previous else {}
    step_bars = [
        Bar(
            f"{s.number} {s.name}", [Segment("wall clock", s.wall, step_colour(s.number))],
            note=f"  {s.wall / fig.headline.wall * 100:.1f}%" if fig.headline.wall else "",
            marker=prev.get(s.number),
        )
        for s in fig.steps
    ]  # fmt: skip
    split = [
        Bar(
            f"{s.number} {s.name}" + (" (CPU)" if s.cpu_substitute else ""),
            [Segment("compute", s.compute, COMPUTE), Segment("queue wait", s.queue, QUEUE),
             Segment("outage", s.outage, OUTAGE), Segment("other", s.other, OTHER)],
            note=f"  {f.pct(s.busy)} busy",
        )
        for s in fig.steps
    ]  # fmt: skip
    shown = [p for p in fig.paintings if p.wall > 0]
    shown.sort(key=lambda p: p.wall)
    per_painting = [
        Bar(p.key, [Segment(f"{n} {names.get(n, '')}", v, step_colour(n)) for n, v in sorted(p.per_step.items())])
        for p in shown
    ]
    legend = [(f"{s.number} {s.name}", step_colour(s.number)) for s in fig.steps]
    return {
        "steps": Markup(bars(step_bars)),
        "split": Markup(
            bars(split, legend=[("compute", COMPUTE), ("queue wait", QUEUE), ("outage", OUTAGE), ("other", OTHER)])
        ),
        "paintings": Markup(bars(per_painting, legend=legend)),
        "timeline": Markup(
            timeline(fig.lanes, start=fig.headline.started_at, wall=fig.headline.wall, step_names=names)
        ),
    }


def render_html(report: Report, settings: Settings) -> str:
    currency = report.cost.currency

    def money(value: float | None, digits: int = 4) -> str:
        return f.money(value, currency, digits)

    env = _environment()
    env.filters["money"] = money
    env.filters["delta"] = f.delta
    return env.get_template(TEMPLATE).render(
        r=report, fig=report.figures, h=report.figures.headline, cost=report.cost, prev=report.previous,
        charts=charts(report), version=__version__, settings=settings.report,
    )  # fmt: skip
