"""Builds the roles each step calls from the ``[backends]`` config.

Backends are created lazily (loading a voice or a detector costs time) and once per night. Tests can pass
``overrides`` to put their own implementation behind any role.
"""

from __future__ import annotations

from typing import Any, Literal

from vivant.config import Settings
from vivant.roles import (
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


class Roles:
    """The role implementations for one run."""

    def __init__(self, settings: Settings, overrides: dict[str, Any] | None = None) -> None:
        self.settings = settings
        self._cache: dict[str, Any] = dict(overrides or {})

    def _get(self, key: str, factory: Any) -> Any:
        if key not in self._cache:
            self._cache[key] = factory()
        return self._cache[key]

    @property
    def inspector(self) -> Inspector:
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
        from vivant.backends.local.writer import TemplateWriter

        obj: Writer = self._get("writer", TemplateWriter)
        return obj

    def voice_for(self, language: Language) -> Voice:
        if "voice" in self._cache and not hasattr(self._cache["voice"], "voice_for"):
            plain: Voice = self._cache["voice"]
            return plain
        from vivant.backends.local.voice import LocalVoice

        local = self._get("voice", lambda: LocalVoice(self.settings.voice))
        obj: Voice = local.voice_for(language)
        return obj

    @property
    def transcriber(self) -> Transcriber:
        from vivant.backends.local.timings import VoiceTimings

        obj: Transcriber = self._get("transcriber", VoiceTimings)
        return obj

    def image_editor(self, task: Literal["restore", "realistic"]) -> ImageEditor:
        from vivant.backends.local.image import LocalImageEditor

        obj: ImageEditor = self._get(f"image_editor:{task}", lambda: LocalImageEditor(task))
        return obj

    def video_maker(self, style: Literal["transition", "outro"]) -> VideoMaker:
        from vivant.backends.local.video import LocalVideoMaker

        obj: VideoMaker = self._get(f"video_maker:{style}", lambda: self._get("video_maker", LocalVideoMaker))
        return obj

    @property
    def lipsyncer(self) -> LipSyncer:
        from vivant.backends.local.video import LocalLipSyncer

        obj: LipSyncer = self._get("lipsyncer", LocalLipSyncer)
        return obj
