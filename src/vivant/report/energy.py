"""Energy and cost of a night: an estimate from each resource's watts, or the GPU host's measured energy.

Estimate, per resource used in the night: ``watts × compute + idle_watts × (wall − compute)``, plus the host's
``host_watts × wall``. Each attempt's energy is placed over its own span and idle energy over the whole night,
so that the off-peak share (``off_peak_hours``, local time) follows when the work really ran.

Measured: an :class:`EnergyReader` returns cumulative joules per resource (NVML's total-energy counter through
``nvidia-ml-py``, or a Prometheus exporter's counter). :class:`Meter` reads it before and after a run; the
difference replaces that resource's estimate (spread evenly over the night for the off-peak share).
"""

from __future__ import annotations

import logging
import re
import urllib.request
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime, time, timedelta
from typing import Any, Protocol

from pydantic import BaseModel

from vivant.config import ReportSettings
from vivant.report.metrics import Figures

log = logging.getLogger(__name__)


class ResourceEnergy(BaseModel):
    resource: str
    kwh: float
    source: str
    """"estimated" or the reader's name ("nvml", "exporter")."""


class Cost(BaseModel):
    currency: str
    kwh: float
    off_peak_kwh: float
    price_per_kwh: float
    off_peak_price_per_kwh: float | None
    total: float
    per_video: float | None
    per_kept_video: float | None
    videos: int
    kept_videos: int
    measured: bool
    resources: list[ResourceEnergy]


# -- off-peak hours ------------------------------------------------------------------------------------------------


def _parse_range(text: str) -> tuple[time, time]:
    a, b = text.split("-")
    h0, m0 = (int(x) for x in a.split(":"))
    h1, m1 = (int(x) for x in b.split(":"))
    return time(h0 % 24, m0), time(h1 % 24, m1)


def off_peak_seconds(t0: float, t1: float, ranges: Sequence[str]) -> float:
    """Seconds of [t0, t1] (epoch seconds) inside the off-peak ranges, read in local time."""
    if t1 <= t0 or not ranges:
        return 0.0
    windows = [_parse_range(r) for r in ranges]
    day = datetime.fromtimestamp(t0).date() - timedelta(days=1)
    last = datetime.fromtimestamp(t1).date()
    total = 0.0
    while day <= last:
        for start, end in windows:
            ws = datetime.combine(day, start).timestamp()
            we = datetime.combine(day if end > start else day + timedelta(days=1), end).timestamp()
            total += max(0.0, min(t1, we) - max(t0, ws))
        day += timedelta(days=1)
    return min(total, t1 - t0)


# -- the estimate and the cost -------------------------------------------------------------------------------------


def cost_of(
    figures: Figures, settings: ReportSettings, measured: Mapping[str, tuple[float, str]] | None = None
) -> Cost:
    """The night's energy (kWh) and cost; ``measured`` maps resource → (joules, source) read from the host."""
    h = figures.headline
    measured = dict(measured or {})
    start, end, wall = h.started_at, h.ended_at, h.wall
    night_off = off_peak_seconds(start, end, settings.off_peak_hours) / wall if wall > 0 else 0.0

    # (energy in Wh, off-peak fraction) pieces per resource
    pieces: dict[str, list[tuple[float, float]]] = {}
    compute: dict[str, float] = {r.resource: r.compute for r in figures.resources}
    for lane in figures.lanes:
        watts = settings.watts.get(lane.resource, 0.0)
        for iv in lane.intervals:
            span = iv.end - iv.start
            frac = off_peak_seconds(start + iv.start, start + iv.end, settings.off_peak_hours) / span if span else 0.0
            pieces.setdefault(lane.resource, []).append((watts * iv.compute / 3600, frac))
    for res, busy in compute.items():
        idle = settings.idle_watts.get(res, 0.0) * max(0.0, wall - busy) / 3600
        pieces.setdefault(res, []).append((idle, night_off))
    if settings.host_watts:
        pieces["host"] = [(settings.host_watts * wall / 3600, night_off)]

    resources: list[ResourceEnergy] = []
    kwh = off_kwh = 0.0
    for res, parts in pieces.items():
        if res in measured:
            joules, source = measured[res]
            e = joules / 3.6e6
            off = e * night_off
        else:
            e = sum(wh for wh, _ in parts) / 1000
            off = sum(wh * f for wh, f in parts) / 1000
            source = "estimated"
        resources.append(ResourceEnergy(resource=res, kwh=e, source=source))
        kwh += e
        off_kwh += off
    for res, (joules, source) in measured.items():
        if res not in pieces:  # measured but not used by any attempt: still drew power all night
            resources.append(ResourceEnergy(resource=res, kwh=joules / 3.6e6, source=source))
            kwh += joules / 3.6e6
            off_kwh += joules / 3.6e6 * night_off
    off_price = settings.off_peak_price_per_kwh
    if off_price is None:
        total = kwh * settings.price_per_kwh
    else:
        total = (kwh - off_kwh) * settings.price_per_kwh + off_kwh * off_price
    videos, kept = h.videos, figures.kept_videos
    return Cost(
        currency=settings.currency, kwh=kwh, off_peak_kwh=off_kwh, price_per_kwh=settings.price_per_kwh,
        off_peak_price_per_kwh=off_price, total=total, per_video=total / videos if videos else None,
        per_kept_video=total / kept if kept else None, videos=videos, kept_videos=kept,
        measured=any(r.source != "estimated" for r in resources), resources=resources,
    )  # fmt: skip


# -- measured energy -------------------------------------------------------------------------------------------------


class EnergyReader(Protocol):
    name: str

    def read(self) -> dict[str, float]:
        """Cumulative energy in joules per resource (only differences between two reads mean anything)."""
        ...


class NvmlReader:
    """NVML's total-energy counter (``nvmlDeviceGetTotalEnergyConsumption``, millijoules) of configured GPUs."""

    name = "nvml"

    def __init__(self, devices: Mapping[str, Sequence[int]], nvml: Any = None) -> None:
        if nvml is None:
            import pynvml  # type: ignore[import-not-found, unused-ignore]

            nvml = pynvml
        self._nvml = nvml
        nvml.nvmlInit()
        self._handles = {
            res: [nvml.nvmlDeviceGetHandleByIndex(i) for i in indexes] for res, indexes in devices.items() if indexes
        }

    def read(self) -> dict[str, float]:
        get = self._nvml.nvmlDeviceGetTotalEnergyConsumption
        return {res: sum(float(get(h)) for h in handles) / 1000 for res, handles in self._handles.items()}


_SAMPLE = re.compile(r"^([A-Za-z_:][A-Za-z0-9_:]*)(\{[^}]*\})?\s+([-+0-9.eE]+|NaN)")


class ExporterReader:
    """A Prometheus text exporter's energy counter in millijoules, every series added into one resource."""

    name = "exporter"

    def __init__(self, url: str, metric: str, resource: str, *,
                 fetch: Callable[[str], str] | None = None, timeout: float = 5.0) -> None:  # fmt: skip
        self.url, self.metric, self.resource, self.timeout = url, metric, resource, timeout
        self._fetch = fetch or self._get

    def _get(self, url: str) -> str:
        with urllib.request.urlopen(url, timeout=self.timeout) as r:  # the configured exporter
            return bytes(r.read()).decode("utf-8", "replace")

    def read(self) -> dict[str, float]:
        total = 0.0
        for line in self._fetch(self.url).splitlines():
            m = _SAMPLE.match(line)
            if m and m.group(1) == self.metric and m.group(3) != "NaN":
                total += float(m.group(3))
        return {self.resource: total / 1000}


def default_reader(settings: ReportSettings) -> EnergyReader | None:
    """The exporter when one is configured, else NVML when ``nvidia-ml-py`` can read a GPU here, else None."""
    try:
        if settings.exporter_url:
            reader: EnergyReader = ExporterReader(
                settings.exporter_url, settings.exporter_metric, settings.exporter_resource
            )
            reader.read()
            return reader
        if settings.nvml_devices:
            reader = NvmlReader(settings.nvml_devices)
            reader.read()
            return reader
    except Exception as e:  # no driver, no GPU, no counter, exporter down: fall back to the estimate
        log.info("energy cannot be measured (%s): the report estimates it", e)
    return None


class Meter:
    """Reads a reader before and after a run: ``stop()`` gives resource → (joules, source) used in between."""

    def __init__(self, reader: EnergyReader | None) -> None:
        self.reader = reader
        self._first: dict[str, float] = {}
        if reader is not None:
            try:
                self._first = reader.read()
            except Exception as e:
                log.info("energy reading failed (%s)", e)
                self.reader = None

    def stop(self) -> dict[str, tuple[float, str]]:
        if self.reader is None:
            return {}
        try:
            last = self.reader.read()
        except Exception as e:
            log.info("energy reading failed (%s)", e)
            return {}
        return {res: (max(0.0, last[res] - self._first[res]), self.reader.name) for res in last if res in self._first}
