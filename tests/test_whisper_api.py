"""Step 7 on a transcription server: OpenAI's ``/v1/audio/transcriptions`` form (verbose_json, word timestamps)
served on loopback by faster-whisper itself (tiny.en), as speaches / faster-whisper-server serve it."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Any

import pytest
from fastapi import FastAPI, File, Form, UploadFile

from vivant.backends.openai.transcriber import ApiWhisperTranscriber
from vivant.backends.registry import Roles
from vivant.config import LLMSettings, Settings, VoiceSettings, WhisperSettings
from vivant.roles import Attempt, Painting, Transcriber, running

from .review.helpers import serving
from .test_whisper import SCRIPT, tiny_en  # noqa: F401  (the fixture)


def _app(model_dir: Path, seen: list[dict[str, Any]], *, words: bool = True) -> Any:
    from faster_whisper import WhisperModel

    model = WhisperModel(str(model_dir), device="cpu", compute_type="int8")
    app = FastAPI()

    @app.post("/v1/audio/transcriptions")
    async def transcriptions(
        file: Annotated[UploadFile, File()],
        model_name: Annotated[str, Form(alias="model")],
        language: Annotated[str, Form()] = "",
        prompt: Annotated[str, Form()] = "",
        response_format: Annotated[str, Form()] = "json",
        granularities: Annotated[list[str] | None, Form(alias="timestamp_granularities[]")] = None,
    ) -> dict[str, Any]:
        import io

        data = await file.read()
        seen.append({"model": model_name, "language": language, "format": response_format,
                     "granularities": granularities or [], "prompt": prompt, "bytes": len(data)})  # fmt: skip
        segments, info = model.transcribe(io.BytesIO(data), language=language or None, beam_size=1,
                                          word_timestamps=True, initial_prompt=prompt or None)  # fmt: skip
        segs = list(segments)
        answer: dict[str, Any] = {"task": "transcribe", "language": info.language, "duration": info.duration,
                                  "text": "".join(s.text for s in segs).strip()}  # fmt: skip
        if response_format == "verbose_json":
            answer["segments"] = [{"id": i, "start": s.start, "end": s.end, "text": s.text} for i, s in enumerate(segs)]
            if words and "word" in (granularities or []):
                answer["words"] = [
                    {"word": w.word, "start": w.start, "end": w.end} for s in segs for w in s.words or []
                ]
        return answer

    return app


@pytest.fixture(scope="module")
def narration(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[Any]]:
    from vivant.backends.local.voice import LocalVoice

    wav = tmp_path_factory.mktemp("voice") / "narration.wav"
    timings = LocalVoice(VoiceSettings()).voice_for("en").speak(SCRIPT, "en", wav)
    return wav, timings


@pytest.fixture
def server(tiny_en: Path) -> Iterator[tuple[str, list[dict[str, Any]]]]:  # noqa: F811
    seen: list[dict[str, Any]] = []
    with serving(_app(tiny_en, seen)) as url:
        yield url + "/v1", seen


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_words_from_the_server_keep_the_script_spelling(server: tuple[str, list[dict[str, Any]]],
                                                        narration: tuple[Path, list[Any]]) -> None:  # fmt: skip
    url, seen = server
    wav, voice_timings = narration
    t = ApiWhisperTranscriber(WhisperSettings(base_url=url, model="tiny.en"), LLMSettings())
    assert isinstance(t, Transcriber)
    words = t.align(wav, SCRIPT, "en", voice_timings)
    assert [w.word for w in words] == SCRIPT.split()
    assert t.name == "openai-whisper:tiny.en" and not t.degraded
    drift = [abs(w.start - v.start) for w, v in zip(words, voice_timings, strict=True)]
    assert sorted(drift)[len(drift) // 2] < 0.3, drift
    (request,) = seen
    assert request["model"] == "tiny.en" and request["language"] == "en" and request["format"] == "verbose_json"
    assert "word" in request["granularities"] and request["prompt"] == SCRIPT and request["bytes"] == wav.stat().st_size


Served = tuple[str, list[dict[str, Any]]]
Narration = tuple[Path, list[Any]]


def test_the_llm_servers_by_default_with_failover(server: Served, narration: Narration, tmp_path: Path) -> None:
    url, seen = server
    wav, voice_timings = narration
    settings = Settings().resolved(tmp_path)
    settings.backends.subtitles = "openai"
    settings.whisper.model = "tiny.en"
    dead = f"http://127.0.0.1:{_closed_port()}/v1"
    settings.llm.base_url, settings.llm.endpoints = dead, [url]  # Whisper on the LLM box: the [llm] servers
    transcriber = Roles(settings).transcriber
    assert isinstance(transcriber, ApiWhisperTranscriber)
    words = transcriber.align(wav, SCRIPT, "en", voice_timings)
    assert [w.word for w in words] == SCRIPT.split() and not transcriber.degraded
    assert len(seen) == 1  # the dead server was tried, then the live one took the request
    assert transcriber.client.last_server == url


def test_a_server_without_word_timestamps_falls_back_to_the_voice(tiny_en: Path, narration: Narration) -> None:  # noqa: F811
    wav, voice_timings = narration
    seen: list[dict[str, Any]] = []
    attempt = Attempt(painting=Painting(id=1, key="p", title="t", artist="a", image_path=wav), language="en",
                      out=wav.parent)  # fmt: skip
    with serving(_app(tiny_en, seen, words=False)) as url:
        t = ApiWhisperTranscriber(WhisperSettings(base_url=url + "/v1", model="tiny.en"), LLMSettings())
        with running(attempt):
            words = t.align(wav, SCRIPT, "en", voice_timings)
    assert [w.word for w in words] == SCRIPT.split()
    assert len(seen) == 1 and t.name == "openai-whisper:tiny.en" and not t.degraded
    assert attempt.ran(t.name, t.degraded) == ("openai-whisper:tiny.en->local:voice-timings", True)
