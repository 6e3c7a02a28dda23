"""``vivant models llama-swap``: a llama-swap YAML config from a folder of models.

llama-swap starts one inference server per requested model and swaps them. This module scans a folder:

* every ``*.gguf`` file becomes a llama.cpp model (``llama-server --port ${PORT} --model FILE``); a split model
  (``name-00001-of-00003.gguf``) is one model started from its first part; an ``mmproj*.gguf`` beside a model is
  its vision projector (``--mmproj``), not a model;
* every sub-folder holding ``config.json`` and ``*.safetensors`` becomes a vLLM model
  (``vllm serve DIR --port ${PORT} --served-model-name ID``) or, with ``hf_server="sglang"``,
  an SGLang one (``python -m sglang.launch_server --model-path DIR --port ${PORT} --served-model-name ID``).

Each model gets the TTL and, optionally, a group (``swap``/``exclusive``, llama-swap's documented group keys).
The result is validated by :class:`LlamaSwapConfig` (the documented keys only, their ranges, group members
that exist and belong to one group, a ``cmd`` that uses ``${PORT}`` or a ``proxy``) before it is written.
"""

from __future__ import annotations

import re
import shlex
from pathlib import Path
from typing import Annotated, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from vivant.errors import ConfigError

_SPLIT = re.compile(r"-(\d{5})-of-(\d{5})\.gguf$", re.IGNORECASE)
_ID_BAD = re.compile(r"[^A-Za-z0-9._:-]+")


class SwapModel(BaseModel):
    """One entry of ``models:`` (the keys of llama-swap's documented config that this writer uses)."""

    model_config = ConfigDict(extra="forbid")

    cmd: str = Field(min_length=1)
    name: Annotated[str, Field(max_length=128)] = ""
    description: Annotated[str, Field(max_length=1024)] = ""
    env: list[Annotated[str, Field(pattern=r"^[A-Z_][A-Z0-9_]*=.*$")]] = []
    proxy: str = ""
    aliases: list[Annotated[str, Field(min_length=1)]] = []
    checkEndpoint: Annotated[str, Field(pattern=r"^/.*$|^none$")] = "/health"
    ttl: Annotated[int, Field(ge=-1)] = -1
    useModelName: str = ""
    unlisted: bool = False

    @model_validator(mode="after")
    def _port(self) -> SwapModel:
        if "${PORT}" not in self.cmd and not self.proxy:
            raise ValueError("cmd must use ${PORT} or the model must set proxy")
        return self


class SwapGroup(BaseModel):
    model_config = ConfigDict(extra="forbid")

    swap: bool = True
    exclusive: bool = True
    persistent: bool = False
    members: list[str]


class LlamaSwapConfig(BaseModel):
    """The top level of a llama-swap config (documented keys only)."""

    model_config = ConfigDict(extra="forbid")

    healthCheckTimeout: Annotated[int, Field(ge=15)] = 120
    globalTTL: Annotated[int, Field(ge=0)] = 0
    startPort: Annotated[int, Field(ge=1, le=65535)] = 5800
    logLevel: Literal["debug", "info", "warn", "error"] = "info"
    macros: dict[Annotated[str, Field(pattern=r"^[a-zA-Z0-9_-]{1,63}$")], str | int | float | bool] = {}
    models: dict[str, SwapModel]
    groups: dict[str, SwapGroup] = {}

    @field_validator("macros")
    @classmethod
    def _reserved(cls, v: dict[str, object]) -> dict[str, object]:
        for name in v:
            if name in ("PORT", "MODEL_ID"):
                raise ValueError(f"macro name {name} is reserved")
        return v

    @model_validator(mode="after")
    def _consistent(self) -> LlamaSwapConfig:
        if not self.models:
            raise ValueError("no models")
        ids = set(self.models)
        seen_alias: set[str] = set()
        for model_id, model in self.models.items():
            for alias in model.aliases:
                if alias in ids or alias in seen_alias:
                    raise ValueError(f"alias {alias!r} of {model_id} is not unique")
                seen_alias.add(alias)
        member_of: dict[str, str] = {}
        for group, spec in self.groups.items():
            for member in spec.members:
                if member not in ids:
                    raise ValueError(f"group {group}: {member!r} is not a model")
                if member in member_of:
                    raise ValueError(f"{member!r} is in groups {member_of[member]} and {group} (one group at most)")
                member_of[member] = group
        return self

    def to_yaml(self) -> str:
        data = self.model_dump(exclude_defaults=True)
        data["models"] = {k: m.model_dump(exclude_defaults=True) for k, m in self.models.items()}
        for model_id, model in self.models.items():
            data["models"][model_id]["cmd"] = model.cmd  # always present
        if self.groups:
            data["groups"] = {k: g.model_dump() for k, g in self.groups.items()}  # swap/exclusive spelled out
        header = "# llama-swap config written by `vivant models llama-swap`; edit freely.\n"
        return header + yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=1000)


def model_id(name: str) -> str:
    """A model id from a file or folder name ("Qwen2.5-7B-Instruct-Q4_K_M.gguf" -> "qwen2.5-7b-instruct-q4_k_m")."""
    stem = _SPLIT.sub("", name)
    stem = re.sub(r"\.gguf$", "", stem, flags=re.IGNORECASE)
    return _ID_BAD.sub("-", stem).strip("-").lower() or "model"


def _is_hf_folder(folder: Path) -> bool:
    return (folder / "config.json").is_file() and any(folder.glob("*.safetensors"))


def scan(
    models_dir: Path,
    *,
    ttl: int = 300,
    group: str = "vivant",
    llama_server: str = "llama-server",
    hf_server: Literal["vllm", "sglang"] = "vllm",
    llama_args: str = "",
    hf_args: str = "",
    health_check_timeout: int = 300,
) -> LlamaSwapConfig:
    """Build (and validate) the config for the models found in ``models_dir``."""
    if not models_dir.is_dir():
        raise ConfigError(f"{models_dir}: no such folder (--models-dir)")
    models: dict[str, SwapModel] = {}

    def add(base_id: str, model: SwapModel) -> None:
        key, n = base_id, 2
        while key in models:
            key, n = f"{base_id}-{n}", n + 1
        models[key] = model

    ggufs = sorted(p for p in models_dir.rglob("*.gguf") if p.is_file())
    for path in ggufs:
        if path.name.lower().startswith("mmproj"):
            continue
        split = _SPLIT.search(path.name)
        if split and split.group(1) != "00001":
            continue
        mid = model_id(path.name)
        cmd = [llama_server, "--port", "${PORT}", "--model", str(path.resolve())]
        projector = sorted(p for p in path.parent.glob("mmproj*.gguf") if p.is_file())
        if projector:
            cmd += ["--mmproj", str(projector[0].resolve())]
        line = " ".join(shlex.quote(c) if c != "${PORT}" else c for c in cmd)
        if llama_args:
            line += f" {llama_args}"
        kind = "llama.cpp" + (", vision" if projector else "")
        add(mid, SwapModel(cmd=line, name=path.stem[:128], description=f"{kind}: {path.name}", ttl=ttl))

    folders = sorted({p.parent for p in models_dir.rglob("config.json") if _is_hf_folder(p.parent)})
    for folder in folders:
        mid = model_id(folder.name)
        where = shlex.quote(str(folder.resolve()))
        if hf_server == "vllm":
            line = f"vllm serve {where} --port ${{PORT}} --served-model-name {mid}"
        else:
            line = f"python -m sglang.launch_server --model-path {where} --port ${{PORT}} --served-model-name {mid}"
        if hf_args:
            line += f" {hf_args}"
        add(mid, SwapModel(cmd=line, name=folder.name[:128], description=f"{hf_server}: {folder.name}", ttl=ttl))

    if not models:
        raise ConfigError(f"{models_dir}: no models found (.gguf files, or folders with config.json and .safetensors)")
    try:
        return LlamaSwapConfig(
            healthCheckTimeout=health_check_timeout,
            models=models,
            groups={group: SwapGroup(swap=True, exclusive=True, members=list(models))} if group else {},
        )
    except ValidationError as e:
        first = e.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "config"
        raise ConfigError(f"llama-swap config: {where}: {first['msg']}") from None


def validate_yaml(text: str) -> LlamaSwapConfig:
    """Parse and validate a llama-swap YAML text (used before writing, and by tests)."""
    try:
        data = yaml.safe_load(text)
        return LlamaSwapConfig.model_validate(data)
    except yaml.YAMLError as e:
        raise ConfigError(f"llama-swap config: not valid YAML: {e}") from None
    except ValidationError as e:
        first = e.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "config"
        raise ConfigError(f"llama-swap config: {where}: {first['msg']}") from None


def write_llama_swap(config: LlamaSwapConfig, out: Path) -> str:
    """Validate the YAML text once more and write it through a temporary name; return the text."""
    text = config.to_yaml()
    validate_yaml(text)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.part")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(out)
    return text
