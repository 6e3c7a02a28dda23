"""Fixtures of the ComfyUI tests: a loopback ComfyUI stand-in, a pool with short timeouts, sample inputs."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from vivant.backends.comfyui.pool import ComfyPool
from vivant.backends.ffmpeg import ffmpeg_exe
from vivant.config import ComfySettings

from .server import ComfyTestServer

ROOT = Path(__file__).resolve().parents[2]
STANDIN = ROOT / "workflows" / "standin"


@pytest.fixture
def server(tmp_path: Path) -> Iterator[ComfyTestServer]:
    srv = ComfyTestServer(tmp_path / "comfy").start()
    try:
        yield srv
    finally:
        srv.close()


def fast_settings(*urls: str, **kw: object) -> ComfySettings:
    base: dict[str, object] = {"endpoints": list(urls), "poll_interval": 0.2, "down_after": 1.5, "job_timeout": 20.0,
                               "request_timeout": 3.0, "health_timeout": 10.0}  # fmt: skip
    base.update(kw)
    return ComfySettings.model_validate(base)


@pytest.fixture
def make_pool() -> Iterator[object]:
    pools: list[ComfyPool] = []

    def make(*urls: str, **kw: object) -> ComfyPool:
        pool = ComfyPool(fast_settings(*urls, **kw), client_id=f"test-{len(pools)}")
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
