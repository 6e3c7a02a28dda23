"""Workflow templates: a ComfyUI API-format export plus bindings by node title, and the preflight.

A user exports a graph from ComfyUI with "Export (API)" and gives some nodes a title holding one or more
``vivant:<placeholder>[.<input>]`` tokens. At run time each bound input receives the value of its
placeholder; a title ``vivant:output`` marks the output node whose files are downloaded. Examples:

- ``LoadImage`` titled ``vivant:image`` receives the uploaded painting (input ``image`` by default);
- ``KSampler`` titled ``vivant:seed`` gets the seed; ``WanFirstLastFrameToVideo`` titled
  ``vivant:width vivant:height vivant:frames_4n1.length`` gets the size and the frame count;
- ``SaveVideo`` titled ``vivant:output``.

Without ``.<input>`` the first input of the node named in :data:`DEFAULT_INPUTS` is used (a primitive node's
``value`` last). :func:`preflight` checks a workflow against a server's ``/object_info`` (classes, input names
and types, links, ranges, combo values such as model file names) and names the workflow, node and value at fault.

This module does no I/O beyond reading the workflow file.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from vivant.backends.comfyui.errors import WorkflowError

FILE_PLACEHOLDERS = frozenset({"image", "end_image", "audio"})
"""Placeholders whose value is a local file, uploaded before the prompt is posted."""

DEFAULT_INPUTS: dict[str, tuple[str, ...]] = {
    "image": ("image", "file"),
    "end_image": ("image", "file"),
    "audio": ("audio", "file"),
    "prompt": ("text", "prompt", "positive_prompt"),
    "negative_prompt": ("text", "negative_prompt", "prompt"),
    "text": ("text", "prompt"),
    "seed": ("seed", "noise_seed"),
    "width": ("width",),
    "height": ("height",),
    "frames": ("length", "amount", "frames", "num_frames", "batch_size"),
    "frames_4n1": ("length", "amount", "frames", "num_frames", "batch_size"),
    "frames_8n1": ("length", "amount", "frames", "num_frames", "batch_size"),
    "fps": ("fps", "frame_rate"),
    "seconds": ("seconds", "duration"),
    "language": ("language", "lang"),
    "voice": ("voice", "speaker"),
}
PLACEHOLDERS = frozenset(DEFAULT_INPUTS)
OUTPUT = "output"
OPTIONS_KEY = "vivant"
"""A top-level key of a workflow file holding its settings for this program (not a node)."""
MODEL_SUFFIXES = (".safetensors", ".ckpt", ".pt", ".pth", ".bin", ".gguf", ".sft", ".onnx")
_TOKEN = re.compile(r"vivant:([a-z0-9_]+)(?:\.([A-Za-z0-9_]+))?")
_UPLOAD_FLAGS = ("image_upload", "video_upload", "audio_upload")


@dataclass(frozen=True)
class Binding:
    placeholder: str
    node: str
    input: str


@dataclass(frozen=True)
class Workflow:
    """One API-format graph with its bindings. ``render`` returns a fresh graph with the values set."""

    name: str
    graph: dict[str, Any]
    bindings: tuple[Binding, ...]
    output_node: str
    path: Path | None = None
    custom_nodes: tuple[str, ...] = field(default=())
    options: dict[str, Any] = field(default_factory=dict)
    """The file's own settings, kept under a top-level ``"vivant"`` key (never sent to ComfyUI), e.g.
    ``{"window": "77f", "fps": 16, "mode": "chained"}`` for a lip-sync workflow."""

    @classmethod
    def load(cls, path: Path) -> Workflow:
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise WorkflowError(f"workflow {path}: no such file") from None
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
            raise WorkflowError(f"workflow {path}: not readable JSON: {e}") from None
        return cls.from_graph(data, name=path.name, path=path)

    @classmethod
    def from_graph(cls, data: Any, *, name: str, path: Path | None = None) -> Workflow:
        if not isinstance(data, dict):
            raise WorkflowError(f"workflow {name}: expected a JSON object of nodes")
        if "nodes" in data and "links" in data:
            raise WorkflowError(f"workflow {name}: this is ComfyUI's UI format; export it with 'Export (API)'")
        options = data.get(OPTIONS_KEY, {})
        if not isinstance(options, dict):
            raise WorkflowError(f"workflow {name}: {OPTIONS_KEY!r} must be an object of settings")
        graph: dict[str, Any] = {}
        for node_id, node in data.items():
            if node_id == OPTIONS_KEY:
                continue
            if not isinstance(node, dict) or "class_type" not in node:
                raise WorkflowError(f"workflow {name}: node {node_id} has no class_type")
            graph[str(node_id)] = node
            node.setdefault("inputs", {})
        bindings: list[Binding] = []
        outputs: list[str] = []
        for node_id, node in graph.items():
            title = str((node.get("_meta") or {}).get("title", ""))
            for placeholder, explicit in _TOKEN.findall(title):
                if placeholder == OUTPUT:
                    outputs.append(node_id)
                    continue
                if placeholder not in PLACEHOLDERS:
                    known = ", ".join(sorted(PLACEHOLDERS | {OUTPUT}))
                    raise WorkflowError(
                        f"workflow {name}: node {node_id} ({node['class_type']}): unknown placeholder "
                        f"'vivant:{placeholder}' (known: {known})"
                    )
                bindings.append(Binding(placeholder, node_id, explicit or _default_input(name, node_id, node,
                                                                                            placeholder)))  # fmt: skip
        if len(outputs) != 1:
            what = "no node is" if not outputs else f"{len(outputs)} nodes are"
            raise WorkflowError(f"workflow {name}: {what} titled 'vivant:output' (exactly one is needed)")
        return cls(name=name, graph=graph, bindings=tuple(bindings), output_node=outputs[0], path=path,
                   options=dict(options))  # fmt: skip

    @property
    def placeholders(self) -> frozenset[str]:
        return frozenset(b.placeholder for b in self.bindings)

    def require(self, offered: Iterable[str], *, role: str) -> None:
        """Fail if the workflow binds a placeholder that ``role`` does not provide."""
        extra = self.placeholders - set(offered)
        if extra:
            raise WorkflowError(
                f"workflow {self.name}: binds {', '.join('vivant:' + p for p in sorted(extra))}, "
                f"which the {role} step does not provide (it provides {', '.join(sorted(offered))})"
            )

    def render(self, values: Mapping[str, Any]) -> dict[str, Any]:
        graph = copy.deepcopy(self.graph)
        for b in self.bindings:
            if b.placeholder not in values:
                raise WorkflowError(f"workflow {self.name}: no value for vivant:{b.placeholder}")
            graph[b.node]["inputs"][b.input] = values[b.placeholder]
        return graph  # titles (_meta) are kept: ComfyUI ignores them

    def model_files(self) -> frozenset[str]:
        """Literal inputs that name model files (the model family this workflow loads)."""
        bound = {(b.node, b.input) for b in self.bindings}
        found = set()
        for node_id, node in self.graph.items():
            for name, value in node["inputs"].items():
                if (node_id, name) not in bound and isinstance(value, str) and value.lower().endswith(MODEL_SUFFIXES):
                    found.add(value)
        return frozenset(found)


def _default_input(wf: str, node_id: str, node: dict[str, Any], placeholder: str) -> str:
    inputs = node.get("inputs", {})
    for candidate in DEFAULT_INPUTS[placeholder]:
        if candidate in inputs:
            return candidate
    if "value" in inputs or str(node["class_type"]).startswith("Primitive"):
        return "value"
    raise WorkflowError(
        f"workflow {wf}: node {node_id} ({node['class_type']}) is titled vivant:{placeholder} but has none of the "
        f"inputs {', '.join(DEFAULT_INPUTS[placeholder])}; name one, e.g. 'vivant:{placeholder}.<input>'"
    )


# -- preflight -------------------------------------------------------------------------------------------------


def _is_link(value: Any) -> bool:
    return isinstance(value, list) and len(value) == 2 and isinstance(value[0], str) and isinstance(value[1], int)


def _spec(info: dict[str, Any], name: str) -> list[Any] | None:
    inputs = info.get("input", {})
    for section in ("required", "optional"):
        got = (inputs.get(section) or {}).get(name)
        if got is not None:
            return list(got) if isinstance(got, list | tuple) else [got]
    return None


def _combo(spec: list[Any]) -> tuple[list[Any] | None, dict[str, Any]]:
    """(options, flags) if the input is a combo (old ``[[...], {...}]`` or v3 ``["COMBO", {"options": ...}]``)."""
    kind = spec[0]
    opts = spec[1] if len(spec) > 1 and isinstance(spec[1], dict) else {}
    if isinstance(kind, list):
        return kind, opts
    if kind == "COMBO":
        return list(opts.get("options", [])), opts
    return None, opts


def preflight(
    wf: Workflow,
    object_info: Mapping[str, Any],
    *,
    check_models: bool = True,
    allow_missing: Iterable[str] = (),
) -> list[str]:
    """Problems of ``wf`` against a server's ``/object_info``; empty when it can run there.

    ``check_models=False`` skips model file names and empty combo lists (a server without model files, as in the
    recorded object_info); ``allow_missing`` lists classes that may be absent (custom nodes checked elsewhere).
    """
    problems: list[str] = []
    allowed_missing = set(allow_missing)
    bound = {(b.node, b.input) for b in wf.bindings}
    bound_files = {(b.node, b.input) for b in wf.bindings if b.placeholder in FILE_PLACEHOLDERS}

    def where(node_id: str, cls: str, name: str | None = None) -> str:
        return f"workflow {wf.name}: node {node_id} ({cls})" + (f" input {name!r}" if name else "")

    has_output_node = False
    for node_id, node in wf.graph.items():
        cls = str(node["class_type"])
        info = object_info.get(cls)
        if not info:
            if cls not in allowed_missing:
                problems.append(f"{where(node_id, cls)}: class {cls!r} is not installed on the server "
                                f"(a custom node, or a newer ComfyUI?)")  # fmt: skip
            else:
                has_output_node = has_output_node or node_id == wf.output_node
            continue
        has_output_node = has_output_node or bool(info.get("output_node"))
        for name, value in node["inputs"].items():
            spec = _spec(info, name)
            if spec is None:
                problems.append(f"{where(node_id, cls, name)}: {cls} has no such input")
                continue
            if _is_link(value):
                problems += _check_link(wf, object_info, node_id, cls, name, spec, value, allowed_missing)
            elif (node_id, name) not in bound:
                problems += _check_literal(where(node_id, cls, name), spec, value, check_models)
            elif (node_id, name) in bound_files:
                options, _flags = _combo(spec)
                if options is None and spec[0] not in ("STRING", "*"):
                    problems.append(f"{where(node_id, cls, name)}: bound to a file but takes {spec[0]}")
        for name in info.get("input", {}).get("required") or {}:
            if name not in node["inputs"] and (node_id, name) not in bound:
                problems.append(f"{where(node_id, cls, name)}: required input is missing")
    out_cls = wf.graph[wf.output_node]["class_type"]
    out_info = object_info.get(out_cls)
    if out_info is not None and not out_info.get("output_node"):
        problems.append(f"{where(wf.output_node, out_cls)}: titled vivant:output but is not an output node")
    if not has_output_node:
        problems.append(f"workflow {wf.name}: no output node")
    return problems


def _check_link(wf: Workflow, object_info: Mapping[str, Any], node_id: str, cls: str, name: str, spec: list[Any],
                value: list[Any], allowed_missing: set[str]) -> list[str]:  # fmt: skip
    src_id, index = value
    here = f"workflow {wf.name}: node {node_id} ({cls}) input {name!r}"
    src = wf.graph.get(src_id)
    if src is None:
        return [f"{here}: linked to node {src_id}, which is not in the workflow"]
    src_info = object_info.get(src["class_type"])
    if src_info is None:
        return []  # reported as a missing class already, or an allowed custom node
    outputs = src_info.get("output") or []
    if not 0 <= index < len(outputs):
        return [f"{here}: linked to output {index} of node {src_id} ({src['class_type']}), which has {len(outputs)}"]
    got = outputs[index]
    want = spec[0]
    options, _ = _combo(spec)
    if options is not None or want == "*" or got == "*" or isinstance(got, list):
        return []
    wanted = {w.strip() for w in str(want).split(",")}
    if str(got) not in wanted:
        return [f"{here}: receives {got} from node {src_id} ({src['class_type']}) but takes {want}"]
    return []


def _check_literal(here: str, spec: list[Any], value: Any, check_models: bool) -> list[str]:
    kind = spec[0]
    opts = spec[1] if len(spec) > 1 and isinstance(spec[1], dict) else {}
    options, flags = _combo(spec)
    if options is not None:
        if any(flags.get(f) for f in _UPLOAD_FLAGS):
            return []  # an input file: checked by the server when the file is there
        if not check_models and (not options or str(value).lower().endswith(MODEL_SUFFIXES)):
            return []
        if value not in options:
            shown = ", ".join(map(str, options[:8])) + (" …" if len(options) > 8 else "") if options else "none"
            what = "the server's files" if str(value).lower().endswith(MODEL_SUFFIXES) else "the allowed values"
            return [f"{here}: {value!r} is not one of {what} ({shown})"]
        return []
    if kind == "INT":
        if isinstance(value, bool) or not isinstance(value, int):
            return [f"{here}: {value!r} is not an INT"]
    elif kind == "FLOAT":
        if isinstance(value, bool) or not isinstance(value, int | float):
            return [f"{here}: {value!r} is not a FLOAT"]
    elif kind == "STRING":
        if not isinstance(value, str):
            return [f"{here}: {value!r} is not a STRING"]
        return []
    elif kind == "BOOLEAN":
        return [] if isinstance(value, bool) else [f"{here}: {value!r} is not a BOOLEAN"]
    else:
        return [f"{here}: takes a {kind} link, got the literal {value!r}"]
    lo, hi = opts.get("min"), opts.get("max")
    if lo is not None and value < lo:
        return [f"{here}: {value} is below the minimum {lo}"]
    if hi is not None and value > hi:
        return [f"{here}: {value} is above the maximum {hi}"]
    return []
