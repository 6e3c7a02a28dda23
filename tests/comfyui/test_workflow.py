"""Workflow templates: bindings by title, rendering, and the preflight against /object_info."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from vivant.backends.comfyui.errors import WorkflowError
from vivant.backends.comfyui.roles import LIPSYNC_CROSSFADE, OFFERED, frame_counts
from vivant.backends.comfyui.workflow import Workflow, preflight

from .conftest import ROOT, STANDIN
from .server import OBJECT_INFO

DEFAULTS = ROOT / "src" / "vivant" / "workflows"
CUSTOM_NODES = {"audio.json": ["Qwen3TTS"]}
NEWER_THAN_0_3_64 = {
    "lipsync_infinitetalk.json": ["WanInfiniteTalkToVideo"],
    "lipsync_ltx2.json": ["LTXAVTextEncoderLoader", "LTXVAudioVAELoader", "LTXVImgToVideoInplace", "LTXVAudioVAEEncode",
                          "LTXVConcatAVLatent", "LTXVSeparateAVLatent"],
}  # fmt: skip
"""Core classes of later ComfyUI releases, absent from the recorded 0.3.64 /object_info (not checked there)."""


@pytest.fixture(scope="module")
def object_info() -> dict[str, Any]:
    if not OBJECT_INFO.is_file():
        pytest.skip("the recorded object_info is missing")
    data: dict[str, Any] = json.loads(OBJECT_INFO.read_text())
    return data


def test_bindings_by_title_and_render() -> None:
    wf = Workflow.load(STANDIN / "lipsync.json")
    assert wf.output_node == "6"
    assert {(b.placeholder, b.node, b.input) for b in wf.bindings} == {
        ("image", "1", "image"), ("audio", "2", "audio"), ("width", "3", "width"), ("height", "3", "height"),
        ("frames", "4", "amount"), ("fps", "5", "fps"),
    }  # fmt: skip
    graph = wf.render({"image": "vivant/a.png", "audio": "vivant/a.wav", "width": 96, "height": 160, "frames": 33,
                       "fps": 16})  # fmt: skip
    assert graph["4"]["inputs"]["amount"] == 33 and graph["1"]["inputs"]["image"] == "vivant/a.png"
    assert wf.graph["4"]["inputs"]["amount"] == 25, "the template itself is untouched"
    with pytest.raises(WorkflowError, match="no value for vivant:fps"):
        wf.render({"image": "a", "audio": "b", "width": 1, "height": 1, "frames": 1})


def test_explicit_input_and_frame_rounding() -> None:
    wf = Workflow.load(DEFAULTS / "transition.json")
    assert ("frames_4n1", "11", "length") in {(b.placeholder, b.node, b.input) for b in wf.bindings}
    assert ("seed", "12", "noise_seed") in {(b.placeholder, b.node, b.input) for b in wf.bindings}
    assert frame_counts(3.0, 16) == {"frames": 48, "frames_4n1": 49, "frames_8n1": 49}
    assert frame_counts(10.01, 25) == {"frames": 251, "frames_4n1": 253, "frames_8n1": 257}


@pytest.mark.parametrize(
    ("graph", "message"),
    [
        ({"nodes": [], "links": []}, "UI format"),
        ({"1": {"class_type": "SaveImage", "inputs": {}}}, "titled 'vivant:output'"),
        ({"1": {"inputs": {}}}, "node 1 has no class_type"),
        (
            {"1": {"class_type": "SaveImage", "inputs": {}, "_meta": {"title": "vivant:output vivant:colour"}}},
            "unknown placeholder 'vivant:colour'",
        ),
        (
            {
                "1": {"class_type": "ImageInvert", "inputs": {"image": ["2", 0]}, "_meta": {"title": "vivant:seed"}},
                "2": {"class_type": "SaveImage", "inputs": {}, "_meta": {"title": "vivant:output"}},
            },
            "titled vivant:seed but has none of the inputs seed, noise_seed",
        ),
    ],
)
def test_bad_workflows_are_named(graph: dict[str, Any], message: str) -> None:
    with pytest.raises(WorkflowError, match=message):
        Workflow.from_graph(graph, name="mine.json")


def test_step_refuses_a_placeholder_it_cannot_fill() -> None:
    wf = Workflow.load(STANDIN / "lipsync.json")
    with pytest.raises(
        WorkflowError, match="binds vivant:audio, vivant:fps, vivant:frames, which the restore step does not provide"
    ):
        wf.require(OFFERED["restore"], role="restore")


def test_preflight_names_workflow_node_and_value(object_info: dict[str, Any]) -> None:
    graph = json.loads((STANDIN / "restore.json").read_text())
    graph["2"]["inputs"]["upscale_method"] = "superres"
    graph["3"]["inputs"]["sigma"] = 99.0
    graph["3"]["inputs"]["colour"] = 1
    graph["4"]["inputs"]["images"] = ["1", 1]
    graph["5"] = {"class_type": "NoSuchNode", "inputs": {}}
    graph["6"] = {"class_type": "UNETLoader", "inputs": {"unet_name": "flux.safetensors"}}
    problems = preflight(Workflow.from_graph(graph, name="mine.json"), object_info)
    text = "\n".join(problems)
    assert (
        "workflow mine.json: node 2 (ImageScale) input 'upscale_method': 'superres' is not one of the allowed" in text
    )
    assert "node 3 (ImageSharpen) input 'sigma': 99.0 is above the maximum 10.0" in text
    assert "node 3 (ImageSharpen) input 'colour': ImageSharpen has no such input" in text
    assert "node 4 (SaveImage) input 'images': receives MASK from node 1 (LoadImage) but takes IMAGE" in text
    assert "node 5 (NoSuchNode): class 'NoSuchNode' is not installed" in text
    assert "node 6 (UNETLoader) input 'unet_name': 'flux.safetensors' is not one of the server's files (none)" in text
    assert "node 6 (UNETLoader) input 'weight_dtype': required input is missing" in text


@pytest.mark.parametrize("name", sorted(p.name for p in STANDIN.glob("*.json")))
def test_standin_workflows_pass_a_strict_preflight(name: str, object_info: dict[str, Any]) -> None:
    wf = Workflow.load(STANDIN / name)
    wf.require(OFFERED[Path(name).stem], role=Path(name).stem)
    assert preflight(wf, object_info) == []


@pytest.mark.parametrize("name", sorted(p.name for p in DEFAULTS.glob("*.json")))
def test_default_workflows_are_structurally_valid_on_0_3_64(name: str, object_info: dict[str, Any]) -> None:
    """Classes, inputs, links and fixed values against the recorded server; its model lists are empty."""
    wf = Workflow.load(DEFAULTS / name)
    step = Path(name).stem.split("_")[0]
    wf.require(OFFERED[step], role=step)
    missing = [*CUSTOM_NODES.get(name, ()), *NEWER_THAN_0_3_64.get(name, ())]
    assert preflight(wf, object_info, check_models=False, allow_missing=missing) == []
    absent = sorted({str(n["class_type"]) for n in wf.graph.values()} - set(object_info))
    assert absent == sorted(missing), "the README says which classes were not checked"
    assert wf.model_files() or name in CUSTOM_NODES
    assert name in (DEFAULTS / "README.md").read_text()
    for model in wf.model_files():
        assert model in (DEFAULTS / "README.md").read_text(), f"{model} is not documented"


@pytest.mark.parametrize(("name", "frames", "fps"), [("lipsync.json", 77, 16), ("lipsync_infinitetalk.json", 81, 25),
                                                     ("lipsync_ltx2.json", 257, 25)])  # fmt: skip
def test_lipsync_windows_stay_within_the_model(name: str, frames: int, fps: int, tmp_path: Path) -> None:
    """A window given in frames is the model's limit: every job's frame count (window plus crossfade, rounded up
    to the 4n+1 / 8n+1 the workflow binds) stays within it, for a narration of a minute."""
    from vivant.backends.comfyui.roles import ComfyBackends
    from vivant.backends.comfyui.windows import plan
    from vivant.config import Settings
    from vivant.roles import WordTiming

    settings = Settings.model_validate({"workspace": str(tmp_path), "comfyui": {"workflows": {"lipsync": str(
        DEFAULTS / name)}}})  # fmt: skip
    seconds, mode, gen_fps = ComfyBackends(settings).lipsyncer().window_settings()
    assert gen_fps == fps and mode in ("independent", "chained") and 0 < seconds < frames / fps
    words = [WordTiming(word="w", start=0.1 + 0.4 * k, end=0.1 + 0.4 * k + 0.3) for k in range(150)]
    wf = Workflow.load(DEFAULTS / name)
    counted = "frames_8n1" if "frames_8n1" in wf.placeholders else "frames_4n1"
    windows = plan(words, 60.2, seconds, crossfade=LIPSYNC_CROSSFADE, fps=30)
    assert len(windows) > 1
    for w in windows:
        assert frame_counts(w.clip_seconds, fps)[counted] <= frames, (name, w)
