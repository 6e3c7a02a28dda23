"""The preflight: every configured path and value a night needs, checked before any work.

``vivant night`` runs :func:`before_night` before it creates a batch or draws a painting: a bad ``music_dir``,
a ZIM path that is not a ZIM archive, a missing ``fonts_dir`` or a ComfyUI workflow its server cannot run stops
the night with one line naming the key and the file, and nothing is drawn (no painting is counted as used).
``vivant doctor`` shows the same checks (:func:`config_checks`) beside its own.

Each check gives :class:`Finding`\\ s; nothing here prints. Values pydantic can judge alone (``render.width``
and ``height`` positive and even) are refused when ``vivant.toml`` is loaded; the checks here need the disk,
ffmpeg or libzim.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from vivant.config import Settings
from vivant.errors import ConfigError, VivantError

if TYPE_CHECKING:
    from vivant.backends.registry import Roles

MAX_MUSIC_PROBES = 200
"""Music files probed at most (a large library is sampled in name order; the rest are read when used)."""


@dataclass(frozen=True)
class Finding:
    name: str
    ok: bool
    detail: str


class PreflightError(ConfigError):
    """The configuration names something a night cannot use; nothing was drawn."""


def _render(settings: Settings) -> list[Finding]:
    r = settings.render
    bad = [f"render.{k} = {v}: must be a positive even number of pixels"
           for k, v in (("width", r.width), ("height", r.height)) if v <= 0 or v % 2]  # fmt: skip
    if bad:
        return [Finding("render", False, "; ".join(bad))]
    return [Finding("render", True, f"{r.width}x{r.height} at {r.fps} fps")]


def _music(settings: Settings) -> list[Finding]:
    from vivant.backends.ffmpeg import FFmpegError, probe
    from vivant.render import MUSIC_SUFFIXES

    folder = settings.render.music_dir
    if folder is None:
        return [Finding("music", True, "no music_dir: a quiet generated ambient bed")]
    if not folder.is_dir():
        return [Finding("music", False, f"render.music_dir: {folder} is not a folder")]
    try:
        files = sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in MUSIC_SUFFIXES)
    except OSError as e:
        return [Finding("music", False, f"render.music_dir: {folder}: cannot read: {e.strerror or e}")]
    if not files:
        kinds = "/".join(s.lstrip(".") for s in MUSIC_SUFFIXES)
        return [Finding("music", False, f"render.music_dir: {folder} holds no {kinds} file")]
    bad: list[str] = []
    for f in files[:MAX_MUSIC_PROBES]:
        try:
            info = probe(f)
        except (FFmpegError, OSError):
            bad.append(f"{f}: not an audio file ffmpeg can read")
            continue
        if info.audio_codec is None or info.duration <= 0:
            bad.append(f"{f}: no audio in it")
    if bad:
        more = f" (+{len(bad) - 1} more bad file(s))" if len(bad) > 1 else ""
        return [Finding("music", False, f"render.music_dir: {bad[0]}{more}")]
    checked = min(len(files), MAX_MUSIC_PROBES)
    return [Finding("music", True, f"{len(files)} track(s) in {folder} ({checked} read)")]


def _zim(settings: Settings) -> list[Finding]:
    files = settings.research.zim_files
    if not files:
        return [Finding("zim", True, "no ZIM archive configured: scripts use the catalog's metadata only")]
    from vivant.backends.zim import ZimResearcher

    found: list[Finding] = []
    for f in files:
        try:
            ZimResearcher._open(Path(f))
        except VivantError as e:
            found.append(Finding("zim", False, f"research.zim_files: {e}"))
        else:
            found.append(Finding("zim", True, str(f)))
    return found


def _fonts(settings: Settings) -> list[Finding]:
    from vivant.backends.local.fonts import FONT_SUFFIXES, find_fonts_dir

    configured = settings.render.fonts_dir
    if configured is not None:
        if not configured.is_dir():
            return [Finding("fonts", False, f"render.fonts_dir: {configured} is not a folder")]
        try:
            fonts = [p for p in configured.iterdir() if p.is_file() and p.suffix.lower() in FONT_SUFFIXES]
        except OSError as e:
            return [Finding("fonts", False, f"render.fonts_dir: {configured}: cannot read: {e.strerror or e}")]
        if not fonts:
            return [Finding("fonts", False, f"render.fonts_dir: {configured} holds no .ttf/.otf font")]
        return [Finding("fonts", True, f"{len(fonts)} font(s) in {configured}")]
    try:
        return [Finding("fonts", True, f"{find_fonts_dir(None)} (default)")]
    except ConfigError as e:
        return [Finding("fonts", False, str(e))]


def _folders(settings: Settings) -> list[Finding]:
    """Other configured folders a night reads: images_dir, prompts_dir, the Whisper model, ComfyUI workflows."""
    found: list[Finding] = []
    b = settings.backends
    wanted: list[tuple[str, Path | None]] = [
        ("catalog.images_dir", settings.catalog.images_dir),
        ("llm.prompts_dir", settings.llm.prompts_dir if "openai" in (b.prepare, b.script) else None),
        ("whisper.model_dir", settings.whisper.model_dir if b.subtitles == "whisper" else None),
    ]
    for key, folder in wanted:
        if folder is not None and not folder.is_dir():
            found.append(Finding("paths", False, f"{key}: {folder} is not a folder"))
    comfy_steps = {k for k, v in b.model_dump().items() if v == "comfyui"}
    for step, path in sorted(settings.comfyui.workflows.items()):
        if step in comfy_steps and not path.is_file():
            found.append(Finding("paths", False, f"comfyui.workflows.{step}: {path}: no such file"))
    return found


def _credentials(settings: Settings) -> list[Finding]:
    platforms = [p for p in settings.publish.platforms if p != "folder"]
    if not platforms:
        return []
    from vivant.publish.credentials import load

    try:
        creds = load(settings, required=True)
    except VivantError as e:
        return [Finding("credentials", False, str(e))]
    missing = [p for p in platforms if creds.get(p, "access_token") is None and creds.get(p, "refresh_token") is None]
    if missing:
        names = ", ".join(f"[{p}]" for p in missing)
        return [Finding("credentials", False, f"{creds.source}: no access_token (or refresh_token) in {names}")]
    if "instagram" in platforms and creds.get("instagram", "user_id") is None:
        return [Finding("credentials", False, f"{creds.source}: [instagram] user_id is missing")]
    return [Finding("credentials", True, f"{creds.source}: {', '.join(platforms)}")]


NIGHT_CHECKS: list[Callable[[Settings], list[Finding]]] = [_render, _fonts, _music, _zim, _folders]
"""What a night needs (the credentials are the publisher's)."""


def config_checks(settings: Settings, *, publishing: bool = True) -> list[Finding]:
    """Every configured path and value, as findings (``publishing``: also the credentials file)."""
    findings: list[Finding] = []
    for check in [*NIGHT_CHECKS, *([_credentials] if publishing else [])]:
        try:
            findings.extend(check(settings))
        except Exception as e:  # one check that cannot run is one problem, not the end of the others
            findings.append(Finding(check.__name__.lstrip("_"), False, f"{type(e).__name__}: {e}"))
    return findings


def before_night(settings: Settings, roles: Roles | None = None, steps: list[str] | None = None, *,
                 nothing: str = "nothing was drawn") -> None:  # fmt: skip
    """Raise :class:`PreflightError` naming every problem (one line) before anything is drawn; then let the
    backends check themselves (ComfyUI workflows against their servers). ``nothing`` says what did not happen."""
    problems = [f.detail for f in config_checks(settings, publishing=False) if not f.ok]
    if problems:
        raise PreflightError(f"preflight: {'; '.join(problems)} ({nothing}; fix vivant.toml and run again)")
    if roles is not None:
        from vivant.steps import STEPS

        try:
            roles.preflight(steps or [s.name for s in STEPS])
        except VivantError as e:
            raise PreflightError(f"preflight: {e} ({nothing}; `vivant doctor` shows every problem)") from None
