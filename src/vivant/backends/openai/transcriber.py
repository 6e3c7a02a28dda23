"""Step 7 on an OpenAI-compatible ``/audio/transcriptions`` server (``[backends] subtitles = "openai"``): Whisper
heard by a server (``verbose_json``, word granularity), the script aligned onto it as with faster-whisper
(:mod:`vivant.backends.whisper`)."""

from __future__ import annotations

import logging
from pathlib import Path

from vivant.backends.openai.client import LLMClient, note_server, pool_client
from vivant.backends.whisper import _Aligning
from vivant.config import LLMSettings, WhisperSettings
from vivant.roles import Language, WordTiming

log = logging.getLogger(__name__)


class ApiWhisperTranscriber(_Aligning):
    """The Transcriber backed by an OpenAI-compatible ``/audio/transcriptions`` server (``backends.subtitles =
    "openai"``): Whisper on the LLM box, or any box. Its servers are ``[whisper] base_url`` + ``endpoints``, or
    the ``[llm]`` ones when ``base_url`` is empty, shared like the LLM's (least loaded, failover)."""

    def __init__(self, settings: WhisperSettings, llm: LLMSettings, *, client: LLMClient | None = None) -> None:
        super().__init__(settings)
        self.client = client or pool_client(settings.base_url, settings.model, settings.endpoints, settings.key(), llm)
        self.base_name = f"openai-whisper:{settings.model}"

    def transcribe(self, audio: Path, language: Language, prompt: str = "") -> list[WordTiming]:
        """Every word the server hears, from its ``words`` (or its segments' words)."""
        answer = self.client.transcribe(audio, language=language, prompt=prompt, model=self.settings.model)
        raw = answer.get("words")
        if not isinstance(raw, list):
            raw = [w for seg in answer.get("segments") or [] if isinstance(seg, dict) for w in seg.get("words") or []]
        heard: list[WordTiming] = []
        for w in raw:
            try:
                word, start, end = str(w["word"]).strip(), float(w["start"]), float(w["end"])
            except (KeyError, TypeError, ValueError):
                continue
            if word and end >= start:
                heard.append(WordTiming(word=word, start=start, end=max(end, start + 0.01)))
        if not heard and str(answer.get("text", "")).strip():
            log.warning("%s: the transcription server gave no word timestamps (only text); it may not support "
                        "timestamp_granularities", audio.name)  # fmt: skip
        note_server(self.client)
        return heard
