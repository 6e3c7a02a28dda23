"""Builds the roles each step calls from the ``[backends]`` config.

Backends are created lazily (loading a voice or a detector costs time) and once per night. Tests can pass
``overrides`` to put their own implementation behind any role.
"""

from __future__ import annotations

import logging
import threading
from typing import TYPE_CHECKING, Any, Literal

from vivant.config import Settings
from vivant.roles import (
    Gender,
    ImageEditor,
    Inspector,
    Language,
    LipSyncer,
    Researcher,
    Transcriber,
    VideoMaker,
    Voice,
    Writer,
)

if TYPE_CHECKING:
    from vivant.backends.comfyui.roles import ComfyBackends

log = logging.getLogger(__name__)

COMFY_IN_FLIGHT = 64
"""Jobs of one ComfyUI step queued on the servers at once (all of them, for a night of normal size)."""


class Roles:
    """The role implementations for one run; the engine's hooks (:class:`vivant.roles.RunHooks`)."""

    def __init__(self, settings: Settings, overrides: dict[str, Any] | None = None) -> None:
        self.settings = settings
        self._cache: dict[str, Any] = dict(overrides or {})
        self._given = frozenset(self._cache)
        """The overrides' keys: their owner closes them."""
        self._lock = threading.RLock()

    def close(self) -> None:
        """End of a run: close the role objects built here that hold something (pools, clients, loops) and forget
        them, so that a later run builds them again. Overrides are their giver's to close."""
        with self._lock:
            built = [(k, v) for k, v in self._cache.items() if k not in self._given]
            for key, _obj in built:
                del self._cache[key]
        for key, obj in built:
            close = getattr(obj, "close", None)
            if callable(close):
                try:
                    close()
                except Exception as e:  # closing must not hide the run's own outcome
                    log.warning("closing the %s backend failed: %s", key, e)

    def _get(self, key: str, factory: Any) -> Any:
        """The one instance of a role for this run, built on first use (the units of a step running at once
        share it: one writer's facts cache, one inspector's detectors, one client's balancer)."""
        with self._lock:
            if key not in self._cache:
                self._cache[key] = factory()
            return self._cache[key]

    @property
    def inspector(self) -> Inspector:
        if self.settings.backends.prepare == "openai" and "inspector" not in self._cache:
            from vivant.backends.openai_roles import LLMInspector

            llm: Inspector = self._get("inspector", lambda: LLMInspector(self.settings.llm))
            return llm
        from vivant.backends.local.vision import LocalInspector

        obj: Inspector = self._get("inspector", LocalInspector)
        return obj

    @property
    def researcher(self) -> Researcher:
        from vivant.backends.zim import ZimResearcher

        r = self.settings.research
        obj: Researcher = self._get("researcher", lambda: ZimResearcher(r.zim_files, r.max_facts))
        return obj

    @property
    def writer(self) -> Writer:
        if self.settings.backends.script == "openai" and "writer" not in self._cache:
            from vivant.backends.openai_roles import LLMWriter

            llm: Writer = self._get("writer", lambda: LLMWriter(self.settings.llm))
            return llm
        from vivant.backends.local.writer import TemplateWriter

        obj: Writer = self._get("writer", TemplateWriter)
        return obj

    # -- ComfyUI (steps whose backend is "comfyui") -----------------------------------------------------------
    @property
    def comfyui(self) -> ComfyBackends:
        from vivant.backends.comfyui.roles import ComfyBackends

        obj: ComfyBackends = self._get("comfyui", lambda: ComfyBackends(self.settings))
        return obj

    def parallel_units(self, backend: str) -> int:
        """Units of one step the engine may have in flight: a remote queue takes them all at once; an LLM pool
        takes ``[llm] parallel`` requests on each of its servers."""
        if backend == "comfyui":
            return COMFY_IN_FLIGHT
        if backend != "openai":
            return 1
        from vivant.backends.llm import pool_urls

        llm = self.settings.llm
        servers = len(pool_urls(llm.base_url, llm.endpoints))
        speech = self.settings.speech
        if self.settings.backends.audio == "openai" and speech.base_url:  # the speech servers' own pool
            servers = max(servers, len(pool_urls(speech.base_url, speech.endpoints)))
        return llm.parallel * max(1, servers)

    def early_handover(self, backend: str) -> bool:
        """Whether the overlap scheduler may queue a lane's next step behind this one's last running jobs: yes
        for ComfyUI (each server switches models once its old jobs are done), unless servers restart between
        steps."""
        return backend == "comfyui" and not self.settings.comfyui.restart_between_steps

    def enter_step(self, step: str, backend: str) -> None:
        if backend == "comfyui":
            self.comfyui.enter_step(step)

    def preflight(self, steps: list[str]) -> None:
        """Before a batch: check every ComfyUI workflow against its servers; raise naming the first problem."""
        from vivant.backends.comfyui.errors import WorkflowError

        chosen = [s for s in self.comfyui.steps() if s in steps] if self._uses_comfyui() else []
        if not chosen:
            return
        problems = [p for found in self.comfyui.preflight(chosen).values() for p in found]
        if problems:
            more = f" (+{len(problems) - 1} more; see `vivant doctor`)" if len(problems) > 1 else ""
            raise WorkflowError(problems[0] + more)

    def _uses_comfyui(self) -> bool:
        return "comfyui" in self._cache or "comfyui" in self.settings.backends.model_dump().values()

    def voice_for(self, language: Language, gender: Gender = "unclear") -> Voice:
        """The voice that speaks ``language`` for a sitter of ``gender`` (``[voice]``, ``[speech]`` or ComfyUI)."""
        audio = self.settings.backends.audio
        if audio == "comfyui" and "voice" not in self._cache:
            comfy: Voice = self._get(f"voice:comfyui:{language}:{gender}", lambda: self.comfyui.voice(language, gender))
            return comfy
        if audio == "openai" and "voice" not in self._cache:
            from vivant.backends.openai_speech import OpenAISpeech

            s = self.settings
            hears = s.backends.subtitles in ("whisper", "openai")
            server = self._get(
                "speech",
                lambda: OpenAISpeech(s.speech, s.llm, transcriber=lambda: self.transcriber if hears else None),
            )
            spoken: Voice = server.voice_for(language, gender)
            return spoken
        if "voice" in self._cache and not hasattr(self._cache["voice"], "voice_for"):
            plain: Voice = self._cache["voice"]
            return plain
        from vivant.backends.local.voice import LocalVoice

        local = self._get("voice", lambda: LocalVoice(self.settings.voice))
        obj: Voice = local.voice_for(language, gender)
        return obj

    @property
    def transcriber(self) -> Transcriber:
        if self.settings.backends.subtitles == "openai" and "transcriber" not in self._cache:
            from vivant.backends.whisper import ApiWhisperTranscriber

            s = self.settings
            api: Transcriber = self._get("transcriber", lambda: ApiWhisperTranscriber(s.whisper, s.llm))
            return api
        if self.settings.backends.subtitles == "whisper" and "transcriber" not in self._cache:
            from vivant.backends.whisper import WhisperTranscriber

            heard: Transcriber = self._get("transcriber", lambda: WhisperTranscriber(self.settings.whisper))
            return heard
        from vivant.backends.local.timings import VoiceTimings

        obj: Transcriber = self._get("transcriber", VoiceTimings)
        return obj

    def image_editor(self, task: Literal["restore", "realistic"]) -> ImageEditor:
        if getattr(self.settings.backends, task) == "comfyui":
            comfy: ImageEditor = self._get(f"image_editor:{task}", lambda: self.comfyui.image_editor(task))
            return comfy
        from vivant.backends.local.image import LocalImageEditor

        obj: ImageEditor = self._get(f"image_editor:{task}", lambda: LocalImageEditor(task))
        return obj

    def video_maker(self, style: Literal["transition", "outro"]) -> VideoMaker:
        if getattr(self.settings.backends, style) == "comfyui":
            comfy: VideoMaker = self._get(f"video_maker:{style}", lambda: self.comfyui.video_maker(style))
            return comfy
        from vivant.backends.local.video import LocalVideoMaker

        obj: VideoMaker = self._get(f"video_maker:{style}", lambda: self._get("video_maker", LocalVideoMaker))
        return obj

    @property
    def lipsyncer(self) -> LipSyncer:
        if self.settings.backends.lipsync == "comfyui":
            comfy: LipSyncer = self._get("lipsyncer", self.comfyui.lipsyncer)
            return comfy
        from vivant.backends.local.mouth import LocalLipSyncer

        landmarks = self.settings.render.mouth == "landmarks"
        obj: LipSyncer = self._get("lipsyncer", lambda: LocalLipSyncer(landmarks=landmarks))
        return obj
