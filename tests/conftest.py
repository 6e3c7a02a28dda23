"""Shared fixtures. Tests read real data from ``../shared/data`` beside the project (never copied in)."""

from __future__ import annotations

from pathlib import Path

import pytest

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
