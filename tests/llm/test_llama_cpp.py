"""Against a real OpenAI-compatible server: llama-cpp-python's, serving Gemma 3 270M (a small *base* model).

The model writes poor prose, but with llama.cpp's ``json_object`` + schema form its JSON is constrained, and
``guided`` makes the grammar carry the rules a small model cannot follow from the prompt. What is checked here
is the protocol and the pipeline: schema-valid scripts in both languages, stored sources, a whole night.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest
from pydantic import BaseModel
from typer.testing import CliRunner

from vivant.backends.openai.client import LLMClient
from vivant.cli import app
from vivant.roles import ResearchNotes, Script

from ..backends.test_zim import _write_zim
from ..conftest import make_workspace, shared_rows

pytestmark = pytest.mark.slow
runner = CliRunner()


class Pick(BaseModel):
    colour: str
    count: int


def test_llama_cpp_json_object_with_schema(llama_server: str) -> None:
    client = LLMClient(llama_server, "gemma", structured_output="json_object", max_tokens=60, request_timeout=120)
    assert client.models()
    schema = {
        "type": "object",
        "properties": {"colour": {"type": "string", "enum": ["red", "blue"]}, "count": {"type": "integer"}},
        "required": ["colour", "count"],
        "additionalProperties": False,
    }
    got = client.structured([{"role": "user", "content": "Pick a colour and a count."}], Pick, json_schema=schema)
    assert got.colour in ("red", "blue")


def test_night_with_prepare_and_script_on_llama_cpp(tmp_path: Path, llama_server: str, paintings_dir: Path) -> None:
    zim = _write_zim(tmp_path / "vermeer.zim", prefix="", fulltext=True)
    cfg = make_workspace(tmp_path / "ws", shared_rows(paintings_dir, ["vermeer_girl-with-a-pearl-earring.jpg"]))
    text = cfg.read_text()
    for old, new in [('prepare = "local"', 'prepare = "openai"'), ('script = "local"', 'script = "openai"'),
                     ("zim_files = []", f'zim_files = ["{zim}"]')]:  # fmt: skip
        assert text.count(old) == 1, old
        text = text.replace(old, new)
    text += f"""
[llm]
base_url = "{llama_server}"
model = "gemma-3-270m"
structured_output = "json_object"
guided = true
stream = true
read_timeout = 120.0
request_timeout = 300.0
max_retries = 3

[llm.vision]
# a 270M text-only model cannot see the image: its answer is recorded as checks, the CPU's measures decide
max_people = 10
require_single_portrait = false
allowed_nudity = ["none", "suggestive", "partial", "explicit"]
refuse_child = false
"""
    cfg.write_text(text)
    result = runner.invoke(app, ["night", "--count", "1", "--seed", "1", "--config", str(cfg), "--json"])
    assert result.exit_code == 0, result.output
    status = json.loads(result.output[result.output.index("{") :])
    item = status["items"][0]
    assert item["state"] == "COMPLETE", (item["state"], item.get("reason"))
    assert set(item["videos"]) == {"fr", "en"}

    painting_dir = Path(item["videos"]["en"]).parents[1]
    verdict = json.loads((painting_dir / "0-prepare" / "verdict.json").read_text())
    assert verdict["backend"] == "openai:gemma-3-270m+local:nudenet+opencv"
    assert {"llm_people", "llm_nudity", "llm_child", "head_orientation"} <= {c["name"] for c in verdict["checks"]}
    for lang in ("fr", "en"):
        folder = painting_dir / f"1-script-{lang}"
        script = Script.model_validate_json((folder / "script.json").read_text())  # schema-valid
        assert script.language == lang and "Vermeer" in script.script
        assert len(script.script.split()) <= 150
        notes = ResearchNotes.model_validate_json((folder / "research.json").read_text())
        assert {(s.archive, s.path) for s in notes.sources} >= {
            ("vermeer.zim", "Girl_with_a_Pearl_Earring"),
            ("vermeer.zim", "Johannes_Vermeer"),
        }
        assert script.sources and all(s in notes.sources for s in script.sources)
    con = sqlite3.connect(cfg.parent / "vivant.db")
    try:
        backends = {
            r[0] for r in con.execute("SELECT backend FROM attempts WHERE step IN (0, 1) AND status='SUCCEEDED'")
        }
    finally:
        con.close()
    assert backends == {"openai:gemma-3-270m+local:nudenet+opencv", "libzim+openai:gemma-3-270m"}, backends
