"""`vivant models llama-swap`: a folder of models becomes a llama-swap config that its documented keys accept."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from vivant.cli import app
from vivant.errors import ConfigError
from vivant.models_config import LlamaSwapConfig, model_id, scan, validate_yaml

runner = CliRunner()

# The keys llama-swap documents (config-schema.json / config.example.yaml) at the levels this writer uses.
TOP_KEYS = {"healthCheckTimeout", "logLevel", "logTimeFormat", "logToStdout", "metricsMaxInMemory", "captureBuffer",
            "startPort", "sendLoadingState", "includeAliasesInList", "globalTTL", "macros", "apiKeys", "models",
            "groups", "hooks", "peers"}  # fmt: skip
MODEL_KEYS = {"cmd", "cmdStop", "name", "description", "env", "proxy", "aliases", "checkEndpoint", "ttl",
              "unloadTimeout", "useModelName", "filters", "metadata", "concurrencyLimit", "sendLoadingState",
              "unlisted", "macros", "timeouts", "capabilities"}  # fmt: skip
GROUP_KEYS = {"swap", "exclusive", "persistent", "members"}


def _models(folder: Path) -> Path:
    (folder / "gguf").mkdir(parents=True)
    (folder / "gguf" / "gemma-3-270m-Q4_K_M.gguf").write_bytes(b"GGUF")
    (folder / "gguf" / "Qwen2.5 VL 7B.gguf").write_bytes(b"GGUF")
    (folder / "gguf" / "mmproj-qwen.gguf").write_bytes(b"GGUF")
    (folder / "split").mkdir()
    for i in (1, 2):
        (folder / "split" / f"Big-Model-0000{i}-of-00002.gguf").write_bytes(b"GGUF")
    (folder / "Mistral-7B-Instruct").mkdir()
    (folder / "Mistral-7B-Instruct" / "config.json").write_text("{}")
    (folder / "Mistral-7B-Instruct" / "model-00001.safetensors").write_bytes(b"x")
    (folder / "not-a-model").mkdir()
    (folder / "not-a-model" / "config.json").write_text("{}")
    return folder


def test_cli_writes_a_valid_config(tmp_path: Path) -> None:
    models = _models(tmp_path / "models")
    out = tmp_path / "llama-swap.yaml"
    result = runner.invoke(app, ["models", "llama-swap", "--models-dir", str(models), "--out", str(out),
                                 "--ttl", "120", "--hf-server", "sglang"])  # fmt: skip
    assert result.exit_code == 0, result.output
    data = yaml.safe_load(out.read_text())
    assert set(data) <= TOP_KEYS and data["healthCheckTimeout"] >= 15
    assert set(data["models"]) == {"gemma-3-270m-q4_k_m", "qwen2.5-vl-7b", "big-model", "mistral-7b-instruct"}
    for mid, spec in data["models"].items():
        assert set(spec) <= MODEL_KEYS, mid
        assert "${PORT}" in spec["cmd"] and spec["ttl"] == 120
    qwen = data["models"]["qwen2.5-vl-7b"]["cmd"]
    assert qwen.startswith("llama-server --port ${PORT} --model ") and "'" in qwen  # the space is quoted
    assert "--mmproj " + str((models / "gguf" / "mmproj-qwen.gguf").resolve()) in qwen
    assert data["models"]["big-model"]["cmd"].endswith("Big-Model-00001-of-00002.gguf")
    mistral = data["models"]["mistral-7b-instruct"]["cmd"]
    assert mistral.startswith("python -m sglang.launch_server --model-path ")
    assert mistral.endswith("--port ${PORT} --served-model-name mistral-7b-instruct")
    group = data["groups"]["vivant"]
    assert set(group) <= GROUP_KEYS and group["swap"] is True and group["exclusive"] is True
    assert sorted(group["members"]) == sorted(data["models"])
    assert isinstance(validate_yaml(out.read_text()), LlamaSwapConfig)


def test_vllm_by_default_and_no_group(tmp_path: Path) -> None:
    cfg = scan(_models(tmp_path / "m"), group="", ttl=0)
    assert cfg.groups == {} and cfg.models["mistral-7b-instruct"].cmd.startswith("vllm serve ")
    assert "groups" not in yaml.safe_load(cfg.to_yaml())


def test_validation_refuses_what_llama_swap_refuses(tmp_path: Path) -> None:
    good = {"models": {"a": {"cmd": "llama-server --port ${PORT} -m a.gguf"}}}
    validate_yaml(yaml.safe_dump(good))
    bad = [
        ({"models": {"a": {"cmd": "llama-server --port 8080"}}}, "cmd must use ${PORT}"),
        ({"models": {"a": {"cmd": "x ${PORT}", "ttl": -2}}}, "models.a.ttl"),
        ({"models": {"a": {"cmd": "x ${PORT}", "checkEndpoint": "health"}}}, "checkEndpoint"),
        ({"models": {"a": {"cmd": "x ${PORT}", "colour": 1}}}, "models.a.colour"),
        ({**good, "groups": {"g": {"members": ["b"]}}}, "'b' is not a model"),
        ({**good, "groups": {"g": {"members": ["a"]}, "h": {"members": ["a"]}}}, "one group at most"),
        ({**good, "healthCheckTimeout": 5}, "healthCheckTimeout"),
        ({**good, "macros": {"PORT": "1"}}, "reserved"),
        ({"models": {}}, "no models"),
    ]
    for data, message in bad:
        with pytest.raises(ConfigError, match=message.replace("$", r"\$").replace("{", r"\{").replace("}", r"\}")):
            validate_yaml(yaml.safe_dump(data))


def test_empty_or_missing_folder(tmp_path: Path) -> None:
    result = runner.invoke(app, ["models", "llama-swap", "--models-dir", str(tmp_path)])
    assert result.exit_code != 0 and "no models found" in result.output
    with pytest.raises(ConfigError, match="no such folder"):
        scan(tmp_path / "nope")
    assert model_id("Llama 3.2 (1B) Q4.gguf") == "llama-3.2-1b-q4"


def test_prompts_are_copied_for_editing(tmp_path: Path) -> None:
    result = runner.invoke(app, ["models", "prompts", str(tmp_path / "p")])
    assert result.exit_code == 0, result.output
    names = sorted(p.name for p in (tmp_path / "p").iterdir())
    assert "script.user.txt" in names and "facts.user.txt" in names and "vision.user.txt" in names
