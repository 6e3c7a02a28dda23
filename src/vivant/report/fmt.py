"""Number formats shared by the terminal and HTML reports (the seed write-up's style: 4h 55m, 21.6m, 89.4%)."""

from __future__ import annotations

from datetime import datetime


def hm(seconds: float) -> str:
    """A long duration: ``4h 55m``, ``31m``, ``42s``."""
    if seconds >= 3600:
        minutes = round(seconds / 60)
        return f"{minutes // 60}h {minutes % 60:02d}m"
    if seconds >= 60:
        return f"{round(seconds / 60)}m"
    return f"{seconds:.0f}s" if seconds >= 10 else f"{seconds:.1f}s"


def minutes(seconds: float) -> str:
    """A step-table duration: ``21.6m``, ``0.9m`` (or seconds when under half a minute)."""
    if seconds >= 30:
        return f"{seconds / 60:.1f}m"
    return f"{seconds:.1f}s"


def pct(value: float | None) -> str:
    return "n/a" if value is None else f"{value * 100:.1f}%"


def money(value: float | None, currency: str, digits: int = 4) -> str:
    if value is None:
        return "n/a"
    return f"{currency}{value:.{digits}f}"


def clock(epoch: float) -> str:
    return datetime.fromtimestamp(epoch).strftime("%Y-%m-%d %H:%M")


def hhmm(epoch: float) -> str:
    return datetime.fromtimestamp(epoch).strftime("%H:%M")


def delta(now: float, before: float | None, fmt: str = "duration") -> str:
    """The change from the previous night, e.g. ``+12m`` or ``-3.0 pts``."""
    if before is None:
        return ""
    d = now - before
    if fmt == "pct":
        return f"{d * 100:+.1f} pts"
    sign = "+" if d >= 0 else "-"
    return sign + hm(abs(d))
