"""Step 0's CPU inspector on the real test paintings (``shared/data/paintings``).

The verdicts per kind are decided on the measures the real models made of each sample
(``data/sample_measures.json``, from ``bench_prefilter.py --cache``); the tests below that run the models
themselves (a thumbnail, a portrait under a child's title, the bad files) keep the recording honest.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
from PIL import Image

from vivant.backends.local.decide import decide
from vivant.backends.local.measures import Measures
from vivant.backends.local.vision import LocalInspector, child_word, resize_long_side
from vivant.config import ChecksSettings
from vivant.errors import InputError
from vivant.roles import Check, Inspector, Painting, Verdict

CATALOG = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "paintings" / "catalog.csv"
RECORDED = Path(__file__).parent / "data" / "sample_measures.json"


def _rows(kind: str) -> list[str]:
    if not CATALOG.is_file():
        return []
    with CATALOG.open(encoding="utf-8", newline="") as f:
        return [row["file"] for row in csv.DictReader(f) if row["kind"] == kind]


def _titles() -> dict[str, str]:
    if not CATALOG.is_file():
        return {}
    with CATALOG.open(encoding="utf-8", newline="") as f:
        return {row["file"]: row["title"] for row in csv.DictReader(f)}


@pytest.fixture(scope="module")
def inspector() -> LocalInspector:
    return LocalInspector()


@pytest.fixture(scope="module")
def checks() -> ChecksSettings:
    return ChecksSettings()


def _painting(path: Path, title: str | None = None, **extra: object) -> Painting:
    return Painting(
        id=1, key=path.stem, title=title or _titles().get(path.name, path.stem), artist="Test", image_path=path,
        **extra,  # type: ignore[arg-type]
    )  # fmt: skip


def _inspect(inspector: LocalInspector, path: Path, checks: ChecksSettings, **kw: object) -> Verdict:
    return inspector.inspect(path, _painting(path, **kw), checks)  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def recorded() -> dict[str, Measures]:
    return {k: Measures.from_json(v) for k, v in json.loads(RECORDED.read_text(encoding="utf-8")).items()}


def _decide(recorded: dict[str, Measures], path: Path, checks: ChecksSettings) -> Verdict:
    """The verdict on the models' recorded measures of ``path`` (what :meth:`LocalInspector.inspect` decides)."""
    return decide(recorded[path.name], _painting(path), checks, backend=LocalInspector.name)


def _check(verdict: Verdict, name: str) -> Check:
    return next(c for c in verdict.checks if c.name == name)


def test_is_an_inspector(inspector: LocalInspector) -> None:
    assert isinstance(inspector, Inspector)
    assert inspector.name == "local:nudenet+opencv"
    assert inspector.degraded is False


@pytest.mark.parametrize("file", _rows("portrait"))
def test_portraits_are_accepted(
    recorded: dict[str, Measures], checks: ChecksSettings, paintings_dir: Path, file: str
) -> None:
    path = paintings_dir / file
    verdict = _decide(recorded, path, checks)
    assert verdict.accepted, verdict.reasons
    assert verdict.people == 1
    assert verdict.main_face is not None
    with Image.open(path) as im:
        assert (verdict.width, verdict.height) == im.size
    face = verdict.main_face
    assert face.x >= 0 and face.y >= 0
    assert face.x + face.w <= verdict.width + 1 and face.y + face.h <= verdict.height + 1
    assert {c.name for c in verdict.checks} >= {"resolution", "people", "face_size", "blur", "nudity", "child"}
    assert verdict.backend == LocalInspector.name


@pytest.mark.parametrize("file", _rows("multi"))
def test_groups_are_refused_for_people(
    recorded: dict[str, Measures], checks: ChecksSettings, paintings_dir: Path, file: str
) -> None:
    verdict = _decide(recorded, paintings_dir / file, checks)
    assert not verdict.accepted
    people = _check(verdict, "people")
    if "cradle" in file:
        # The mother looks down and the baby sleeps under a veil: only the mother's face is found (in a tile);
        # the title refuses it.
        assert verdict.people <= 1
        assert any("child" in r for r in verdict.reasons), verdict.reasons
    else:
        assert not people.passed
        assert verdict.people > 1
        assert any(r.endswith(f"people (max {checks.max_people})") for r in verdict.reasons), verdict.reasons


@pytest.mark.parametrize("file", _rows("landscape"))
def test_landscape_is_refused(
    recorded: dict[str, Measures], checks: ChecksSettings, paintings_dir: Path, file: str
) -> None:
    verdict = _decide(recorded, paintings_dir / file, checks)
    assert not verdict.accepted
    assert verdict.people == 0
    assert verdict.main_face is None
    assert "no person found" in verdict.reasons


def test_tiny_image_is_refused_for_size(inspector: LocalInspector, checks: ChecksSettings, paintings_dir: Path) -> None:
    verdict = _inspect(inspector, paintings_dir / "leonardo_mona-lisa_tiny-92px.jpg", checks)
    assert not verdict.accepted
    assert f"image too small: 92 px (min {checks.min_side_px})" in verdict.reasons
    resolution = _check(verdict, "resolution")
    assert (resolution.passed, resolution.value, resolution.threshold) == (False, 92, checks.min_side_px)


def test_text_file_named_jpg(inspector: LocalInspector, checks: ChecksSettings, tmp_path: Path) -> None:
    fake = tmp_path / "mona.jpg"
    fake.write_text("this is not a picture\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"^mona\.jpg: not an image"):
        _inspect(inspector, fake, checks, title="Mona Lisa")


def test_truncated_jpeg(inspector: LocalInspector, checks: ChecksSettings, paintings_dir: Path, tmp_path: Path) -> None:
    data = (paintings_dir / "leonardo_mona-lisa.jpg").read_bytes()
    cut = tmp_path / "x.jpg"
    cut.write_bytes(data[: len(data) // 2])
    with pytest.raises(InputError, match=r"^x\.jpg: truncated image"):
        _inspect(inspector, cut, checks, title="Mona Lisa")


def test_missing_file(inspector: LocalInspector, checks: ChecksSettings, tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r"gone\.jpg"):
        _inspect(inspector, tmp_path / "gone.jpg", checks, title="Gone")


def test_child_title_refuses_and_is_recorded_as_not_run(
    inspector: LocalInspector, checks: ChecksSettings, paintings_dir: Path
) -> None:
    # A portrait that passes every visual check, under a title that names a child.
    verdict = _inspect(
        inspector, paintings_dir / "cezanne_madame-cezanne-in-blue.jpg", checks, title="Child with a Dog"
    )
    child = _check(verdict, "child")
    assert child.ran is False
    assert child.passed is False
    assert child.note == "title and metadata words, and the main face's apparent age"
    assert not verdict.accepted
    assert verdict.reasons == ["title mentions a child: 'child'"]
    # the face model sees an adult: the age check ran and passed
    child_face = _check(verdict, "child_face")
    assert child_face.ran and child_face.passed and isinstance(child_face.value, int)
    assert child_face.value > checks.child_max_age


def test_child_words_match_whole_words_only(paintings_dir: Path) -> None:
    words = ChecksSettings().child_words
    path = paintings_dir / "x.jpg"
    assert child_word(_painting(path, "Portrait of Madame Johnson"), words) is None
    assert child_word(_painting(path, "Self-Portrait with Two Circles"), words) is None
    assert child_word(_painting(path, "Girl with a Pearl Earring"), words) is None
    assert child_word(_painting(path, "The CRADLE"), words) == ("title", "cradle")
    assert child_word(_painting(path, "Portrait", tags=("putto",)), words) == ("tags", "putto")
    assert child_word(_painting(path, "Portrait", description="Un bébé endormi."), words) == ("description", "bébé")


@pytest.mark.parametrize(
    ("suffix", "long_side", "expected"),
    [(".png", 640, (430, 640)), (".jpg", 1280, (858, 1280))],
)
def test_resize_long_side(
    paintings_dir: Path, tmp_path: Path, suffix: str, long_side: int, expected: tuple[int, int]
) -> None:
    src = paintings_dir / "leonardo_mona-lisa.jpg"  # 960 x 1431
    dest = tmp_path / f"out{suffix}"
    size = resize_long_side(src, dest, long_side)
    assert size == expected
    with Image.open(dest) as im:
        assert im.size == expected
        assert im.format == ("PNG" if suffix == ".png" else "JPEG")


def test_resize_upscales_small_images_to_even_sizes(paintings_dir: Path, tmp_path: Path) -> None:
    src = paintings_dir / "velazquez_portrait-of-pope-innocent-x.jpg"  # 330 x 401
    size = resize_long_side(src, tmp_path / "pope.png", 1280)
    assert size == (1054, 1280)
    assert size[0] % 2 == 0 and size[1] % 2 == 0
