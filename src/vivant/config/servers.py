"""The sections of ``vivant.toml`` for remote servers: the OpenAI-compatible LLM, Whisper and ComfyUI."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import Field, SecretStr

from vivant.config.base import Section, secret_of

NudityLevel = Literal["none", "suggestive", "partial", "explicit"]
HeadOrientation = Literal["frontal", "three-quarter", "profile", "unknown"]


class VisionRules(Section):
    """How step 0 combines the vision model's verdict with the CPU measures (``backends.prepare = "openai"``)."""

    max_people: Annotated[int, Field(ge=1)] = 1
    """More people than this (as the model counts them): refused."""
    allowed_nudity: list[NudityLevel] = ["none", "suggestive"]
    """Nudity levels that pass, of none, suggestive, partial, explicit."""
    refuse_child: bool = True
    """Refuse when the model sees a child or an apparent age group of "child"."""
    require_single_portrait: bool = True
    """Refuse what the model does not call a single portrait."""
    min_confidence: Annotated[float, Field(ge=0, le=1)] = 0.5
    """Below this, the model's people count is not trusted (the CPU's is used); its safety flags still count."""
    allowed_orientations: list[HeadOrientation] = ["frontal", "three-quarter", "profile", "unknown"]
    """Head orientations (measured on the CPU from the face detectors) that may be animated."""


class LLMSettings(Section):
    """An OpenAI-compatible server (vLLM, SGLang, llama.cpp, Ollama, llama-swap) for steps 0 and 1."""

    base_url: str = "http://127.0.0.1:8080/v1"
    """The OpenAI-compatible server (vLLM, SGLang, llama.cpp, Ollama, llama-swap)."""
    endpoints: list[str] = []
    """More servers serving the same models; steps 0 and 1 share their requests with ``base_url`` (each request
    goes to the least loaded one that answers). Adding a box is one URL here."""
    parallel: Annotated[int, Field(ge=1, le=256)] = 1
    """Requests in flight on each server at once: vLLM and SGLang batch them (8-32 is common); llama.cpp needs
    ``--parallel N``, Ollama ``OLLAMA_NUM_PARALLEL``."""
    model: str = "default"
    """The model name the server knows."""
    vision_model: str = ""
    """Model for step 0's image check (empty: ``model``); it must accept images."""
    api_key: SecretStr | None = None
    """The server's key (better: ``api_key_env``)."""
    api_key_env: str = ""
    """Name of an environment variable holding the key (keeps it out of this file)."""
    read_timeout: Annotated[float, Field(gt=0)] = 120.0
    """Longest silence between two bytes of an answer."""
    request_timeout: Annotated[float, Field(gt=0)] = 300.0
    """Total time for one answer, streamed or not."""
    structured_output: Literal["json_schema", "json_object", "plain"] = "json_schema"
    """json_schema: vLLM, SGLang, Ollama /v1; json_object: llama.cpp's {"type": "json_object", "schema": ...}."""
    max_retries: Annotated[int, Field(ge=0, le=10)] = 2
    """Extra tries with the validation error fed back, per call."""
    temperature: Annotated[float, Field(ge=0, le=2)] = 0.7
    """Sampling temperature of the script."""
    max_tokens: Annotated[int, Field(ge=16)] = 1024
    """Longest answer."""
    stream: bool = False
    """Stream answers (a slow model then never meets ``read_timeout`` between two tokens)."""
    extra_body: dict[str, Any] = {}
    """Extra fields of every request (e.g. ``top_p``, ``chat_template_kwargs``)."""
    prompts_dir: Path | None = None
    """A folder of prompt templates overriding the packaged ones (same file names)."""
    guided: bool = False
    """For small models: the schema sent to the server also does what a grammar can (facts picked from the
    notes by number, the script opening in the first person, naming the painter, without digits, shorter)."""
    fallback: Literal["none", "template"] = "none"
    """When the model's script never validates: fail the attempt, or use the template writer (recorded degraded)."""
    vision: VisionRules = VisionRules()

    def key(self) -> SecretStr | None:
        return secret_of(self.api_key_env, self.api_key)


class WhisperSettings(Section):
    """Whisper for step 7: faster-whisper in this process (``backends.subtitles = "whisper"``), or a server's
    OpenAI-compatible ``/audio/transcriptions`` (``"openai"``: speaches/faster-whisper-server, LocalAI, vLLM)."""

    model_dir: Path | None = None
    """A CTranslate2 Whisper model folder (model.bin, config.json, tokenizer.json)."""
    device: Literal["cpu", "cuda", "auto"] = "cpu"
    """Where faster-whisper runs."""
    compute_type: str = "int8"
    """CTranslate2 compute type (int8 on CPU, float16 on a GPU)."""
    min_matched: Annotated[float, Field(ge=0, le=1)] = 0.3
    """Below this share of script words heard, the voice's own timings are used instead (recorded)."""
    base_url: str = ""
    """``"openai"``: the transcription server (e.g. "http://llm-box:8000/v1"); empty: the ``[llm]`` servers."""
    endpoints: list[str] = []
    """More transcription servers sharing the work (with ``base_url``)."""
    model: str = "whisper-1"
    """``"openai"``: the model name the server knows (e.g. "Systran/faster-whisper-small")."""
    api_key: SecretStr | None = None
    """The transcription server's key (better: ``api_key_env``)."""
    api_key_env: str = ""
    """Name of an environment variable holding the key."""

    def key(self) -> SecretStr | None:
        return secret_of(self.api_key_env, self.api_key)


class ComfySettings(Section):
    """ComfyUI servers (``backends.<step> = "comfyui"``): endpoints, workflows, job timeout and restarts."""

    endpoints: list[str] = ["http://127.0.0.1:8188"]
    """ComfyUI servers of the GPU resource sharing each step's jobs (each job goes to the one that answers with
    the least work outstanding). Adding a GPU box is one URL here."""
    pools: dict[Literal["cpu", "gpu", "llm"], list[str]] = {}
    """ComfyUI servers of other resources: a ComfyUI step mapped to one in ``[scheduler.resources]`` is sent to
    these, e.g. ``llm = ["http://llm-box:8188"]`` with ``audio = "llm"`` for a TTS ComfyUI on the LLM box.
    A resource not listed uses ``endpoints``."""
    queue_depth: Annotated[int, Field(ge=0, le=1024)] = 2
    """With several servers in a pool: jobs queued on each at once (the running one and the next); the rest
    wait here and go to whichever server frees a place first, so a faster GPU takes more. 0: queue every job
    at once, split by estimated work. One server always gets every job at once."""
    workflows: dict[str, Path] = {}
    """API-format workflow per step (audio, restore, realistic, transition, lipsync, outro); default: the
    packaged ``vivant/workflows/<step>.json``."""
    job_timeout: Annotated[float, Field(gt=0)] = 1800.0
    """A job still unfinished this many seconds after it started running is interrupted (and retried by the
    engine); time queued behind other jobs does not count."""
    free_between_steps: bool = True
    """POST /free (unload models, free memory) on a server when its next job loads other model files (sent while
    its last job of the old models runs, so the server frees them right after it)."""
    restart_command: str = ""
    """Run to restart a server ({url}, {host}, {port} are filled in),
    e.g. "ssh {host} sudo systemctl restart comfyui"."""
    restart_between_steps: bool = False
    """Restart the servers (``restart_command``) before a step that loads other model files; steps are then not
    handed over early in overlap mode."""
    restart_after_timeout: bool = True
    """Restart a server (``restart_command``) whose job timed out."""
    prompts: dict[str, str] = {
        "restore": "Restore this painting: remove cracks, dirt and yellowed varnish; keep the brushwork, "
        "composition, pose and colours faithful.",
        "realistic": "Turn this painted portrait into a photograph of the same person: same pose, same clothes, "
        "same framing, natural skin, soft studio light.",
        "transition": "The painted portrait slowly comes to life and becomes a photograph; static camera.",
        "outro": "The photograph slowly turns back into the oil painting; static camera.",
        "lipsync": "A person speaking calmly to the camera, natural head motion, static camera.",
    }
    """The prompt of each step's workflow (bound to vivant:prompt)."""
    negative_prompt: str = "blurry, distorted face, extra limbs, text, watermark"
    """Sent to the workflows that bind vivant:negative_prompt."""
    voices: dict[str, str | dict[str, str]] = {"fr": "", "en": ""}
    """Speaker name per language, or per language and sitter's gender (``{female = "...", male = "..."}``), for TTS
    workflows that bind vivant:voice; empty: ``[speech] voices``."""
    video_width: Annotated[int, Field(ge=64, le=4096, multiple_of=16)] = 480
    """Width the video models generate at (bound to vivant:width)."""
    video_height: Annotated[int, Field(ge=64, le=4096, multiple_of=16)] = 832
    """Size the video models generate at (bound to vivant:width/height); the clip is scaled to the render size."""
    video_fps: Annotated[int, Field(ge=1, le=60)] = 16
    """Frame rate the video models generate at (bound to vivant:fps; frames = seconds x this)."""
    lipsync_window: str = ""
    """Longest stretch of narration one lip-sync job makes: "5s" (seconds) or "77f" (frames at the workflow's
    fps); the narration is cut into windows at pauses between words. Empty: the workflow's own ``"vivant":
    {"window": ...}`` setting (none: the whole narration in one job); "0": one job."""
    lipsync_mode: Literal["", "independent", "chained"] = ""
    """independent: every window starts from the portrait (the windows of one painting run on several servers
    at once); chained: each starts from the previous window's last frame, one after the other. Empty: the
    workflow's own setting, else independent."""
