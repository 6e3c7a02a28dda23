"""Bad states and inputs end in one clear line naming the file or value: a database damaged after it opened,
ids beyond SQLite's integers, a port out of range, a credentials file that is not TOML."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from typer.testing import CliRunner

from vivant.cli import app
from vivant.config import Settings
from vivant.errors import ConfigError, StoreError
from vivant.publish import credentials
from vivant.store import NewPainting, Store

runner = CliRunner()


def _one_line(output: str) -> str:
    lines = output.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in output, output
    return lines[0]


def _workspace(tmp_path: Path) -> Path:
    assert runner.invoke(app, ["init", str(tmp_path)]).exit_code == 0
    with Store.open(tmp_path / "vivant.db") as store:
        store.add_paintings(
            NewPainting(
                key=f"p{i}", title=f"P {i}", artist="A", image_path=str(tmp_path / f"p{i}.jpg"), is_portrait=True
            )
            for i in range(40)
        )
        store.create_batch([1, 2], languages=["en"], seed=1)
    return tmp_path / "vivant.toml"


def _damage(db: Path, *tables: str) -> None:
    """Overwrite the root pages of some tables with garbage, as a disk or a crashed copy would."""
    with sqlite3.connect(db) as c:
        c.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        page = c.execute("PRAGMA page_size").fetchone()[0]
        roots = [c.execute("SELECT rootpage FROM sqlite_master WHERE name=?", (t,)).fetchone()[0] for t in tables]
    with db.open("r+b") as f:
        for root in roots:
            f.seek((root - 1) * page)
            f.write(b"\xff" * page)


def test_a_database_damaged_after_it_opens_is_one_line_naming_it(tmp_path: Path) -> None:
    cfg = _workspace(tmp_path)
    _damage(tmp_path / "vivant.db", "items", "paintings")
    for args in (["resume"], ["catalog", "stats"], ["status"]):
        result = runner.invoke(app, [*args, "--config", str(cfg)])
        line = _one_line(result.output)
        assert result.exit_code == 1, (args, result.output)
        assert f"{tmp_path / 'vivant.db'}: the database is damaged" in line, args
        assert "nothing to resume" not in line and "unexpected" not in line


def test_a_damaged_database_is_a_store_error_inside_a_write(tmp_path: Path) -> None:
    cfg = _workspace(tmp_path)
    store = Store.open(cfg.parent / "vivant.db")
    _damage(cfg.parent / "vivant.db", "items")
    with pytest.raises(StoreError, match="the database is damaged"):
        store.set_state(1, store.item(1).state)  # reads inside BEGIN IMMEDIATE
    store.close()


def test_ids_beyond_sqlite_integers_are_not_found(tmp_path: Path) -> None:
    cfg = _workspace(tmp_path)
    result = runner.invoke(app, ["status", "1180591620717411303424", "--config", str(cfg)])
    assert result.exit_code == 1
    assert _one_line(result.output) == "error: no batch 1180591620717411303424"
    with Store.open(tmp_path / "vivant.db") as store, pytest.raises(StoreError, match="no item"):
        store.item(2**70)


def test_review_port_out_of_range_is_one_line(tmp_path: Path) -> None:
    cfg = _workspace(tmp_path)
    result = runner.invoke(app, ["review", "--port", "70000", "--config", str(cfg)])
    assert result.exit_code == 1
    assert "--port 70000: not a port" in _one_line(result.output)


def test_review_item_json_with_a_huge_id_is_404(tmp_path: Path) -> None:
    from fastapi.testclient import TestClient

    from vivant.review.app import create_app

    cfg = _workspace(tmp_path)
    settings = Settings().resolved(cfg.parent)
    with TestClient(create_app(settings, settings.database, None), base_url="http://127.0.0.1:8765") as client:
        response = client.get("/items/1180591620717411303424.json")
    assert response.status_code == 404


def test_credentials_syntax_error_gives_the_real_line(tmp_path: Path) -> None:
    settings = Settings().resolved(tmp_path)
    path = credentials.path_of(settings)
    path.write_text('[youtube]\naccess_token = "ya29.secret"\n\n[tiktok\naccess_token = "x"\n')
    path.chmod(0o600)
    with pytest.raises(ConfigError) as err:
        credentials.load(settings)
    assert f"{path}: not valid TOML" in str(err.value) and "line 4" in str(err.value)
    assert "ya29" not in str(err.value)
