"""The package data (workflows, prompts, templates, phrase banks) ships in the wheel and is found from it."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
import venv
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "src" / "vivant"


def _data_files() -> list[str]:
    """Every file of the package that is not Python source: what the wheel must carry as package data."""
    return sorted(
        str(p.relative_to(PACKAGE.parent))
        for p in PACKAGE.rglob("*")
        if p.is_file() and p.suffix not in (".py", ".pyc") and "__pycache__" not in p.parts
    )


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The wheel built offline from a copy of the sources (a stale build/ folder cannot leak into it)."""
    tree = tmp_path_factory.mktemp("tree")
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(ROOT / name, tree / name)
    shutil.copytree(ROOT / "src", tree / "src", ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
    out = tmp_path_factory.mktemp("wheel")
    cmd = [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--no-index", "-q", "-w",
           str(out), str(tree)]  # fmt: skip
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    (found,) = out.glob("tableau_vivant-*.whl")
    return found


def test_the_wheel_holds_every_data_file(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    wanted = _data_files()
    assert "vivant/workflows/lipsync.json" in wanted and "vivant/workflows/standin/restore.json" in wanted
    assert "vivant/prompts/script.system.txt" in wanted and "vivant/templates/report.html.j2" in wanted
    assert [f for f in wanted if f not in names] == []
    assert "vivant/config/template.py" in names


def test_an_installed_wheel_finds_its_workflows_and_writes_its_template(wheel: Path, tmp_path: Path) -> None:
    """``pip install`` of the wheel into a fresh venv (dependencies from this one), run away from the checkout."""
    env_dir = tmp_path / "venv"
    venv.create(env_dir, with_pip=False)
    python = env_dir / "bin" / "python"
    purelib = Path(subprocess.check_output([python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                                           text=True).strip())  # fmt: skip
    install = [sys.executable, "-m", "pip", "--python", str(python), "install", "--no-deps", "--no-index", "-q",
               str(wheel)]  # fmt: skip
    clean = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME")}
    done = subprocess.run(install, capture_output=True, text=True, timeout=120, env=clean)
    assert done.returncode == 0, done.stderr[-2000:]
    assert list(purelib.glob("tableau_vivant-*.dist-info")), "the wheel was not installed in the new venv"
    # then this environment's packages as plain paths, after its own (the checkout's editable vivant is not seen)
    deps = {sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]}
    (purelib / "deps.pth").write_text("\n".join(sorted(deps)) + "\n")
    probe = """
import sys
from pathlib import Path
import vivant
from vivant.backends.comfyui.roles import COMFY_STEPS, ComfyBackends
from vivant.config import Settings
from vivant.workspace import init_workspace
assert Path(vivant.__file__).is_relative_to(Path(sys.prefix)), vivant.__file__
steps = {s: "comfyui" for s in COMFY_STEPS}
backends = ComfyBackends(Settings(workspace=Path("ws"), backends=steps))
for step in COMFY_STEPS:
    path = backends.workflow_path(step)
    assert path.is_relative_to(Path(sys.prefix)), path
    backends.workflow(step)  # loads it and checks its bindings
config = init_workspace(Path("ws"))
print("ok", len(COMFY_STEPS), config.read_text().count(" = "))
"""
    run = subprocess.run([python, "-I", "-c", probe], capture_output=True, text=True, cwd=tmp_path, timeout=120,
                         env=clean)  # fmt: skip
    assert run.returncode == 0, run.stderr[-3000:]
    assert run.stdout.startswith("ok 6 ")
