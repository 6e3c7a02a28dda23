"""Shared fixtures. Tests read real data from ``../shared/data`` beside the project (never copied in)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

# pytest-xdist's workers set COLUMNS=80, and rich fixes a console's width from COLUMNS when the console is built
# (the CLI's, at import): without it, each command's width follows the COLUMNS a test passes to CliRunner.
os.environ.pop("COLUMNS", None)

ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = ROOT.parent / "shared" / "data"


@pytest.fixture(scope="session")
def shared_data() -> Path:
    if not SHARED_DATA.is_dir():
        pytest.skip(f"{SHARED_DATA} is missing")
    return SHARED_DATA


@pytest.fixture(scope="session")
def paintings_dir(shared_data: Path) -> Path:
    return shared_data / "paintings"


SMALL_RENDER = [
    ("width = 1080", "width = 360"),
    ("height = 1920", "height = 640"),
    ("fps = 25", "fps = 15"),
    ("transition_seconds = 3.0", "transition_seconds = 1.0"),
    ("outro_seconds = 2.5", "outro_seconds = 1.0"),
    ("backoff_seconds = 2.0", "backoff_seconds = 0.1"),
]
NO_QA_SPEECH = "\n[qa]\nspeech = false  # no Whisper in step 10 (its slowest check): the QA tests' night keeps it\n"


def make_workspace(folder: Path, rows: list[dict[str, str]], *, qa_speech: bool = False) -> Path:
    """A workspace that renders small videos, with a catalog of ``rows`` (key, file, title, artist, year).

    Every row is listed as a portrait, as a mislabelled catalog would be: step 0 must catch the others.
    Step 10 runs every check but Whisper's unless ``qa_speech`` (the tests of QA's speech checks ask for it).
    Returns the path of its ``vivant.toml``.
    """
    import csv

    from typer.testing import CliRunner

    from vivant.cli import app

    runner = CliRunner()
    assert runner.invoke(app, ["init", str(folder)]).exit_code == 0
    cfg = folder / "vivant.toml"
    text = cfg.read_text()
    for old, new in SMALL_RENDER:
        assert old in text, old
        text = text.replace(old, new)
    cfg.write_text(text if qa_speech else text + NO_QA_SPEECH)
    listing = folder / "paintings.csv"
    with listing.open("w", newline="", encoding="utf-8") as f:
        w = csv.DictWriter(f, fieldnames=["key", "file", "title", "artist", "year", "kind"])
        w.writeheader()
        for row in rows:
            w.writerow({"year": "1650", "artist": "Unknown Painter", **row, "kind": "portrait"})
    result = runner.invoke(app, ["catalog", "import", str(listing), "--column", "genre=kind", "--config", str(cfg)])
    assert result.exit_code == 0, result.output
    return cfg


def shared_rows(paintings_dir: Path, files: list[str]) -> list[dict[str, str]]:
    """Catalog rows for sample paintings of ``../shared/data/paintings`` (absolute image paths)."""
    import csv

    with (paintings_dir / "catalog.csv").open(encoding="utf-8") as f:
        listed = {r["file"]: r for r in csv.DictReader(f)}
    return [
        {
            "key": Path(name).stem,
            "file": str(paintings_dir / name),
            "title": listed[name]["title"],
            "artist": listed[name]["artist"],
            "year": listed[name]["year"],
        }
        for name in files
    ]
