"""Builds the roles each step calls from the ``[backends]`` config and the table of families.

Which family serves which step, and how it builds that step's role, is :data:`vivant.backends.families.FAMILIES`;
this module only caches what the rows build. Backends are created lazily (loading a voice or a detector costs
time) and once per night. Tests can pass ``overrides`` to put their own implementation behind any role (keys:
``inspector``, ``writer``, ``voice``, ``transcriber``, ``lipsyncer``, ``image_editor:<task>``,
``video_maker:<style>``, ``researcher``, ``comfyui``).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Literal, TypeVar

from vivant.backends.families import FAMILIES, STEP_ROLES, Family, check
from vivant.config import Settings
from vivant.errors import ConfigError
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

T = TypeVar("T")


def role_key(step: str) -> str:
    """The cache (and override) key of a step's role: ``inspector``, ``image_editor:restore``..."""
    role = STEP_ROLES[step]
    return f"{role}:{step}" if role in ("image_editor", "video_maker") else role


class Roles:
    """The role implementations for one run."""

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

    def shared(self, key: str, factory: Callable[[], T]) -> T:
        """The one instance under ``key`` for this run, built on first use (the units of a step running at once
        share it: one writer's facts cache, one inspector's detectors, one client's balancer)."""
        with self._lock:
            if key not in self._cache:
                self._cache[key] = factory()
            value: T = self._cache[key]
            return value

    def family(self, name: str, step: str) -> Family:
        """The row of family ``name`` for ``step`` (ConfigError naming ``backends.<step>`` if it cannot serve it)."""
        try:
            return check(step, name)
        except ValueError as e:
            raise ConfigError(f"backends.{step}: {e}") from None

    def family_of(self, step: str) -> Family:
        """The family ``[backends]`` names for ``step``."""
        return self.family(str(getattr(self.settings.backends, step)), step)

    def _role(self, step: str) -> Any:
        family = self.family_of(step)
        return self.shared(role_key(step), lambda: family.makers[step](self, step))

    @property
    def inspector(self) -> Inspector:
        obj: Inspector = self._role("prepare")
        return obj

    @property
    def researcher(self) -> Researcher:
        from vivant.backends.zim import ZimResearcher

        r = self.settings.research
        obj: Researcher = self.shared("researcher", lambda: ZimResearcher(r.zim_files, r.max_facts))
        return obj

    @property
    def writer(self) -> Writer:
        obj: Writer = self._role("script")
        return obj

    @property
    def comfyui(self) -> ComfyBackends:
        """The ComfyUI endpoint pools and workflows of this run (shared by every ``comfyui`` step)."""
        from vivant.backends.comfyui.roles import ComfyBackends

        obj: ComfyBackends = self.shared("comfyui", lambda: ComfyBackends(self.settings))
        return obj

    def voice_for(self, language: Language, gender: Gender = "unclear") -> Voice:
        """The voice that speaks ``language`` for a sitter of ``gender`` (``[voice]``, ``[speech]`` or ComfyUI)."""
        voices = self._role("audio")
        if not hasattr(voices, "voice_for"):  # a test's single Voice
            plain: Voice = voices
            return plain
        obj: Voice = voices.voice_for(language, gender)
        return obj

    @property
    def transcriber(self) -> Transcriber:
        obj: Transcriber = self._role("subtitles")
        return obj

    def image_editor(self, task: Literal["restore", "realistic"]) -> ImageEditor:
        obj: ImageEditor = self._role(task)
        return obj

    def video_maker(self, style: Literal["transition", "outro"]) -> VideoMaker:
        obj: VideoMaker = self._role(style)
        return obj

    @property
    def lipsyncer(self) -> LipSyncer:
        obj: LipSyncer = self._role("lipsync")
        return obj

    # -- the engine's hooks, from the families' rows ----------------------------------------------------------
    def parallel_units(self, backend: str) -> int:
        """Units of one step the engine may have in flight: a remote queue takes them all at once; an LLM pool
        takes ``[llm] parallel`` requests on each of its servers."""
        family = FAMILIES.get(backend)
        return 1 if family is None else family.parallel(self.settings)

    def early_handover(self, backend: str) -> bool:
        """Whether the overlap scheduler may queue a lane's next step behind this one's last running jobs (yes
        for ComfyUI, unless servers restart between steps)."""
        family = FAMILIES.get(backend)
        return family is not None and family.early_handover(self.settings)

    def enter_step(self, step: str, backend: str) -> None:
        family = FAMILIES.get(backend)
        if family is not None and family.enter_step is not None and step in family.makers:
            family.enter_step(self, step)

    def preflight(self, steps: list[str]) -> None:
        """Before a batch: each family used by ``steps`` checks what it needs (ComfyUI: every workflow against
        its servers); raise naming the first problem."""
        by_family: dict[str, list[str]] = {}
        for step in steps:
            if step in STEP_ROLES:
                by_family.setdefault(self.family_of(step).name, []).append(step)
        for name, served in by_family.items():
            hook = self.family(name, served[0]).preflight
            if hook is not None:
                hook(self, served)
