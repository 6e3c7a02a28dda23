"""The preflight: a night checks every configured path and value before it draws anything, and `vivant doctor`
shows the same checks. Each bad value ends in one line naming the key and the file; no batch is created and no
painting is counted as used."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from tests.conftest import make_workspace, shared_rows
from vivant import config
from vivant.backends import ffmpeg
from vivant.cli import app
from vivant.errors import ConfigError
from vivant.store import Store

runner = CliRunner()
PORTRAITS = ["vermeer_girl-with-a-pearl-earring.jpg", "leonardo_mona-lisa.jpg"]


@pytest.fixture
def ws(tmp_path: Path, paintings_dir: Path) -> Path:
    return make_workspace(tmp_path / "ws", shared_rows(paintings_dir, PORTRAITS))


def _set(cfg: Path, section: str, line: str) -> None:
    text = cfg.read_text()
    assert f"[{section}]\n" in text
    cfg.write_text(text.replace(f"[{section}]\n", f"[{section}]\n{line}\n", 1))


def _nothing_drawn(cfg: Path) -> None:
    settings = config.load(cfg)
    with Store.open(settings.database) as store:
        assert store.batches() == []
        assert len(store.portrait_ids()) == len(PORTRAITS)  # none counted as used


@pytest.mark.parametrize(
    ("value", "words"),
    [("-1080", "greater than or equal to 16"), ("0", "greater than or equal to 16"), ("1081", "1081 is odd")],
)
def test_a_bad_render_size_is_refused_when_the_config_loads(ws: Path, value: str, words: str) -> None:
    text = ws.read_text()
    ws.write_text(text.replace("width = 360", f"width = {value}"))
    with pytest.raises(ConfigError, match=f"render.width: .*{words}"):
        config.load(ws)
    result = runner.invoke(app, ["night", "--count", "1", "--config", str(ws)])
    assert result.exit_code == 1
    assert "render.width" in result.output and words in result.output
    assert len(result.output.strip().splitlines()) == 1


def test_a_music_file_that_is_not_audio_stops_the_night_before_the_draw(ws: Path, tmp_path: Path) -> None:
    music = tmp_path / "music"
    music.mkdir()
    ffmpeg.run(["-f", "lavfi", "-i", "sine=frequency=440:duration=1", music / "a-good.wav"])
    (music / "b-notes.mp3").write_text("these are my notes, not a song\n")
    _set(ws, "render", f'music_dir = "{music}"')
    result = runner.invoke(app, ["night", "--count", "1", "--config", str(ws)])
    assert result.exit_code == 1, result.output
    out = " ".join(result.output.split())
    assert "render.music_dir" in out and "b-notes.mp3" in out and "nothing was drawn" in out
    assert "a-good.wav" not in out
    _nothing_drawn(ws)


def test_a_zim_path_that_is_not_a_zim_and_a_missing_fonts_dir_are_named(ws: Path, tmp_path: Path) -> None:
    fake = tmp_path / "wikipedia.zim"
    fake.write_bytes(b"PK\x03\x04 this is a zip, not a zim")
    text = ws.read_text().replace("zim_files = []", f'zim_files = ["{fake}"]')
    ws.write_text(text)
    _set(ws, "render", f'fonts_dir = "{tmp_path / "no-fonts-here"}"')
    result = runner.invoke(app, ["night", "--count", "1", "--config", str(ws)])
    assert result.exit_code == 1, result.output
    out = " ".join(result.output.split())
    assert "research.zim_files" in out and "wikipedia.zim" in out and "not a readable ZIM" in out
    assert "render.fonts_dir" in out and "no-fonts-here" in out
    _nothing_drawn(ws)
    doctor = runner.invoke(app, ["doctor", "--config", str(ws)])
    assert doctor.exit_code == 1
    rows = [line for line in doctor.output.splitlines() if "fonts" in line]
    assert rows and all("problem" in line for line in rows[:1]), doctor.output


def test_doctor_checks_music_and_the_credentials_file(ws: Path, tmp_path: Path) -> None:
    music = tmp_path / "music"
    music.mkdir()
    (music / "song.ogg").write_bytes(b"\x00" * 64)
    _set(ws, "render", f'music_dir = "{music}"')
    text = ws.read_text().replace('platforms = ["folder"]', 'platforms = ["folder", "youtube"]')
    ws.write_text(text)
    creds = ws.parent / "credentials.toml"
    creds.write_text('[youtube]\naccess_token = "unterminated\n')
    creds.chmod(0o600)
    result = runner.invoke(app, ["doctor", "--config", str(ws)], env={"COLUMNS": "400"})
    assert result.exit_code == 1
    out = " ".join(result.output.split())
    assert "song.ogg" in out and "credentials.toml" in out and "not valid TOML" in out
    creds.write_text('[youtube]\naccess_token = "planted-token-for-doctor"\n')
    ffmpeg.run(["-y", "-f", "lavfi", "-i", "sine=frequency=440:duration=1", "-c:a", "libvorbis", music / "song.ogg"])
    fine = runner.invoke(app, ["doctor", "--config", str(ws)], env={"COLUMNS": "400"})
    assert "problem" not in fine.output, fine.output
    assert "planted-token-for-doctor" not in fine.output


def test_resume_checks_the_config_before_it_runs_anything(ws: Path, tmp_path: Path) -> None:
    settings = config.load(ws)
    with Store.open(settings.database) as store:
        batch = store.create_batch(store.portrait_ids()[:1], languages=["en"], seed=1)
    _set(ws, "render", f'fonts_dir = "{tmp_path / "gone"}"')
    result = runner.invoke(app, ["resume", "--config", str(ws)])
    assert result.exit_code == 1
    out = " ".join(result.output.split())
    assert "render.fonts_dir" in out and "nothing was resumed" in out
    with Store.open(settings.database) as store:
        assert store.attempts(batch_id=batch) == []
