"""``vivant doctor`` asks every LLM server of the pool which models it serves."""

from __future__ import annotations

import socket
from pathlib import Path

from vivant.config import Settings
from vivant.doctor import _llm

from .scripted import Scripted


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_each_server_of_the_pool_is_checked(scripted: Scripted, tmp_path: Path) -> None:
    settings = Settings().resolved(tmp_path)
    assert _llm(settings) == []  # no step uses the LLM
    settings.backends.script = "openai"
    dead = f"http://user:hunter2@127.0.0.1:{_closed_port()}/v1"
    settings.llm.base_url, settings.llm.endpoints = scripted.url, [dead]
    settings.llm.model = "scripted-model"
    found = {f.name: f for f in _llm(settings)}
    assert set(found) == {f"llm {scripted.url}", f"llm http://127.0.0.1:{dead.rsplit(':', 1)[1]}"}
    ok, down = found[f"llm {scripted.url}"], next(f for n, f in found.items() if n != f"llm {scripted.url}")
    assert ok.ok and "scripted-model" in ok.detail
    assert not down.ok and "cannot reach" in down.detail and "hunter2" not in down.detail + down.name


def test_a_model_the_server_does_not_list(scripted: Scripted, tmp_path: Path) -> None:
    settings = Settings().resolved(tmp_path)
    settings.backends.prepare = "openai"
    settings.llm.base_url, settings.llm.model, settings.llm.vision_model = scripted.url, "text", "qwen-vl"
    (finding,) = _llm(settings)
    assert finding.ok and "not qwen-vl" in finding.detail  # one model served: llama.cpp answers any name
