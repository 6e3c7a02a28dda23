"""Step 0's pre-filter: the sitter's gender, the benchmark's figures on a small labelled subset, the dry run.

The subset is chosen for its hard cases (kept small: each image costs a few seconds on 2 cores); the full
figures are ``benchmarks/bench_prefilter.py``'s to print.
"""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path
from types import ModuleType

import pytest
from typer.testing import CliRunner

from tests.conftest import make_workspace, shared_rows
from vivant.backends.local.sitter import decide_sitter, title_gender
from vivant.backends.local.vision import LocalInspector
from vivant.backends.openai.inspector import VisionRules, VisionVerdict, combine
from vivant.cli import app
from vivant.config import ChecksSettings
from vivant.roles import Box, Painting, Sitter, Verdict

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def bench() -> ModuleType:
    spec = importlib.util.spec_from_file_location("bench_prefilter", ROOT / "benchmarks" / "bench_prefilter.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while the class is built
    spec.loader.exec_module(module)
    return module


def _p(title: str, artist: str = "Unknown", **kw: object) -> Painting:
    return Painting(id=1, key="k", title=title, artist=artist, image_path=Path("x.jpg"), **kw)  # type: ignore[arg-type]


# -- the sitter's gender ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("title", "artist", "expected"),
    [
        ("Madame Cézanne in Blue", "Paul Cézanne", "female"),
        ("Lady Agnew of Lochnaw", "John Singer Sargent", "female"),
        ("Mrs. George Swinton", "John Singer Sargent", "female"),
        ("Portrait of a Man", "Titian", "male"),
        ("Portrait of Pope Innocent X", "Diego Velázquez", "male"),
        ("Charles I, King of England", "Daniel Mijtens", "male"),
        ("Portrait de la comtesse d'Haussonville", "Ingres", "female"),
        ("Le Roi Louis XIV", "Rigaud", "male"),
        ("Self-Portrait with Two Circles", "Rembrandt van Rijn", "male"),
        ("Self-Portrait in a Straw Hat", "Élisabeth Vigée Le Brun", "female"),
        ("Autoportrait", "Berthe Morisot", "female"),
        ("The Moneylender and His Wife", "Quentin Massys", None),
        ("Mona Lisa", "Leonardo da Vinci", None),
        ("Benedikt von Hertenstein", "Hans Holbein the Younger", "male"),  # a first name
        ("Isabella Wolff", "Thomas Lawrence", "female"),
        ("The Daughters of Edward Darley Boit", "John Singer Sargent", "female"),  # a word beats a name
        ("Womanizer's Manual", "Nobody", None),
    ],
)
def test_title_words(title: str, artist: str, expected: str | None) -> None:
    found = title_gender(_p(title, artist))
    assert (found[0] if found else None) == expected


def test_order_of_trust() -> None:
    face = ("male", 0.95, "face model male 95%")
    # the catalog overrides everything
    s = decide_sitter(_p("Lady Lilith", gender="male"), face=face, model=("female", 0.9))  # type: ignore[arg-type]
    assert (s.gender, s.source, s.confidence) == ("male", "catalog", 1.0)
    # then the vision model, then the title, then the face
    assert decide_sitter(_p("Lady Lilith"), face=face, model=("male", 0.8)).source == "vision-model"  # type: ignore[arg-type]
    s = decide_sitter(_p("Lady Lilith"), face=face, model=("unclear", 0.8))  # type: ignore[arg-type]
    assert (s.gender, s.source, s.note) == ("female", "title", "'lady'")
    s = decide_sitter(_p("Mona Lisa"), face=face, min_face_confidence=0.75)  # type: ignore[arg-type]
    assert (s.gender, s.source, s.confidence) == ("male", "faces", 0.95)
    s = decide_sitter(_p("Mona Lisa"), face=("female", 0.6, "face model female 60%"), min_face_confidence=0.75)
    assert (s.gender, s.source) == ("unclear", "none")
    assert s.note == "face model female 60%: below 0.75"


def _cpu(sitter: Sitter) -> Verdict:
    face = Box(x=10, y=10, w=100, h=120, label="FACE_FEMALE")
    return Verdict(accepted=True, width=800, height=1000, people=1, faces=[face], main_face=face, sitter=sitter,
                   backend="local")  # fmt: skip


def _vv(gender: str) -> VisionVerdict:
    return VisionVerdict(people=1, gender=gender, age_group="adult", child_present=False, nudity="none",  # type: ignore[arg-type]
                         single_portrait=True, confidence=0.8)  # fmt: skip


def test_vision_model_gender_unless_catalog() -> None:
    title = Sitter(gender="female", source="title", confidence=0.9, note="'lady'")
    v = combine(_cpu(title), _vv("male"), VisionRules(), backend="b")
    assert (v.sitter.gender, v.sitter.source, v.sitter.confidence) == ("male", "vision-model", 0.8)
    assert v.sitter.note == "CPU said female (title)"
    assert combine(_cpu(title), _vv("unclear"), VisionRules(), backend="b").sitter == title
    catalog = Sitter(gender="female", source="catalog", confidence=1.0)
    assert combine(_cpu(catalog), _vv("male"), VisionRules(), backend="b").sitter == catalog


# -- the benchmark on hard cases -------------------------------------------------------------------------------

SUBSET = [
    "leonardo_mona-lisa.jpg",  # nothing in the title tells her gender: the face model does
    "massys-moneylender-wife.jpg",  # couple: the husband's face is found only in a tile
    "goya-manuel-osorio.jpg",  # a small boy, nothing in the title: refused by the face's apparent age
    "friedrich-wanderer.jpg",  # seen from behind: no face
    "blurry-barocci-st-francis.jpg",  # blurred
    "bouguereau-wave.jpg",  # nude
    "thumb-vangogh-grey-felt-hat.jpg",  # thumbnail
]


@pytest.fixture(scope="module")
def outcomes(bench: ModuleType, shared_data: Path) -> list[object]:
    cases = [c for c in bench.load_cases(shared_data) if c.file in SUBSET]
    assert sorted(c.file for c in cases) == sorted(SUBSET)
    return list(bench.run(LocalInspector(), cases, ChecksSettings()))


def test_subset_confusion_and_reasons(bench: ModuleType, outcomes: list[object]) -> None:
    by = {o.case.file: o for o in outcomes}  # type: ignore[attr-defined]
    assert [f for f, o in by.items() if o.accepted] == ["leonardo_mona-lisa.jpg"]
    assert "people" in by["massys-moneylender-wife.jpg"].failed
    assert by["massys-moneylender-wife.jpg"].verdict.people == 2
    assert "child_face" in by["goya-manuel-osorio.jpg"].failed
    assert "no person found" in by["friedrich-wanderer.jpg"].verdict.reasons
    assert "blur" in by["blurry-barocci-st-francis.jpg"].failed
    assert "nudity" in by["bouguereau-wave.jpg"].failed
    assert "resolution" in by["thumb-vangogh-grey-felt-hat.jpg"].failed
    mona = by["leonardo_mona-lisa.jpg"].verdict.sitter
    assert (mona.gender, mona.source) == ("female", "faces") and mona.confidence >= 0.75

    s = bench.summarise(outcomes)
    assert (s.n, s.agree) == (7, 7)
    assert s.confusion["portrait"] == {"accepted": 1, "refused": 1}
    assert s.confusion["multi"] == {"refused": 1} and s.confusion["child"] == {"refused": 1}
    assert s.group_or_child_accepted == []
    # the man seen from behind has no face and a title that says nothing: his gender is unclear
    assert (s.gender_n, s.gender_agree) == (2, 1)
    assert [o.case.file for o in s.gender_errors] == ["friedrich-wanderer.jpg"]
    text = bench.report(s, backend="local")
    assert "agreement: 7/7 = 100.0%" in text
    assert "sitter's gender on portraits: 1/2 = 50.0%" in text
    assert "time per image: mean" in text


def test_sample_gender_labels_cover_the_samples(bench: ModuleType, paintings_dir: Path) -> None:
    cases = [c for c in bench.load_cases(paintings_dir.parent) if c.set == "samples"]
    assert len(cases) == 18
    assert all(c.gender in ("female", "male", "none") for c in cases)


# -- the dry run ------------------------------------------------------------------------------------------------


def test_prefilter_dry_run_makes_no_batch(tmp_path: Path, paintings_dir: Path) -> None:
    files = ["cezanne_madame-cezanne-in-blue.jpg", "rembrandt_the-night-watch.jpg"]
    cfg = make_workspace(tmp_path / "ws", shared_rows(paintings_dir, files))
    runner = CliRunner()
    result = runner.invoke(app, ["prefilter", "--all", "--json", "--config", str(cfg)])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert (data["accepted"], data["inspected"]) == (1, 2)
    rows = {r["painting"]: r for r in data["paintings"]}
    madame = rows["cezanne_madame-cezanne-in-blue"]
    assert madame["accepted"] and madame["sitter"]["gender"] == "female" and madame["sitter"]["source"] == "title"
    assert not rows["rembrandt_the-night-watch"]["accepted"]
    # nothing was used up: a dry run again sees the same two, and there is no batch
    again = runner.invoke(app, ["prefilter", "--count", "5", "--seed", "1", "--config", str(cfg)])
    assert again.exit_code == 0, again.output
    assert "1 of 2 would be accepted (dry run: no batch made)" in again.output
    status = runner.invoke(app, ["status", "--config", str(cfg)])
    assert status.exit_code == 1 and "no batch yet" in status.output
