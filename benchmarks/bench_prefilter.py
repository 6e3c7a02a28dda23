"""Benchmark of step 0's pre-filter on labelled paintings: does it accept the portraits, and only them?

    PYTHONPATH=src .venv/bin/python benchmarks/bench_prefilter.py [--data ../shared/data] [--config vivant.toml]
        [--only FILE ...] [--limit N] [--quiet] [--save verdicts.json] [--cache DIR]

Runs the inspector (the embedded CPU one by default; with ``--config``, the one that file configures, e.g. the
vision model through the OpenAI-compatible client) on every image of ``<data>/eval/`` (109 paintings labelled by
looking at each, ``labels.csv``) and ``<data>/paintings/`` (the 18 samples, ``catalog.csv``'s ``kind``; the
sitter's gender of each sample is this project's label, ``benchmarks/data/sample_genders.csv``). Each painting is
inspected with its catalog title and artist but *without* a gender column, so the gender decision is measured,
not copied.

Prints: the confusion table per kind (accepted / refused), the agreement (a painting should be accepted when its
kind is ``portrait`` and its face is visible: ``face_visible`` is not ``no``, as ``SOURCES.md`` says; the figure
by kind alone is printed too), the group and child paintings accepted, the refusal reasons (failed checks) per
kind, the sitter's gender agreement on the portraits, and the time per image (mean, median, max).

With ``--cache DIR`` (the embedded inspector only) each image's raw measures (:mod:`vivant.backends.local.measures`)
are written to ``DIR/<file>.json`` the first time and read back afterwards, so a second run re-decides all 127
paintings in seconds: the decision is a pure function of the measures and ``[checks]``. The time per image is
then the models' time recorded when the measures were made; ``--export FILE`` writes the measures of the
selected paintings as one JSON file (the tests' recorded measures). ``tune_prefilter.py`` fits the thresholds on
the cache and cross-validates them.
"""

from __future__ import annotations

import argparse
import csv
import json
import logging
import os
import statistics
import sys
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from vivant.config import ChecksSettings
from vivant.errors import InputError
from vivant.roles import Inspector, Painting, Verdict

if TYPE_CHECKING:
    from vivant.backends.local.measures import Measures

ROOT = Path(__file__).resolve().parents[1]
SAMPLE_GENDERS = ROOT / "benchmarks" / "data" / "sample_genders.csv"
CACHED_BACKEND = "local:nudenet+opencv (measures read from or written to --cache)"
KINDS = ("portrait", "multi", "child", "nude", "landscape", "blurry", "tiny")


@dataclass(frozen=True)
class Case:
    """One labelled painting."""

    file: str
    path: Path
    title: str
    artist: str
    kind: str
    gender: str
    """female | male | unclear | none (the label; '' when unknown)."""
    face_visible: str = "yes"
    set: str = "eval"

    @property
    def should_accept(self) -> bool:
        return self.kind == "portrait" and self.face_visible != "no"

    def painting(self) -> Painting:
        return Painting(id=1, key=Path(self.file).stem, title=self.title, artist=self.artist, image_path=self.path)


@dataclass
class Outcome:
    case: Case
    verdict: Verdict | None
    seconds: float
    error: str = ""

    @property
    def accepted(self) -> bool:
        return self.verdict is not None and self.verdict.accepted

    @property
    def failed(self) -> list[str]:
        """Names of the checks that failed (the refusal reasons by kind), or ``input`` for an unreadable file."""
        if self.verdict is None:
            return ["input"]
        return [c.name for c in self.verdict.checks if not c.passed]

    @property
    def gender(self) -> str:
        return self.verdict.sitter.gender if self.verdict is not None else ""


def load_cases(data: Path) -> list[Case]:
    """The eval set's and the samples' labelled paintings (whichever of the two folders exist)."""
    cases: list[Case] = []
    labels = data / "eval" / "labels.csv"
    if labels.is_file():
        with labels.open(encoding="utf-8", newline="") as f:
            for r in csv.DictReader(f):
                cases.append(
                    Case(
                        file=r["file"], path=data / "eval" / "images" / r["file"], title=r["title"],
                        artist=r["artist"], kind=r["kind"], gender=r["main_gender"],
                        face_visible=r["face_visible"], set="eval",
                    )
                )  # fmt: skip
    catalog = data / "paintings" / "catalog.csv"
    if catalog.is_file():
        with SAMPLE_GENDERS.open(encoding="utf-8", newline="") as f:
            genders = {r["file"]: r["main_gender"] for r in csv.DictReader(f)}
        with catalog.open(encoding="utf-8", newline="") as f:
            for r in csv.DictReader(f):
                cases.append(
                    Case(
                        file=r["file"], path=data / "paintings" / r["file"], title=r["title"], artist=r["artist"],
                        kind=r["kind"], gender=genders.get(r["file"], ""), set="samples",
                    )
                )  # fmt: skip
    return cases


def cached_measures(cases: list[Case], cache: Path, inspector: Any = None) -> dict[str, Measures | str]:
    """Each case's raw measures (or its input error's text), from ``cache`` or made by the embedded models."""
    from vivant.backends.local.measures import Measures

    cache.mkdir(parents=True, exist_ok=True)
    out: dict[str, Measures | str] = {}
    for case in cases:
        path = cache / f"{case.file}.json"
        if path.is_file():
            data = json.loads(path.read_text(encoding="utf-8"))
            if "error" in data:
                out[case.file] = str(data["error"])
                continue
            try:
                out[case.file] = Measures.from_json(data)
                continue
            except (ValueError, KeyError):
                pass  # an older cache: measure again
        if inspector is None:
            from vivant.backends.local.vision import LocalInspector

            inspector = LocalInspector()
        try:
            m = inspector.measure_file(case.path)
        except InputError as e:
            out[case.file] = str(e)
            _write(path, {"error": str(e)})
        else:
            out[case.file] = m
            _write(path, m.to_json())
    return out


def _write(path: Path, data: dict[str, Any]) -> None:
    """Whole or not at all (another run may be filling the same cache)."""
    tmp = path.with_suffix(f".{os.getpid()}.tmp")
    tmp.write_text(json.dumps(data), encoding="utf-8")
    tmp.replace(path)


def redecide(cases: list[Case], measures: dict[str, Measures | str], checks: ChecksSettings) -> list[Outcome]:
    """The verdicts from cached measures (pure: no model runs); the time is the models' recorded time."""
    from vivant.backends.local.decide import decide

    out: list[Outcome] = []
    for case in cases:
        m = measures[case.file]
        if isinstance(m, str):
            out.append(Outcome(case, None, 0.0, m))
        else:
            out.append(Outcome(case, decide(m, case.painting(), checks, backend=CACHED_BACKEND), m.seconds))
    return out


def run(inspector: Inspector, cases: list[Case], checks: ChecksSettings) -> list[Outcome]:
    """Inspect every case, timing each; an unreadable image is an outcome (refused), not a crash."""
    out: list[Outcome] = []
    for case in cases:
        start = time.perf_counter()
        try:
            verdict: Verdict | None = inspector.inspect(case.path, case.painting(), checks)
            error = ""
        except InputError as e:
            verdict, error = None, str(e)
        out.append(Outcome(case, verdict, time.perf_counter() - start, error))
    return out


@dataclass
class Summary:
    n: int
    agree: int
    agree_by_kind_only: int
    confusion: dict[str, Counter[str]]
    """kind -> {"accepted": n, "refused": n}."""
    reasons: dict[str, Counter[str]]
    """kind -> failed check -> n (refused paintings only)."""
    group_or_child_accepted: list[str]
    disagreements: list[Outcome]
    gender_n: int
    gender_agree: int
    gender_sources: Counter[str]
    gender_errors: list[Outcome]
    seconds: list[float] = field(default_factory=list)

    @property
    def agreement(self) -> float:
        return self.agree / self.n if self.n else 0.0

    @property
    def gender_agreement(self) -> float:
        return self.gender_agree / self.gender_n if self.gender_n else 0.0


def summarise(outcomes: list[Outcome]) -> Summary:
    confusion: dict[str, Counter[str]] = defaultdict(Counter)
    reasons: dict[str, Counter[str]] = defaultdict(Counter)
    agree = by_kind = 0
    disagreements: list[Outcome] = []
    gender_n = gender_agree = 0
    gender_sources: Counter[str] = Counter()
    gender_errors: list[Outcome] = []
    for o in outcomes:
        kind = o.case.kind
        confusion[kind]["accepted" if o.accepted else "refused"] += 1
        if not o.accepted:
            reasons[kind].update(o.failed)
        if o.accepted == o.case.should_accept:
            agree += 1
        else:
            disagreements.append(o)
        by_kind += o.accepted == (kind == "portrait")
        if kind == "portrait" and o.case.gender in ("female", "male"):
            gender_n += 1
            if o.verdict is not None:
                gender_sources[o.verdict.sitter.source] += 1
            if o.gender == o.case.gender:
                gender_agree += 1
            else:
                gender_errors.append(o)
    return Summary(
        n=len(outcomes),
        agree=agree,
        agree_by_kind_only=by_kind,
        confusion=dict(confusion),
        reasons=dict(reasons),
        group_or_child_accepted=[o.case.file for o in outcomes if o.accepted and o.case.kind in ("multi", "child")],
        disagreements=disagreements,
        gender_n=gender_n,
        gender_agree=gender_agree,
        gender_sources=gender_sources,
        gender_errors=gender_errors,
        seconds=[o.seconds for o in outcomes],
    )


def report(s: Summary, *, backend: str, show_errors: bool = True) -> str:
    lines = [f"pre-filter benchmark: {s.n} paintings, backend {backend}", ""]
    lines.append(f"{'kind':<10} {'accepted':>8} {'refused':>8}   refusal reasons (failed checks)")
    for kind in [*KINDS, *sorted(set(s.confusion) - set(KINDS))]:
        c = s.confusion.get(kind)
        if c is None:
            continue
        why = ", ".join(f"{name} {n}" for name, n in s.reasons.get(kind, Counter()).most_common())
        lines.append(f"{kind:<10} {c['accepted']:>8} {c['refused']:>8}   {why}")
    lines.append("")
    lines.append(
        f"agreement: {s.agree}/{s.n} = {s.agreement:.1%} (accept a portrait whose face is visible, refuse the rest)"
    )
    lines.append(
        f"agreement by kind alone: {s.agree_by_kind_only}/{s.n} = {s.agree_by_kind_only / max(1, s.n):.1%}"
        " (accept every `portrait`)"
    )
    lines.append(
        f"group or child paintings accepted: {len(s.group_or_child_accepted)}"
        + (f" ({', '.join(s.group_or_child_accepted)})" if s.group_or_child_accepted else "")
    )
    sources = ", ".join(f"{k} {n}" for k, n in s.gender_sources.most_common())
    lines.append(
        f"sitter's gender on portraits: {s.gender_agree}/{s.gender_n} = {s.gender_agreement:.1%} (sources: {sources})"
    )
    if s.seconds:
        lines.append(
            f"time per image: mean {statistics.fmean(s.seconds):.2f} s, median {statistics.median(s.seconds):.2f} s,"
            f" max {max(s.seconds):.2f} s ({sum(s.seconds):.0f} s in all)"
        )
    if show_errors:
        if s.disagreements:
            lines += ["", "disagreements:"]
            for o in s.disagreements:
                what = (
                    "accepted" if o.accepted else "refused: " + "; ".join(o.verdict.reasons if o.verdict else [o.error])
                )
                lines.append(f"  {o.case.file} [{o.case.kind}, face {o.case.face_visible}] {what}")
        if s.gender_errors:
            lines += ["", "gender errors:"]
            for o in s.gender_errors:
                sitter = o.verdict.sitter if o.verdict else None
                got = f"{sitter.gender} ({sitter.source} {sitter.confidence:.2f} {sitter.note})" if sitter else o.error
                lines.append(f"  {o.case.file}: label {o.case.gender}, got {got}")
    return "\n".join(lines)


def _inspector(config: Path | None) -> tuple[Inspector, ChecksSettings]:
    if config is None:
        from vivant.backends.local.vision import LocalInspector

        return LocalInspector(), ChecksSettings()
    from vivant.backends.registry import Roles
    from vivant.config import load

    settings = load(config)
    return Roles(settings).inspector, settings.checks


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data")
    parser.add_argument("--config", type=Path, default=None, help="vivant.toml whose inspector to measure")
    parser.add_argument("--only", nargs="*", default=None, help="only these files")
    parser.add_argument("--limit", type=int, default=0, help="only the first N paintings")
    parser.add_argument("--quiet", action="store_true", help="no list of disagreements")
    parser.add_argument("--save", type=Path, default=None, help="write every verdict (with its checks) as JSON")
    parser.add_argument("--cache", type=Path, default=None, help="folder of raw measures (embedded inspector only)")
    parser.add_argument(
        "--export", type=Path, default=None, help="with --cache: the measures of these paintings, one file"
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    cases = load_cases(args.data)
    if not cases:
        print(f"no labelled paintings under {args.data}", file=sys.stderr)
        return 2
    if args.only:
        cases = [c for c in cases if c.file in set(args.only)]
    if args.limit:
        cases = cases[: args.limit]
    if args.cache is not None:
        if args.config is not None:
            print("--cache measures the embedded inspector only; leave --config out", file=sys.stderr)
            return 2
        checks = ChecksSettings()
        measures = cached_measures(cases, args.cache)
        outcomes = redecide(cases, measures, checks)
        if args.export is not None:
            bundle = {k: (v if isinstance(v, str) else v.to_json()) for k, v in measures.items()}
            args.export.write_text(json.dumps(bundle, indent=None, sort_keys=True) + "\n", encoding="utf-8")
        backend = CACHED_BACKEND
    else:
        inspector, checks = _inspector(args.config)
        outcomes = run(inspector, cases, checks)
        backend = inspector.name
    if args.save:
        rows = [
            {"file": o.case.file, "kind": o.case.kind, "gender": o.case.gender, "face_visible": o.case.face_visible,
             "seconds": round(o.seconds, 3), "error": o.error,
             "verdict": o.verdict.model_dump(mode="json") if o.verdict else None}
            for o in outcomes
        ]  # fmt: skip
        args.save.write_text(json.dumps(rows, indent=1), encoding="utf-8")
    print(report(summarise(outcomes), backend=backend, show_errors=not args.quiet))
    return 0


if __name__ == "__main__":
    sys.exit(main())
