"""The whole of ``vivant.toml``: :class:`Settings`, its sections, and the workspace's paths."""

from __future__ import annotations

from pathlib import Path

from pydantic import field_validator

from vivant.config.base import Section
from vivant.config.publish import PublishSettings, ReportSettings, ReviewSettings
from vivant.config.servers import ComfySettings, LLMSettings, WhisperSettings
from vivant.config.steps import (
    BackendSettings,
    CatalogSettings,
    ChecksSettings,
    QASettings,
    RenderSettings,
    ResearchSettings,
    RetrySettings,
    SchedulerSettings,
    SpeechSettings,
    VoiceSettings,
)
from vivant.languages import LANGUAGES, Language


class Settings(Section):
    workspace: Path = Path(".")
    """Where the database (vivant.db), batches/, pool/ and reports/ live."""
    catalog: CatalogSettings = CatalogSettings()
    research: ResearchSettings = ResearchSettings()
    languages: list[Language] = list(LANGUAGES)
    """Languages of the videos, in the order they are made."""
    checks: ChecksSettings = ChecksSettings()
    review: ReviewSettings = ReviewSettings()
    publish: PublishSettings = PublishSettings()
    render: RenderSettings = RenderSettings()
    report: ReportSettings = ReportSettings()
    voice: VoiceSettings = VoiceSettings()
    speech: SpeechSettings = SpeechSettings()
    llm: LLMSettings = LLMSettings()
    whisper: WhisperSettings = WhisperSettings()
    retries: RetrySettings = RetrySettings()
    comfyui: ComfySettings = ComfySettings()
    scheduler: SchedulerSettings = SchedulerSettings()
    backends: BackendSettings = BackendSettings()
    qa: QASettings = QASettings()

    @field_validator("languages")
    @classmethod
    def _languages_not_empty(cls, v: list[str]) -> list[str]:
        if not v:
            raise ValueError("at least one language is needed")
        if len(set(v)) != len(v):
            raise ValueError("a language is listed twice")
        return v

    # -- paths inside the workspace ------------------------------------------------------------------
    @property
    def database(self) -> Path:
        return self.workspace / "vivant.db"

    @property
    def batches_dir(self) -> Path:
        return self.workspace / "batches"

    @property
    def pool_dir(self) -> Path:
        return self.workspace / "pool"

    @property
    def reports_dir(self) -> Path:
        return self.workspace / "reports"

    def resolved(self, base: Path) -> Settings:
        """Return a copy whose relative paths are made absolute against ``base``."""

        def fix(p: Path | None) -> Path | None:
            if p is None:
                return None
            p = p.expanduser()
            return p if p.is_absolute() else (base / p).resolve()

        data = self.model_copy(deep=True)
        data.workspace = fix(data.workspace) or base
        data.research.zim_files = [fix(p) or p for p in data.research.zim_files]
        data.render.music_dir = fix(data.render.music_dir)
        data.render.fonts_dir = fix(data.render.fonts_dir)
        data.catalog.images_dir = fix(data.catalog.images_dir)
        data.comfyui.workflows = {k: fix(v) or v for k, v in data.comfyui.workflows.items()}
        data.llm.prompts_dir = fix(data.llm.prompts_dir)
        data.whisper.model_dir = fix(data.whisper.model_dir)
        data.qa.whisper_model_dir = fix(data.qa.whisper_model_dir)
        return data
