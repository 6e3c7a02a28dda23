"""vivant.toml: the template parses to the defaults; a bad key or value is one line naming it."""

from __future__ import annotations

import logging
import re
from pathlib import Path

import pytest

from vivant import config
from vivant.config.template import NOT_SET
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


def _uncommented(text: str) -> str:
    """The template with its commented-out sections and keys switched on (keys not set by default stay off)."""
    on = re.compile(r"^# (\[[^\]]+\]|[A-Za-z0-9_\"-]+ = .*)$")
    return "\n".join(
        m.group(1) if (m := on.match(line)) and NOT_SET not in line else line for line in text.splitlines()
    )


def test_the_generated_template_documents_every_key_and_its_commented_values_are_the_defaults(tmp_path: Path) -> None:
    text = config.default_toml()
    keys = config.leaf_keys()
    assert len(keys) > 150
    for key, field in keys:
        assert field.description, f"{key} has no docstring (it is the template's comment)"
        leaf = key.rsplit(".", 1)[-1]
        table = key.rsplit(".", 1)[0].replace(".NAME", ".youtube") if "." in key else ""
        assert re.search(rf"^(# )?\[{re.escape(table)}\]$", text, re.M) or not table, table
        as_table = rf"^(# )?\[{re.escape(key)}\]$"  # a long dict is written as its own table
        assert re.search(rf"^(# )?{leaf} = ", text, re.M) or re.search(as_table, text, re.M), f"{key} is missing"
    # every value shown, commented out or not, is the default
    on = _uncommented(text)
    assert on != text and "[llm]" in on and "# [llm]" in text
    assert config.parse(on, base=tmp_path) == config.Settings().resolved(tmp_path)
    assert not [line for line in text.splitlines() if len(line) > 120 and not line.rstrip().endswith('"')]


def test_template_with_zims_and_music(tmp_path: Path) -> None:
    text = config.default_toml(zim_files=[tmp_path / "a.zim"], music_dir=tmp_path / "music")
    parsed = config.parse(text, base=tmp_path)
    assert parsed.research.zim_files == [tmp_path / "a.zim"] and parsed.render.music_dir == tmp_path / "music"


def test_a_removed_key_is_named_in_a_warning_and_ignored(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    path = tmp_path / "vivant.toml"
    path.write_text("[comfyui]\npoll_interval = 0.5\njob_timeout = 60\n[publish.tiktok]\npoll_seconds = 0\n")
    with caplog.at_level(logging.WARNING, logger="vivant.config"):
        settings = config.load(path)
    assert settings.comfyui.job_timeout == 60
    warned = [r.getMessage() for r in caplog.records]
    assert len(warned) == 2 and all("\n" not in w and str(path) in w for w in warned)
    assert "comfyui.poll_interval is no longer a setting" in warned[0] and "ignored" in warned[0]
    assert "publish.tiktok.poll_seconds" in warned[1]
    # a removed key is no longer in the model: a typo next to it is still refused
    assert all(k not in dict(config.leaf_keys()) for k in config.REMOVED)
    path.write_text("[comfyui]\npoll_intervall = 0.5\n")
    with pytest.raises(ConfigError, match=r"comfyui\.poll_intervall: unknown key"):
        config.load(path)
