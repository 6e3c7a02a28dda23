"""The backend families as one table: which steps each serves, how it builds a step's role, its hooks.

``[backends]`` names a family per step (``audio = "openai"``); :data:`FAMILIES` is the only place that says
which families may serve which step: the config is validated from it (:func:`check`), :class:`~vivant.backends.
registry.Roles` builds every role from it, and the engine's hooks (``parallel_units``, ``early_handover``,
``enter_step``, ``preflight``) read a family's row. A new family is one module (its role implementations) and
one row here.

A row's ``makers`` map each step it serves to a factory ``(roles, step) -> object``: the step's role (an
:class:`~vivant.roles.Inspector` for ``prepare``, an :class:`~vivant.roles.ImageEditor` for ``restore``...; for
``audio``, an object whose ``voice_for(language, gender)`` gives the :class:`~vivant.roles.Voice`). Factories
import their backend modules when called, so this module imports no backend, no step and not the config.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from vivant.backends.registry import Roles
    from vivant.config import Settings
    from vivant.roles import Gender, Voice

STEP_ROLES: dict[str, str] = {
    "prepare": "inspector",
    "script": "writer",
    "audio": "voice",
    "restore": "image_editor",
    "realistic": "image_editor",
    "transition": "video_maker",
    "lipsync": "lipsyncer",
    "subtitles": "transcriber",
    "outro": "video_maker",
    "final": "renderer",
}
"""The ``[backends]`` keys (step names) and the role a step's backend plays for it."""

COMFY_IN_FLIGHT = 64
"""Jobs of one ComfyUI step queued on the servers at once (all of them, for a night of normal size)."""

Maker = Callable[["Roles", str], Any]


def _one(_settings: Settings) -> int:
    return 1


def _never(_settings: Settings) -> bool:
    return False


@dataclass(frozen=True)
class Family:
    """One row of the table: a family of backends and what it offers."""

    name: str
    about: str
    makers: Mapping[str, Maker]
    """Step -> factory of the step's role (see the module's docstring); the steps it serves, in order."""
    resource: str | None = None
    """Where its work runs whatever the step (``cpu``, ``llm``); None: the step's own resource."""
    parallel: Callable[[Settings], int] = _one
    """Units of one step it takes at once (a remote queue or a server pool takes many)."""
    early_handover: Callable[[Settings], bool] = _never
    """Whether a lane may queue its next step behind this step's last running jobs."""
    enter_step: Callable[[Roles, str], None] | None = None
    """Called before a step it serves starts."""
    preflight: Callable[[Roles, list[str]], None] | None = None
    """Before a batch, with the steps it serves in that batch: raise naming the first problem."""

    @property
    def steps(self) -> tuple[str, ...]:
        return tuple(self.makers)

    @property
    def roles(self) -> tuple[str, ...]:
        """The roles it provides (from the steps it serves)."""
        return tuple(dict.fromkeys(STEP_ROLES[s] for s in self.makers))


# -- local: the embedded CPU implementations ------------------------------------------------------------------


def _local_inspector(_roles: Roles, _step: str) -> Any:
    from vivant.backends.local.vision import LocalInspector

    return LocalInspector()


def _local_writer(_roles: Roles, _step: str) -> Any:
    from vivant.backends.local.writer import TemplateWriter

    return TemplateWriter()


def _local_voices(roles: Roles, _step: str) -> Any:
    from vivant.backends.local.voice import LocalVoice

    return LocalVoice(roles.settings.voice)


def _local_image_editor(_roles: Roles, step: str) -> Any:
    from vivant.backends.local.image import LocalImageEditor

    return LocalImageEditor(step)  # type: ignore[arg-type]


def _local_video_maker(roles: Roles, _step: str) -> Any:
    from vivant.backends.local.video import LocalVideoMaker

    return roles.shared("local:video_maker", LocalVideoMaker)  # one for both styles


def _local_lipsyncer(roles: Roles, _step: str) -> Any:
    from vivant.backends.local.mouth import LocalLipSyncer

    return LocalLipSyncer(landmarks=roles.settings.render.mouth == "landmarks")


def _local_transcriber(_roles: Roles, _step: str) -> Any:
    from vivant.backends.local.timings import VoiceTimings

    return VoiceTimings()


def _nothing(_roles: Roles, _step: str) -> None:
    """Step 9 has no role object: it is FFmpeg in the step itself."""


# -- comfyui: workflows on ComfyUI servers ----------------------------------------------------------------------


class _ComfyVoices:
    """ComfyUI's voices, one per (language, gender), as ``voice_for`` gives them."""

    def __init__(self, roles: Roles) -> None:
        self._roles = roles

    def voice_for(self, language: str, gender: Gender = "unclear") -> Voice:
        voice: Voice = self._roles.shared(
            f"voice:comfyui:{language}:{gender}",
            lambda: self._roles.comfyui.voice(language, gender),  # type: ignore[arg-type]
        )
        return voice


def _comfy_role(roles: Roles, step: str) -> Any:
    comfy = roles.comfyui
    if step in ("restore", "realistic"):
        return comfy.image_editor(step)  # type: ignore[arg-type]
    if step in ("transition", "outro"):
        return comfy.video_maker(step)  # type: ignore[arg-type]
    return comfy.lipsyncer()


def _comfy_parallel(settings: Settings) -> int:
    return COMFY_IN_FLIGHT


def _comfy_handover(settings: Settings) -> bool:
    """Each server switches models once its old jobs are done, unless servers restart between steps."""
    return not settings.comfyui.restart_between_steps


def _comfy_enter(roles: Roles, step: str) -> None:
    roles.comfyui.enter_step(step)


def _comfy_preflight(roles: Roles, steps: list[str]) -> None:
    """Every workflow of ``steps`` checked against its servers."""
    from vivant.backends.comfyui.errors import WorkflowError

    problems = [p for found in roles.comfyui.preflight(steps).values() for p in found]
    if problems:
        more = f" (+{len(problems) - 1} more; see `vivant doctor`)" if len(problems) > 1 else ""
        raise WorkflowError(problems[0] + more)


# -- openai: OpenAI-compatible servers (chat, vision, speech, transcriptions) ---------------------------------


def _openai_inspector(roles: Roles, _step: str) -> Any:
    from vivant.backends.openai.inspector import LLMInspector

    return LLMInspector(roles.settings.llm)


def _openai_writer(roles: Roles, _step: str) -> Any:
    from vivant.backends.openai.writer import LLMWriter

    return LLMWriter(roles.settings.llm)


def _openai_voices(roles: Roles, _step: str) -> Any:
    from vivant.backends.openai.speech import OpenAISpeech

    s = roles.settings
    hears = s.backends.subtitles != "local"  # the subtitles' backend hears the narration: its word times
    return OpenAISpeech(s.speech, s.llm, transcriber=lambda: roles.transcriber if hears else None)


def _openai_transcriber(roles: Roles, _step: str) -> Any:
    from vivant.backends.openai.transcriber import ApiWhisperTranscriber

    return ApiWhisperTranscriber(roles.settings.whisper, roles.settings.llm)


def _openai_parallel(settings: Settings) -> int:
    """``[llm] parallel`` requests on each server of the pool (the speech servers' own pool when larger)."""
    from vivant.backends.openai.client import pool_urls

    llm, speech = settings.llm, settings.speech
    servers = len(pool_urls(llm.base_url, llm.endpoints))
    if settings.backends.audio == "openai" and speech.base_url:
        servers = max(servers, len(pool_urls(speech.base_url, speech.endpoints)))
    return llm.parallel * max(1, servers)


# -- whisper: faster-whisper in this process ---------------------------------------------------------------------


def _whisper_transcriber(roles: Roles, _step: str) -> Any:
    from vivant.backends.whisper import WhisperTranscriber

    return WhisperTranscriber(roles.settings.whisper)


FAMILIES: dict[str, Family] = {
    f.name: f
    for f in (
        Family(
            "local",
            "the embedded CPU implementations (vivant.backends.local)",
            {
                "prepare": _local_inspector,
                "script": _local_writer,
                "audio": _local_voices,
                "restore": _local_image_editor,
                "realistic": _local_image_editor,
                "transition": _local_video_maker,
                "lipsync": _local_lipsyncer,
                "subtitles": _local_transcriber,
                "outro": _local_video_maker,
                "final": _nothing,
            },
            resource="cpu",
        ),
        Family(
            "comfyui",
            "workflows on ComfyUI servers ([comfyui])",
            {
                "audio": lambda roles, _step: _ComfyVoices(roles),
                "restore": _comfy_role,
                "realistic": _comfy_role,
                "transition": _comfy_role,
                "lipsync": _comfy_role,
                "outro": _comfy_role,
            },
            parallel=_comfy_parallel,
            early_handover=_comfy_handover,
            enter_step=_comfy_enter,
            preflight=_comfy_preflight,
        ),
        Family(
            "openai",
            "OpenAI-compatible servers ([llm], [speech], [whisper] base_url)",
            {
                "prepare": _openai_inspector,
                "script": _openai_writer,
                "audio": _openai_voices,
                "subtitles": _openai_transcriber,
            },
            resource="llm",
            parallel=_openai_parallel,
        ),
        Family("whisper", "faster-whisper in this process ([whisper])", {"subtitles": _whisper_transcriber}),
    )
}
"""Every family by name; a test or a plug-in may add a row."""


def allowed(step: str) -> list[str]:
    """The families that serve ``step``, in table order."""
    return [f.name for f in FAMILIES.values() if step in f.makers]


def check(step: str, name: str) -> Family:
    """The family ``name`` for ``step``; ValueError (one line, the allowed names) if it does not serve it."""
    family = FAMILIES.get(name)
    if family is None or step not in family.makers:
        what = "is no backend family" if family is None else f"does not serve step {step}"
        raise ValueError(f"{name!r} {what}; choose one of: {', '.join(allowed(step))}")
    return family


def resource(name: str, default: str) -> str:
    """Where a step served by family ``name`` runs: the family's resource, else the step's own (``default``)."""
    family = FAMILIES.get(name)
    return default if family is None or family.resource is None else family.resource
