"""Issue 16, item 11: a night whose ComfyUI preflight fails stops before it creates a batch or draws a painting,
with one line naming the workflow; the next night draws from the same, untouched catalog."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from tests.conftest import make_workspace, shared_rows
from vivant import config
from vivant.cli import app
from vivant.store import Store

from .conftest import STANDIN
from .server import ComfyTestServer


def test_a_failed_comfyui_preflight_creates_no_batch_and_uses_no_painting(
    server: ComfyTestServer, tmp_path: Path, paintings_dir: Path
) -> None:
    cfg = make_workspace(tmp_path / "ws", shared_rows(paintings_dir, ["vermeer_girl-with-a-pearl-earring.jpg"]))
    bad = tmp_path / "bad.json"
    bad.write_text((STANDIN / "restore.json").read_text().replace('"bicubic"', '"superres"'))
    text = cfg.read_text().replace('restore = "local"', 'restore = "comfyui"')
    cfg.write_text(text + f'\n[comfyui]\nendpoints = ["{server.url}"]\n'
                          f'[comfyui.workflows]\nrestore = "{bad}"\n')  # fmt: skip
    result = CliRunner().invoke(app, ["night", "--count", "1", "--config", str(cfg)])
    assert result.exit_code == 1, result.output
    out = " ".join(result.output.split())
    assert "bad.json" in out and "upscale_method" in out and "nothing was drawn" in out
    assert server.stats.posts == 0
    with Store.open(config.load(cfg).database) as store:
        assert store.batches() == []
        assert len(store.portrait_ids()) == 1
