from __future__ import annotations

from pathlib import Path

import pytest

from tests.review.helpers import copy_workspace, night_template


@pytest.fixture(scope="session")
def night(tmp_path_factory: pytest.TempPathFactory, paintings_dir: Path) -> Path:
    return night_template(tmp_path_factory, paintings_dir)


@pytest.fixture
def ws_config(night: Path, tmp_path: Path) -> Path:
    """vivant.toml of a private copy of the finished night."""
    return copy_workspace(night, tmp_path / "ws")
