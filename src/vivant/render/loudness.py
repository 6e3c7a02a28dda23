"""Loudness measured by ffmpeg's ``ebur128`` in a quick audio-only pass (the video is not decoded).

:func:`meters` and :func:`parse` are pure (the filters to add, the summaries read back from stderr);
:func:`measure` runs the pass.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from vivant.backends import ffmpeg
from vivant.errors import FFmpegError
from vivant.render.syntax import Graph


@dataclass(frozen=True)
class Loudness:
    """ebur128's summary: integrated loudness and its gate (LUFS), loudness range (LU), true peak (dBFS)."""

    integrated: float | None
    threshold: float
    lra: float
    true_peak: float


_SUMMARY = re.compile(r"\[Parsed_ebur128_(\d+) @ [^\]]*\] Summary:(.*?)(?=\[Parsed_ebur128_|\Z)", re.S)


def _value(name: str, text: str, default: float) -> float:
    found = re.search(rf"{name}:\s+(-?(?:\d+(?:\.\d+)?|inf))", text)
    if not found:
        return default
    x = float(found.group(1))
    return x if math.isfinite(x) else default


def meters(labels: Sequence[str]) -> tuple[list[str], list[str]]:
    """The ebur128 filters measuring each of ``labels`` (true peak when there is one), and their null outputs."""
    peak = ":peak=true" if len(labels) == 1 else ""
    filters = [f"[{label}]ebur128=framelog=quiet{peak}[meter{k}]" for k, label in enumerate(labels)]
    outputs: list[str] = []
    for k in range(len(labels)):
        outputs += ["-map", f"[meter{k}]", "-f", "null", "-"]
    return filters, outputs


def parse(stderr: str, labels: Sequence[str]) -> list[Loudness]:
    """The summaries ffmpeg printed, one per label, in ``labels``' order (``FFmpegError`` if any is missing)."""
    # Filters are numbered in the order of the graph text, so the meters' summaries sort into ``labels``' order.
    found = sorted((int(m.group(1)), m.group(2)) for m in _SUMMARY.finditer(stderr))
    if len(found) != len(labels):
        raise FFmpegError(f"loudness measurement of {', '.join(labels)} printed no result", stderr_tail=stderr)
    results = []
    for _, text in found:
        integrated = _value("I", text, -70.0)
        results.append(
            Loudness(
                integrated=integrated if integrated > -69.0 else None,
                threshold=_value("Threshold", text, -70.0),
                lra=_value("LRA", text, 0.0),
                true_peak=_value("Peak", text, -99.0),
            )
        )
    return results


def measurement(inputs: Sequence[str], chains: Sequence[str], labels: Sequence[str]) -> Graph:
    """The audio-only pass measuring ``labels`` (made by ``chains`` from ``inputs``)."""
    filters, outputs = meters(labels)
    return Graph([*inputs, "-nostats"], [*chains, *filters], outputs)


def measure(graph: Graph, labels: Sequence[str], workdir: Path) -> list[Loudness]:
    """Run :func:`measurement`'s pass; the loudness of each of ``labels``."""
    err = ffmpeg.run(graph.write(workdir / f"measure-{'-'.join(labels)}.graph"))
    return parse(err, labels)
