"""The configuration: pydantic models for ``vivant.toml``, loaded once by the CLI and passed down.

Nothing here reads files at import time. :func:`load` turns the TOML file into :class:`Settings` and turns any
validation problem into a :class:`~vivant.errors.ConfigError` whose message is one line naming the key, e.g.
``vivant.toml: checks.min_face_fraction: Input should be less than 1``. Relative paths in the file are
resolved against the folder that holds it. Modules: ``steps`` (the night's sections), ``servers`` (LLM, Whisper,
ComfyUI), ``publish`` (review, publisher, report), ``settings`` (the whole file), ``loading`` (parse, load, find,
removed keys), ``template`` (``vivant init``'s file, generated from the fields' docstrings).
"""

from vivant.config.base import CONFIG_NAME, Section
from vivant.config.loading import REMOVED, find, load, parse
from vivant.config.publish import (
    InstagramSettings,
    PublishPlatform,
    PublishSettings,
    ReportSettings,
    ReviewSettings,
    TikTokSettings,
    YouTubeSettings,
)
from vivant.config.servers import ComfySettings, HeadOrientation, LLMSettings, NudityLevel, VisionRules, WhisperSettings
from vivant.config.settings import Settings
from vivant.config.steps import (
    BackendSettings,
    CatalogSettings,
    ChecksSettings,
    GenderVoices,
    PlatformLimits,
    QASettings,
    RenderSettings,
    ResearchSettings,
    RetrySettings,
    SchedulerSettings,
    SpeechSettings,
    VoiceSettings,
)
from vivant.config.template import default_toml, leaf_keys

__all__ = [
    "CONFIG_NAME",
    "REMOVED",
    "BackendSettings",
    "CatalogSettings",
    "ChecksSettings",
    "ComfySettings",
    "GenderVoices",
    "HeadOrientation",
    "InstagramSettings",
    "LLMSettings",
    "NudityLevel",
    "PlatformLimits",
    "PublishPlatform",
    "PublishSettings",
    "QASettings",
    "RenderSettings",
    "ReportSettings",
    "ResearchSettings",
    "RetrySettings",
    "ReviewSettings",
    "SchedulerSettings",
    "Section",
    "Settings",
    "SpeechSettings",
    "TikTokSettings",
    "VisionRules",
    "VoiceSettings",
    "WhisperSettings",
    "YouTubeSettings",
    "default_toml",
    "find",
    "leaf_keys",
    "load",
    "parse",
]
