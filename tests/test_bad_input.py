"""Bad input: each ends in a clear error for that painting (or one CLI line), never a traceback at the user,
and never a lost finished video. Real files, real SQLite, real ffmpeg, the real CLI."""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from vivant.cli import app

from .conftest import make_workspace, shared_rows

runner = CliRunner()
VERMEER = "vermeer_girl-with-a-pearl-earring.jpg"


def _status(cfg: Path) -> dict[str, object]:
    result = runner.invoke(app, ["status", "--config", str(cfg), "--json"])
    assert result.exit_code == 0, result.output
    data: dict[str, object] = json.loads(result.output)
    return data


@pytest.mark.slow
def test_bad_paintings_fail_or_abort_alone_and_the_batch_goes_on(tmp_path: Path, paintings_dir: Path) -> None:
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "notes.jpg").write_text("this is a shopping list, not a painting\n")
    data = (paintings_dir / VERMEER).read_bytes()
    (bad / "truncated.jpg").write_bytes(data[: len(data) // 2])
    rows = shared_rows(
        paintings_dir,
        [
            VERMEER,
            "leonardo_mona-lisa_tiny-92px.jpg",
            "van-gogh_the-starry-night.jpg",
            "rembrandt_the-night-watch.jpg",
        ],
    )
    rows += [
        {"key": "not-an-image", "file": str(bad / "notes.jpg"), "title": "Shopping List"},
        {"key": "truncated", "file": str(bad / "truncated.jpg"), "title": "Half a Girl"},
        {"key": "missing", "file": str(bad / "gone.jpg"), "title": "Lost Portrait"},
    ]
    cfg = make_workspace(tmp_path / "ws", rows)
    (bad / "gone.jpg").unlink(missing_ok=True)
    # the draw only takes paintings whose image exists: the missing one must be asked for explicitly
    from vivant.store import Store

    with Store.open(cfg.parent / "vivant.db") as store:
        ids = [pid for pid, _ in store.painting_genres()]
        batch = store.create_batch(ids, languages=["en"], seed=None)
    result = runner.invoke(app, ["resume", str(batch), "--config", str(cfg)])
    assert result.exit_code == 0, result.output
    assert "Traceback" not in result.output
    items = {i["painting"]: i for i in _status(cfg)["items"]}  # type: ignore[attr-defined]
    assert items["vermeer_girl-with-a-pearl-earring"]["state"] == "COMPLETE"
    expected = {
        "leonardo_mona-lisa_tiny-92px": ("ABORTED", "image too small: 92 px"),
        "van-gogh_the-starry-night": ("ABORTED", "no person found"),
        "rembrandt_the-night-watch": ("ABORTED", "people (max 1)"),
        "not-an-image": ("FAILED", "notes.jpg: not an image"),
        "truncated": ("FAILED", "truncated.jpg: truncated image"),
        "missing": ("FAILED", "gone.jpg is missing"),
    }
    for key, (state, words) in expected.items():
        assert items[key]["state"] == state, (key, items[key])
        assert words in items[key]["reason"], (key, items[key]["reason"])
        assert "Traceback" not in items[key]["reason"]
    # bad input is not retried: one attempt each at step 0
    with Store.open(cfg.parent / "vivant.db") as store:
        for item in store.items(batch):
            if item.state.value != "COMPLETE":
                assert len(store.attempts(item_id=item.id)) == 1


def test_catalog_csv_missing_columns_is_one_line(tmp_path: Path) -> None:
    runner.invoke(app, ["init", str(tmp_path)])
    csv = tmp_path / "list.csv"
    csv.write_text("file,painter\nmona.jpg,Leonardo\n")
    result = runner.invoke(app, ["catalog", "import", str(csv), "--config", str(tmp_path / "vivant.toml")])
    assert result.exit_code == 1
    line = result.output.strip()
    assert "list.csv" in line and "title" in line and "Traceback" not in line
    assert len(line.splitlines()) == 1


# -- a really full disk -----------------------------------------------------------------------------------------


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 48 MiB tmpfs (needs root and mount rights; skipped elsewhere)."""
    mnt = tmp_path / "disk"
    mnt.mkdir()
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=48m", "tmpfs", str(mnt)], capture_output=True, text=True)
    if r.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {r.stderr.strip()}")
    try:
        yield mnt
    finally:
        subprocess.run(["umount", "-l", str(mnt)], check=False)


def _fill(disk: Path, leave: int) -> Path:
    filler = disk / "filler.bin"
    free = shutil.disk_usage(disk).free
    with filler.open("wb") as f:
        f.truncate(0)
        chunk = b"\0" * (1 << 20)
        remaining = free - leave
        while remaining > 0:
            n = min(len(chunk), remaining)
            try:
                f.write(chunk[:n])
                f.flush()
            except OSError:
                break
            remaining -= n
    return filler


@pytest.mark.slow
def test_full_disk_stops_with_one_line_and_keeps_finished_videos(
    small_disk: Path, tmp_path: Path, paintings_dir: Path
) -> None:
    rows = shared_rows(paintings_dir, [VERMEER, "rembrandt_self-portrait-with-two-circles.jpg"])
    cfg = make_workspace(small_disk / "ws", rows[:1])
    base = ["--config", str(cfg)]
    result = runner.invoke(app, ["night", "--count", "1", "--langs", "en", *base])
    assert result.exit_code == 0, result.output
    pool = cfg.parent / "pool"
    videos = sorted(pool.glob("*.mp4"))
    assert len(videos) == 1
    digest = hashlib.sha256(videos[0].read_bytes()).hexdigest()

    listing = tmp_path / "more.csv"
    listing.write_text("key,file,title,artist,year,kind\n" + ",".join([
        rows[1]["key"], rows[1]["file"], rows[1]["title"], rows[1]["artist"], "1665", "portrait"]) + "\n")  # fmt: skip
    assert runner.invoke(app, ["catalog", "import", str(listing), "--column", "genre=kind", *base]).exit_code == 0
    filler = _fill(small_disk, leave=600_000)  # room for the database, not for the night's files
    result = runner.invoke(app, ["night", "--count", "1", "--langs", "en", *base])
    assert result.exit_code == 1, result.output
    out = result.output.strip()
    assert "Traceback" not in out
    assert "cannot be written" in out or "disk full" in out, out
    assert hashlib.sha256(videos[0].read_bytes()).hexdigest() == digest, "a finished video was damaged"

    filler.unlink()
    result = runner.invoke(app, ["resume", *base, "--json"])
    assert result.exit_code == 0, result.output
    assert len(sorted(pool.glob("*.mp4"))) == 2
    assert hashlib.sha256(videos[0].read_bytes()).hexdigest() == digest
