"""Fit step 0's thresholds on cached measures, and say how well they hold on paintings they were not fitted on.

    PYTHONPATH=src .venv/bin/python benchmarks/tune_prefilter.py --cache /tmp/measures [--folds 5] [--data ...]

The measures come from ``bench_prefilter.py --cache`` (made there when missing). The decision
(:func:`vivant.backends.local.decide.decide`) is re-run for every candidate value of the keys in :data:`GRID`
(coordinate descent from the ``[checks]`` defaults, a few passes), maximising agreement with the labels minus
:data:`GROUP_PENALTY` per group or child painting accepted. Printed:

* the defaults' figures on every painting (the headline, what ``bench_prefilter.py`` prints; those defaults
  were fitted on these paintings, so every fit below starts from :data:`UNFITTED` instead);
* the values fitted on every painting and their figures (in-sample: optimistic);
* a stratified K-fold cross-validation: fitted on K-1 folds, counted on the fold left out (the honest figure);
* fitted on the 109 eval paintings, counted on the 18 samples.
"""

from __future__ import annotations

import argparse
import importlib.util
import sys
from collections import defaultdict
from pathlib import Path
from typing import Any

from vivant.config import ChecksSettings

HERE = Path(__file__).resolve().parent
GROUP_PENALTY = 2
"""A group or child painting accepted costs this many agreements (it costs a night's GPU and a rejection)."""
UNFITTED = {
    "face_score_min": 0.3,
    "hog_min_score": 0.3,
    "title_portrait": False,
    "portrait_min_face_fraction": 0.06,
    "cnn_min_score": None,
    "hog_face_score": None,
    "second_face_needs_model": False,
    "nudity_outside_faces": False,
}
"""The ``[checks]`` defaults that were later fitted on these 127 paintings, as they were before: every fit here
starts from them, so that a fold left out was never seen by its starting point."""
GRID: dict[str, list[Any]] = {
    "face_score_min": [0.25, 0.3, 0.35, 0.4, 0.5],
    "secondary_face_ratio": [0.3, 0.4, 0.5, 0.6, 0.7],
    "hog_min_score": [None, 0.0, 0.15, 0.3, 0.5],
    "min_face_fraction": [0.03, 0.04, 0.06, 0.08, 0.1],
    "nudity_max_score": [0.3, 0.35, 0.4, 0.45, 0.5, 0.6],
    "child_max_age": [6, 8, 10, 12, 14],
    "child_age_confidence": [30, 45, 60, 75],
    "min_blur_variance": [20.0, 30.0, 40.0, 60.0, 80.0],
    "profile_faces": [True, False],
    "body_people": [True, False],
    "body_score_min": [0.3, 0.4, 0.5, 0.6, 0.7],
    "body_distance": [1.5, 2.0, 2.5, 3.0, 4.0, 5.0],
    "nudity_tiles": [True, False],
    "child_face_ratio": [0.0, 0.3, 0.5, 0.7],
    "nudity_bare_parts": [0, 2, 3, 4],
    "nudity_part_score": [0.25, 0.3, 0.35, 0.4],
    "title_portrait": [True, False],
    "portrait_min_face_fraction": [0.03, 0.04, 0.05, 0.06],
    "cnn_min_score": [None, 0.4, 0.5, 0.6, 0.8],
    "hog_face_score": [None, 0.3, 0.5, 0.8, 1.2],
    "second_face_needs_model": [True, False],
    "nudity_outside_faces": [True, False],
}


def _bench() -> Any:
    spec = importlib.util.spec_from_file_location("bench_prefilter", HERE / "bench_prefilter.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def score(bench: Any, cases: list[Any], measures: dict[str, Any], checks: ChecksSettings) -> tuple[float, Any]:
    s = bench.summarise(bench.redecide(cases, measures, checks))
    return s.agree - GROUP_PENALTY * len(s.group_or_child_accepted), s


def fit(
    bench: Any, cases: list[Any], measures: dict[str, Any], start: ChecksSettings, passes: int = 2
) -> ChecksSettings:
    """Coordinate descent over :data:`GRID`; ties keep the current value (the defaults win a tie)."""
    best = start
    best_score, _ = score(bench, cases, measures, best)
    for _ in range(passes):
        moved = False
        for key, values in GRID.items():
            for v in values:
                if getattr(best, key) == v:
                    continue
                trial = best.model_copy(update={key: v})
                sc, _ = score(bench, cases, measures, trial)
                if sc > best_score:
                    best, best_score, moved = trial, sc, True
        if not moved:
            break
    return best


def folds(cases: list[Any], k: int) -> list[list[Any]]:
    """Stratified by kind, deterministic: the i-th painting of a kind (by file name) goes to fold i mod k."""
    by_kind: dict[str, list[Any]] = defaultdict(list)
    for c in sorted(cases, key=lambda c: c.file):
        by_kind[c.kind].append(c)
    out: list[list[Any]] = [[] for _ in range(k)]
    n = 0
    for kind in sorted(by_kind):
        for c in by_kind[kind]:
            out[n % k].append(c)
            n += 1
    return out


def changed(checks: ChecksSettings) -> str:
    base = ChecksSettings(**UNFITTED)
    diff = [f"{k}={getattr(checks, k)!r}" for k in GRID if getattr(checks, k) != getattr(base, k)]
    return ", ".join(diff) or "the defaults"


def line(s: Any) -> str:
    return (
        f"agreement {s.agree}/{s.n} = {s.agreement:.1%}, group/child accepted {len(s.group_or_child_accepted)},"
        f" gender {s.gender_agree}/{s.gender_n} = {s.gender_agreement:.1%}"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=HERE.parent.parent / "shared" / "data")
    parser.add_argument("--cache", type=Path, required=True)
    parser.add_argument("--folds", type=int, default=5)
    args = parser.parse_args(argv)
    bench = _bench()
    cases = bench.load_cases(args.data)
    measures = bench.cached_measures(cases, args.cache)
    print(f"defaults on all {len(cases)}: {line(score(bench, cases, measures, ChecksSettings())[1])}")
    defaults = ChecksSettings(**UNFITTED)
    fitted = fit(bench, cases, measures, defaults)
    print(f"fitted on all (in-sample): {changed(fitted)}\n  {line(score(bench, cases, measures, fitted)[1])}")
    held_agree = held_n = held_group = 0
    for i, fold in enumerate(folds(cases, args.folds)):
        names = {c.file for c in fold}
        train = [c for c in cases if c.file not in names]
        f = fit(bench, train, measures, defaults)
        _, s = score(bench, fold, measures, f)
        held_agree += s.agree
        held_n += s.n
        held_group += len(s.group_or_child_accepted)
        print(f"fold {i + 1}: {line(s)}; fitted {changed(f)}")
    print(
        f"{args.folds}-fold cross-validation (held out): agreement {held_agree}/{held_n} = {held_agree / held_n:.1%},"
        f" group/child accepted {held_group}"
    )
    train = [c for c in cases if c.set == "eval"]
    test = [c for c in cases if c.set != "eval"]
    if train and test:
        f = fit(bench, train, measures, defaults)
        print(f"fitted on eval ({changed(f)}), on the {len(test)} samples: {line(score(bench, test, measures, f)[1])}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
