"""Fixtures of the ComfyUI tests: a loopback ComfyUI stand-in, a pool with short timeouts, sample inputs."""

from __future__ import annotations

import dataclasses
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from vivant.backends.comfyui import pool as pool_module
from vivant.backends.comfyui.client import Timeouts
from vivant.backends.comfyui.pool import ComfyPool
from vivant.backends.ffmpeg import ffmpeg_exe
from vivant.config import ComfySettings

from .server import ComfyTestServer

ROOT = Path(__file__).resolve().parents[2]
STANDIN = ROOT / "src" / "vivant" / "workflows" / "standin"


@pytest.fixture
def server(tmp_path: Path) -> Iterator[ComfyTestServer]:
    srv = ComfyTestServer(tmp_path / "comfy").start()
    try:
        yield srv
    finally:
        srv.close()


FAST = Timeouts(request=3.0, connect=3.0, download_stall=3.0, poll_interval=0.2, down_after=1.5)
"""Short protocol timeouts for loopback servers."""
TIMEOUT_KEYS = {f.name for f in dataclasses.fields(Timeouts)}


@pytest.fixture(autouse=True)
def fast_tuning(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every pool these tests make, a whole night's included, watches its jobs with :data:`FAST`."""
    monkeypatch.setattr(pool_module, "TIMEOUTS", FAST)


def fast_settings(*urls: str, **kw: object) -> ComfySettings:
    base: dict[str, object] = {"endpoints": list(urls), "job_timeout": 20.0}
    base.update(kw)
    return ComfySettings.model_validate(base)


@pytest.fixture
def make_pool() -> Iterator[object]:
    pools: list[ComfyPool] = []

    def make(*urls: str, **kw: object) -> ComfyPool:
        """A pool on ``urls``: keywords are ``[comfyui]`` settings, or :class:`Timeouts` fields."""
        timeouts = dataclasses.replace(FAST, **{k: kw.pop(k) for k in list(kw) if k in TIMEOUT_KEYS})  # type: ignore[arg-type]
        pool = ComfyPool(fast_settings(*urls, **kw), client_id=f"test-{len(pools)}", timeouts=timeouts)
        pools.append(pool)
        return pool

    yield make
    for p in pools:
        p.close()


@pytest.fixture(scope="session")
def image(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("media") / "portrait.png"
    subprocess.run([ffmpeg_exe(), "-y", "-loglevel", "error", "-f", "lavfi", "-i", "testsrc=s=320x400:d=1",
                    "-frames:v", "1", str(out)], check=True)  # fmt: skip
    return out


@pytest.fixture(scope="session")
def wav(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("media") / "speech.wav"
    subprocess.run([ffmpeg_exe(), "-y", "-loglevel", "error", "-f", "lavfi", "-i", "sine=f=220:d=2",
                    "-ar", "22050", "-ac", "1", str(out)], check=True)  # fmt: skip
    return out
