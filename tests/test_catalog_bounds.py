"""Bounded catalog fields: a huge field neither crashes the import nor reaches the database; each dropped row is
named (file:line) in the import report, and a field too large to read at all ends in one line naming the file."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from vivant import catalog, config
from vivant.cli import app
from vivant.store import Store

runner = CliRunner()
HEADER = "file,title,artist,year,kind,license_note,description\n"


def _ws(tmp_path: Path) -> Path:
    assert runner.invoke(app, ["init", str(tmp_path / "ws")]).exit_code == 0
    return tmp_path / "ws" / "vivant.toml"


def _titles(cfg: Path) -> list[str]:
    with Store.open(config.load(cfg).database) as store:
        return sorted(store.painting(pid).title for pid, _ in store.painting_genres())


def test_a_huge_title_or_description_drops_the_row_with_its_line(tmp_path: Path) -> None:
    cfg = _ws(tmp_path)
    listing = tmp_path / "big.csv"
    listing.write_text(
        HEADER
        + "a.jpg,Fine Portrait,Jan Steen,1660,portrait,,\n"
        + f"b.jpg,{'T' * 10_000_000},Jan Steen,1660,portrait,,\n"
        + f'c.jpg,Wordy,Jan Steen,1660,portrait,,"{"d" * 200_000}"\n'
        + f'd.jpg,Long Licence,Jan Steen,1660,portrait,"{"L" * 200_000}",\n',
        encoding="utf-8",
    )
    result = runner.invoke(app, ["catalog", "import", str(listing), "--column", "genre=kind", "--config", str(cfg)])
    assert result.exit_code == 0, result.output[-2000:]
    out = " ".join(result.output.split())
    assert "dropped, field too long: 2" in out
    assert "big.csv:3: title is 10,000,000 characters (at most 300)" in out
    assert "big.csv:4: description is 200,000 characters (at most 20,000)" in out
    assert len(result.output) < 5000  # the report quotes no field
    assert _titles(cfg) == ["Fine Portrait", "Long Licence"]  # an unused long column is no reason to drop


def test_a_field_too_large_to_read_names_the_file_and_line(tmp_path: Path) -> None:
    cfg = _ws(tmp_path)
    listing = tmp_path / "huge.csv"
    listing.write_text(
        HEADER
        + "a.jpg,Fine,Jan Steen,1660,portrait,,\n"
        + f'b.jpg,"{"x" * (catalog.CSV_FIELD_LIMIT + 10)}",A,1,portrait,,\n'
    )
    result = runner.invoke(app, ["catalog", "import", str(listing), "--config", str(cfg)])
    assert result.exit_code == 1
    out = " ".join(result.output.split())
    assert out.startswith("error:") and "huge.csv:3: field larger than field limit" in out, out[:500]
    assert "unexpected" not in out


def test_json_rows_are_bounded_too(tmp_path: Path) -> None:
    cfg = _ws(tmp_path)
    listing = tmp_path / "list.json"
    rows = [{"file": "a.jpg", "title": "Fine", "artist": "Jan Steen", "year": 1660},
            {"file": "b.jpg", "title": "Fine too", "artist": "A" * 5000, "year": 1660}]  # fmt: skip
    listing.write_text(json.dumps(rows))
    result = runner.invoke(app, ["catalog", "import", str(listing), "--config", str(cfg)])
    assert result.exit_code == 0, result.output
    assert "list.json[2]: artist is 5,000 characters (at most 300)" in " ".join(result.output.split())
    assert _titles(cfg) == ["Fine"]
