"""The table of backend families: every row builds its roles, ``[backends]`` is checked from it, a row is enough."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from vivant import config
from vivant.backends import families
from vivant.backends.families import FAMILIES, STEP_ROLES, Family
from vivant.backends.registry import Roles
from vivant.config import BackendSettings, Settings
from vivant.errors import ConfigError
from vivant.roles import ImageEditor, Inspector, LipSyncer, Transcriber, VideoMaker, Writer

PROTOCOLS: dict[str, Any] = {
    "inspector": Inspector,
    "writer": Writer,
    "image_editor": ImageEditor,
    "video_maker": VideoMaker,
    "lipsyncer": LipSyncer,
    "transcriber": Transcriber,
}


def test_the_table_names_every_backends_key_and_only_those() -> None:
    assert set(BackendSettings.model_fields) == set(STEP_ROLES)
    for family in FAMILIES.values():
        assert family.steps, family.name
        assert set(family.steps) <= set(STEP_ROLES), family.name
        assert set(family.roles) == {STEP_ROLES[s] for s in family.steps}
    from vivant.backends.comfyui.roles import OFFERED

    assert set(OFFERED) == set(FAMILIES["comfyui"].steps)  # each ComfyUI step has its placeholders
    assert families.allowed("final") == ["local"]
    assert families.allowed("audio") == ["local", "comfyui", "openai"]
    assert families.allowed("subtitles") == ["local", "openai", "whisper"]


@pytest.mark.parametrize("name", list(FAMILIES))
def test_every_row_builds_each_role_it_declares(name: str, tmp_path: Path) -> None:
    family = FAMILIES[name]
    chosen = dict.fromkeys(family.steps, name)
    settings = Settings.model_validate(
        {
            "workspace": str(tmp_path),
            "backends": chosen,
            "llm": {"base_url": "http://127.0.0.1:9/v1"},
            "whisper": {"model_dir": str(tmp_path)},  # not loaded before the first transcription
        }
    )
    roles = Roles(settings)
    for step in family.steps:
        role = STEP_ROLES[step]
        assert roles.family_of(step) is family
        obj = family.makers[step](roles, step)
        if role == "voice":
            assert callable(getattr(obj, "voice_for", None)), step
        elif role == "renderer":
            assert obj is None  # step 9 is FFmpeg in the step itself
        else:
            assert isinstance(obj, PROTOCOLS[role]), (name, step, obj)
    # the registry hands the same rows' objects out, once per run
    if "restore" in family.steps:
        assert roles.image_editor("restore") is roles.image_editor("restore")
    if "prepare" in family.steps:
        assert isinstance(roles.inspector, Inspector)
    assert roles.parallel_units(name) >= 1


def test_an_unknown_family_is_one_line_naming_the_key_and_the_choices(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as err:
        config.parse('[backends]\naudio = "bark"\n', base=tmp_path)
    message = str(err.value)
    assert "\n" not in message
    assert "backends.audio: 'bark' is no backend family; choose one of: local, comfyui, openai" in message

    with pytest.raises(ConfigError) as err:
        config.parse('[backends]\nprepare = "comfyui"\n', base=tmp_path)
    assert "backends.prepare: 'comfyui' does not serve step prepare; choose one of: local, openai" in str(err.value)


class _Editor:
    name = "fake:editor"
    degraded = False

    def edit(self, image: Path, out: Path, *, task: str) -> None:
        out.write_bytes(image.read_bytes())


def test_a_family_added_as_one_row_is_picked_up(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    seen: dict[str, Any] = {}

    def preflight(roles: Roles, steps: list[str]) -> None:
        seen["preflight"] = steps

    row = Family(
        "fake",
        "a test's family",
        {"restore": lambda _roles, _step: _Editor(), "realistic": lambda _roles, _step: _Editor()},
        resource="gpu",
        parallel=lambda _settings: 3,
        early_handover=lambda _settings: True,
        enter_step=lambda _roles, step: seen.setdefault("entered", []).append(step),
        preflight=preflight,
    )
    with pytest.raises(ConfigError):
        config.parse('[backends]\nrestore = "fake"\n', base=tmp_path)
    monkeypatch.setitem(FAMILIES, "fake", row)

    settings = config.parse('[backends]\nrestore = "fake"\n', base=tmp_path)
    roles = Roles(settings)
    assert isinstance(roles.image_editor("restore"), _Editor)
    assert type(roles.image_editor("realistic")).__name__ == "LocalImageEditor"  # the other step stays local
    assert roles.parallel_units("fake") == 3 and roles.early_handover("fake")
    assert families.resource("fake", "cpu") == "gpu" and families.resource("local", "gpu") == "cpu"
    roles.enter_step("restore", "fake")
    roles.preflight(["prepare", "restore", "realistic", "final"])
    assert seen == {"entered": ["restore"], "preflight": ["restore"]}
    with pytest.raises(ConfigError, match=r"backends\.lipsync: 'fake' does not serve step lipsync"):
        config.parse('[backends]\nlipsync = "fake"\n', base=tmp_path)
