"""vivant.toml: the template parses to the defaults; a bad key or value is one line naming it."""

from __future__ import annotations

from pathlib import Path

import pytest

from vivant import config
from vivant.errors import ConfigError


def test_default_toml_is_the_defaults(tmp_path: Path) -> None:
    parsed = config.parse(config.default_toml(), base=tmp_path)
    assert parsed == config.Settings().resolved(tmp_path)
    assert parsed.languages == ["fr", "en"]
    assert parsed.database == tmp_path / "vivant.db"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("[checks]\nmin_face_fraction = 2\n", "checks.min_face_fraction: Input should be less than 1"),
        ("[checks]\nmin_face_fractio = 0.1\n", "checks.min_face_fractio: unknown key"),
        ("colour = 'red'\n", "colour: unknown key"),
        ("languages = ['fr', 'de']\n", "languages.1: Input should be 'fr' or 'en'"),
        ("languages = []\n", "languages: Value error, at least one language is needed"),
        ("[backends]\nlipsync = 'magic'\n", "backends.lipsync: 'magic' is no backend family; choose one of: local"),
        ("[render]\ncrf = 'high'\n", "render.crf: Input should be a valid integer"),
        ("[render\n", "not valid TOML"),
    ],
)
def test_bad_values_name_the_key(tmp_path: Path, text: str, expected: str) -> None:
    path = tmp_path / "vivant.toml"
    path.write_text(text)
    with pytest.raises(ConfigError) as err:
        config.load(path)
    message = str(err.value)
    assert expected in message
    assert str(path) in message
    assert "\n" not in message


def test_relative_paths_resolve_against_the_config_folder(tmp_path: Path) -> None:
    (tmp_path / "sub").mkdir()
    path = tmp_path / "sub" / "vivant.toml"
    path.write_text('workspace = "ws"\n[research]\nzim_files = ["../a.zim"]\n[render]\nmusic_dir = "music"\n')
    s = config.load(path)
    assert s.workspace == tmp_path / "sub" / "ws"
    assert s.research.zim_files == [tmp_path / "a.zim"]
    assert s.render.music_dir == tmp_path / "sub" / "music"


def test_missing_config_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="no such config file"):
        config.load(tmp_path / "nope.toml")
