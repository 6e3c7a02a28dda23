"""The seed-night replay benchmark: its job table and bound follow the seed, and a tiny run of it works.

No timing is asserted here (the figures are the benchmark's to print); these tests keep the benchmark honest:
the jobs add up to the seed's per-step table, the lower bound is what its docstring says, and a run through the
real engine ends with the seed's outcome and each server loading each of its models once.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def replay() -> ModuleType:
    spec = importlib.util.spec_from_file_location("replay_seed_night", ROOT / "benchmarks" / "replay_seed_night.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while the class is built
    spec.loader.exec_module(module)
    return module


def test_job_table_adds_up_to_the_seed(replay: ModuleType) -> None:
    jobs = replay.job_table()
    for _n, name, _res, _per_lang, _wall, compute, _needs in replay.SEED:
        assert sum(m for (step, _p, _l), m in jobs.items() if step == name) == pytest.approx(compute)
    assert len({p for (step, p, _l) in jobs if step == "lipsync"}) == 15
    assert len([k for k in jobs if k[0] == "prepare"]) == 20


def test_lower_bounds(replay: ModuleType) -> None:
    jobs = replay.job_table()
    by = {sc.key: sc for sc in replay.SCENARIOS}
    gpu_work = sum(m for (step, _p, _l), m in jobs.items() if replay.SPEECH_ON_GPU[step] == "gpu")
    gpu_loads = sum(replay.LOAD_MIN[s] for s, res in replay.SPEECH_ON_GPU.items() if res == "gpu")
    b, where = replay.lower_bound(by["b"], jobs, loads=True)
    assert where == "gpu" and gpu_work + gpu_loads < b < gpu_work + gpu_loads + 1.0  # plus the small gaps
    d, _ = replay.lower_bound(by["d"], jobs, loads=True)
    e, _ = replay.lower_bound(by["e"], jobs, loads=True)
    assert d < b / 2 + 1.0
    # same gaps as (d); the work shared by a server of speed 1 and one taking 1.6x as long
    work = gpu_work + gpu_loads
    assert e - d == pytest.approx(work / (1 + 1 / 1.6) - work / 2)


@pytest.mark.parametrize("key", ["d", "e0"])
def test_a_tiny_replay_ends_like_the_seed_and_loads_each_model_once_per_server(replay: ModuleType,
                                                                               key: str) -> None:  # fmt: skip
    sc = {s.key: s for s in replay.SCENARIOS}[key]
    out = replay.run_scenario(sc, 0.002, replay.job_table(), 64)
    assert out.states == {"COMPLETE": 15, "ABORTED": 5}
    # each of the two GPU servers loads each of its seven models about once (a server may get no job of a short
    # step), not once per painting (15 lip-syncs alone would be 15 loads). At this tiny scale (a job of the
    # shortest steps lasts well under a millisecond) a thread's own latency lets a job reach a server out of step
    # order now and then, more often on a loaded machine (20 seen with a second test process on the 2 cores):
    # at most twice per model and server
    assert out.swaps["gpu"] <= 2 * 7 * 2, out.swaps
    assert out.swaps["llm"] == 2
    assert out.minutes > out.lb_compute


def test_main_prints_each_scenario(replay: ModuleType, monkeypatch: pytest.MonkeyPatch,
                                   capsys: pytest.CaptureFixture[str]) -> None:  # fmt: skip
    monkeypatch.setattr(sys, "argv", ["replay", "--ms-per-min", "2", "--only", "b,d"])
    assert replay.main() == 0
    text = capsys.readouterr().out
    assert "(b) overlap" in text and "(d) overlap" in text and "(d) / (b) = " in text
    assert text.count("lower bound") == 2
