"""Inline SVG charts for the HTML report, drawn by hand: no script, no library, no network.

Every function returns one ``<svg>`` element as text; labels are escaped here. Bars and timeline blocks carry
a ``<title>`` so the browser shows the exact figure on hover.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from html import escape

from vivant.report.fmt import minutes
from vivant.report.metrics import Lane

STEP_COLOURS = (
    "#8c6d31", "#6b6ecf", "#e6550d", "#31a354", "#74c476", "#9e9ac8", "#d62728", "#17becf", "#bcbd22", "#7f7f7f",
)  # fmt: skip
WIDTH = 960
LABEL = 230
VALUE = 110
ROW = 24


def step_colour(n: int) -> str:
    return STEP_COLOURS[n % len(STEP_COLOURS)]


@dataclass(frozen=True)
class Segment:
    key: str
    value: float
    colour: str


@dataclass(frozen=True)
class Bar:
    label: str
    segments: Sequence[Segment]
    note: str = ""
    marker: float | None = None
    """A value drawn as a thin line across the bar (e.g. the previous night's)."""


def _legend(items: Sequence[tuple[str, str]], y: int) -> tuple[str, int]:
    """The legend's SVG and the y below it."""
    out, x = [], LABEL
    for text, colour in items:
        if x + 14 + 7 * len(text) > WIDTH:
            x, y = LABEL, y + 18
        out.append(f'<rect x="{x}" y="{y}" width="12" height="12" fill="{colour}"/>')
        out.append(f'<text x="{x + 16}" y="{y + 10}" class="legend">{escape(text)}</text>')
        x += 30 + 7 * len(text)
    return "".join(out), (y + 22 if items else y)


def _short(label: str, limit: int = 32) -> str:
    return label if len(label) <= limit else label[: limit - 1] + "…"


def bars(
    rows: Sequence[Bar],
    *,
    legend: Sequence[tuple[str, str]] = (),
    value: Callable[[float], str] = minutes,
    css_class: str = "chart",
) -> str:
    """Horizontal (stacked) bars, one row each, scaled to the largest total."""
    legend_svg, top = _legend(legend, 6)
    top += 2
    height = top + ROW * len(rows) + 8
    scale = max([sum(s.value for s in r.segments) for r in rows] + [r.marker or 0 for r in rows] + [1e-9])
    span = WIDTH - LABEL - VALUE
    out = [f'<svg class="{css_class}" viewBox="0 0 {WIDTH} {height}" width="100%" role="img">']
    out.append(legend_svg)
    for i, r in enumerate(rows):
        y = top + i * ROW
        out.append(
            f'<text x="{LABEL - 8}" y="{y + 15}" class="label" text-anchor="end">{escape(_short(r.label))}'
            f"<title>{escape(r.label)}</title></text>"
        )
        x = float(LABEL)
        total = 0.0
        for s in r.segments:
            w = span * s.value / scale
            if w > 0:
                out.append(
                    f'<rect class="bar" x="{x:.2f}" y="{y + 3}" width="{max(w, 0.6):.2f}" height="{ROW - 6}" '
                    f'fill="{s.colour}"><title>{escape(r.label)} · {escape(s.key)}: {value(s.value)}</title></rect>'
                )
            x += w
            total += s.value
        if r.marker is not None:
            mx = LABEL + span * r.marker / scale
            out.append(
                f'<line class="marker" x1="{mx:.2f}" x2="{mx:.2f}" y1="{y + 1}" y2="{y + ROW - 1}">'
                f"<title>previous night: {value(r.marker)}</title></line>"
            )
        out.append(f'<text x="{x + 6:.2f}" y="{y + 15}" class="value">{escape(value(total))}{escape(r.note)}</text>')
    out.append("</svg>")
    return "".join(out)


def _ticks(wall: float) -> float:
    for step in (60, 300, 600, 900, 1800, 3600, 7200):
        if wall / step <= 10:
            return step
    return 14400


def timeline(lanes: Sequence[Lane], *, start: float, wall: float, step_names: dict[int, str]) -> str:
    """One lane per (resource, endpoint): what ran when; the grey background is idle time."""
    used = sorted({iv.step for lane in lanes for iv in lane.intervals})
    legend_svg, top = _legend([(f"{n} {step_names.get(n, '')}", step_colour(n)) for n in used], 4)
    top += 8
    height = top + ROW * 1.5 * len(lanes) + 34
    span = WIDTH - LABEL - 20
    wall = max(wall, 1e-9)
    out = [f'<svg class="chart timeline" viewBox="0 0 {WIDTH} {height:.0f}" width="100%" role="img">']
    out.append(legend_svg)
    tick = _ticks(wall)
    first = -(start % tick) + (tick if start % tick else 0)
    t = first
    axis_y = top + ROW * 1.5 * len(lanes) + 6
    while t <= wall + 1e-6:
        x = LABEL + span * t / wall
        label = datetime.fromtimestamp(start + t).strftime("%H:%M")
        out.append(f'<line class="grid" x1="{x:.2f}" x2="{x:.2f}" y1="{top - 4}" y2="{axis_y}"/>')
        out.append(f'<text x="{x:.2f}" y="{axis_y + 14}" class="tick" text-anchor="middle">{label}</text>')
        t += tick
    for i, lane in enumerate(lanes):
        y = top + i * ROW * 1.5
        name = f"{lane.resource} · {lane.endpoint}"
        busy = f"busy {lane.busy / wall * 100:.0f}%"
        out.append(f'<text x="{LABEL - 8}" y="{y + 12}" class="label" text-anchor="end">{escape(_short(name))}</text>')
        out.append(f'<text x="{LABEL - 8}" y="{y + 25}" class="sub" text-anchor="end">{busy}</text>')
        out.append(
            f'<rect class="idle" x="{LABEL}" y="{y + 2}" width="{span}" height="{ROW}"><title>{escape(name)}: idle '
            f"{minutes(lane.idle)} of the night, longest gap {minutes(lane.longest_gap)}</title></rect>"
        )
        for iv in lane.intervals:
            x = LABEL + span * iv.start / wall
            w = max(span * (iv.end - iv.start) / wall, 0.8)
            failed = iv.status not in ("SUCCEEDED", "REFUSED")
            lang = f" · {iv.language}" if iv.language else ""
            out.append(
                f'<rect class="run{" failed" if failed else ""}" x="{x:.2f}" y="{y + 3}" width="{w:.2f}" '
                f'height="{ROW - 2}" fill="{step_colour(iv.step)}"><title>step {iv.step} '
                f"{escape(step_names.get(iv.step, ''))} · {escape(iv.painting)}{escape(lang)} · {iv.status} · "
                f"{minutes(iv.end - iv.start)} (compute {minutes(iv.compute)}, queue {minutes(iv.queue)})"
                f"</title></rect>"
            )
    out.append("</svg>")
    return "".join(out)
