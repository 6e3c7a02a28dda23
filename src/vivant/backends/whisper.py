"""Step 7 with faster-whisper: the voice's real timing, the script's own words.

:class:`WhisperTranscriber` runs faster-whisper (a CTranslate2 Whisper model folder from ``[whisper]``, the
language always forced: without it a robotic French clip can be detected as Thai) with word timestamps, then
:func:`align_words` maps the script's words onto the words Whisper heard, so the spelling is the script's and
the timing the voice's, even where Whisper hears other words ("Vermeer" as "for mir").

The alignment is a :class:`difflib.SequenceMatcher` over normalised words: equal runs take the heard words'
times; a replaced run (misheard, split or merged words) shares the heard run's span in proportion to the
length of each script word; script words Whisper did not hear at all are spread over the gap between their
neighbours. Heard words that are not in the script are ignored.

When the model cannot serve the language (an English-only ``.en`` model asked for French) or hears too
little of the script (``min_matched``), the voice's own timings are used instead and ``name``/``degraded``
say so for that call.
"""

from __future__ import annotations

import difflib
import logging
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from vivant.config import WhisperSettings
from vivant.errors import ConfigError, ExternalToolError
from vivant.roles import Language, WordTiming, current_attempt
from vivant.text import normalize

log = logging.getLogger(__name__)

MIN_WORD_SECONDS = 0.08
"""Shortest time given to an interpolated word."""


def _key(word: str) -> str:
    """A word as compared: lower case, no accents, no punctuation, one token ("l'homme" -> "lhomme")."""
    return "".join(normalize(word).split())


def _spread(words: list[str], start: float, end: float) -> list[WordTiming]:
    """Share [start, end] among ``words`` in proportion to their length."""
    weights = [max(1, len(_key(w)) or len(w)) for w in words]
    total = sum(weights)
    out, t = [], start
    for word, w in zip(words, weights, strict=True):
        d = (end - start) * w / total
        out.append(WordTiming(word=word, start=t, end=t + d))
        t += d
    return out


def align_words(script: str, heard: list[WordTiming]) -> tuple[list[WordTiming], float]:
    """The script's words timed from ``heard``; also the share of script words heard exactly."""
    words = script.split()
    if not words:
        return [], 1.0
    if not heard:
        return [], 0.0
    a = [_key(w) for w in words]
    b = [_key(h.word) for h in heard]
    timed: list[WordTiming | None] = [None] * len(words)
    matched = 0
    for op, i1, i2, j1, j2 in difflib.SequenceMatcher(None, a, b, autojunk=False).get_opcodes():
        if op == "equal":
            for k in range(i2 - i1):
                h = heard[j1 + k]
                timed[i1 + k] = WordTiming(word=words[i1 + k], start=h.start, end=h.end)
            matched += i2 - i1
        elif op == "replace":
            for k, t in enumerate(_spread(words[i1:i2], heard[j1].start, heard[j2 - 1].end)):
                timed[i1 + k] = t
        # "delete": not heard, filled below; "insert": heard but not in the script, ignored

    i = 0
    end_of_speech = max(h.end for h in heard)
    while i < len(words):
        if timed[i] is not None:
            i += 1
            continue
        j = i
        while j < len(words) and timed[j] is None:
            j += 1
        prev, nxt = (timed[i - 1] if i else None), (timed[j] if j < len(words) else None)
        left = prev.end if prev else (heard[0].start if nxt is None else max(0.0, nxt.start - 0.3 * (j - i)))
        right = nxt.start if nxt else max(left, end_of_speech) + 0.3 * (j - i)
        run = words[i:j]
        if right - left < MIN_WORD_SECONDS * len(run) and prev is not None:
            # no room between the neighbours: share the previous word's time with the run
            shared = _spread([prev.word, *run], prev.start, max(right, prev.start + MIN_WORD_SECONDS * (len(run) + 1)))
            timed[i - 1] = shared[0]
            pieces = shared[1:]
        else:
            pieces = _spread(run, left, max(right, left + MIN_WORD_SECONDS * len(run)))
        for k, t in enumerate(pieces):
            timed[i + k] = t
        i = j

    out: list[WordTiming] = []
    last = 0.0
    for slot in timed:
        assert slot is not None
        start = max(slot.start, last)
        end = max(slot.end, start + 0.05)
        out.append(WordTiming(word=slot.word, start=round(start, 3), end=round(end, 3)))
        last = start
    return out, matched / len(words)


class _Aligning:
    """What both Whisper transcribers share: hear the words, align the script onto them, fall back to the voice's
    timings (said to the running attempt: :meth:`vivant.roles.Attempt.fall_back`)."""

    base_name = "whisper"
    degraded = False

    def __init__(self, settings: WhisperSettings) -> None:
        self.settings = settings

    @property
    def name(self) -> str:
        return self.base_name

    def _fall_back(self) -> None:
        from vivant.backends.local.timings import VoiceTimings

        attempt = current_attempt()
        if attempt is not None:
            attempt.fall_back(self.name, VoiceTimings.name)

    def multilingual(self) -> bool:
        return True

    def transcribe(self, audio: Path, language: Language, prompt: str = "") -> list[WordTiming]:
        raise NotImplementedError

    def align(self, audio: Path, script: str, language: Language, voice_timings: list[WordTiming]) -> list[WordTiming]:
        from vivant.backends.local.timings import VoiceTimings

        if language != "en" and not self.multilingual():
            log.info("%s: the Whisper model is English-only; using the voice's timings for %s", audio.name, language)
            self._fall_back()
            return VoiceTimings().align(audio, script, language, voice_timings)
        heard = self.transcribe(audio, language, prompt=script)
        words, share = align_words(script, heard)
        log.info("%s: Whisper heard %d words, %.0f%% of the script's exactly", audio.name, len(heard), share * 100)
        if share < self.settings.min_matched:
            log.warning(
                "%s: Whisper matched only %.0f%% of the script (min %.0f%%); using the voice's timings",
                audio.name,
                share * 100,
                self.settings.min_matched * 100,
            )
            self._fall_back()
            return VoiceTimings().align(audio, script, language, voice_timings)
        return words


class WhisperTranscriber(_Aligning):
    """The Transcriber backed by faster-whisper (CTranslate2), CPU or CUDA, in this process."""

    def __init__(self, settings: WhisperSettings, *, model: Any = None, beam_size: int = 5) -> None:
        if settings.model_dir is None and model is None:
            raise ConfigError('whisper.model_dir is not set (needed by backends.subtitles = "whisper")')
        super().__init__(settings)
        self.beam_size = beam_size
        self._model = model
        folder = settings.model_dir.name if settings.model_dir else "model"
        self.base_name = f"faster-whisper:{folder}"

    @property
    def model(self) -> Any:
        if self._model is None:
            from faster_whisper import WhisperModel

            folder = self.settings.model_dir
            assert folder is not None
            if not (folder / "model.bin").is_file():
                raise ConfigError(
                    f"{folder}: not a CTranslate2 Whisper model folder (no model.bin) (whisper.model_dir)"
                )
            log.debug("loading faster-whisper from %s", folder)
            try:
                self._model = WhisperModel(
                    str(folder), device=self.settings.device, compute_type=self.settings.compute_type
                )
            except (RuntimeError, ValueError, OSError) as e:
                raise ExternalToolError(f"{folder}: faster-whisper cannot load the model: {e}") from None
        return self._model

    def multilingual(self) -> bool:
        inner = getattr(self.model, "model", None)  # the ctranslate2 Whisper object
        return bool(getattr(inner, "is_multilingual", True))

    def transcribe(self, audio: Path, language: Language, prompt: str = "") -> list[WordTiming]:
        """Every word Whisper hears in ``audio``, with its start and end in seconds."""
        try:
            segments, _info = self.model.transcribe(
                str(audio),
                language=language,
                word_timestamps=True,
                beam_size=self.beam_size,
                condition_on_previous_text=False,
                initial_prompt=prompt or None,
            )
            heard = words_of(segments)
        except (RuntimeError, ValueError, OSError) as e:
            raise ExternalToolError(f"{audio.name}: faster-whisper failed: {e}") from None
        return heard


def words_of(segments: Iterable[Any]) -> list[WordTiming]:
    """The timed words of faster-whisper's segments (iterating runs the transcription), blanks left out."""
    return [
        WordTiming(word=w.word.strip(), start=float(w.start), end=float(w.end))
        for segment in segments
        for w in (segment.words or [])
        if w.word.strip()
    ]
