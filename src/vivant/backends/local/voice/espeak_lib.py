"""The espeak-ng library through ctypes, and a child process that speaks with another copy of it.

Only one ``libespeak-ng.so.1`` can live in a process: a second ``ctypes.CDLL`` of a library with the same soname
gets the first one, still initialised with the first one's data folder. The in-process engine is the copy from
``espeakng-loader`` (also piper's phonemiser); Debian's copy, which drives MBROLA, runs in a child process
(:func:`speak_in_child`): this file run as a script, with only the standard library and :mod:`vivant.errors`.
The child dies with its parent (``PR_SET_PDEATHSIG``, :func:`vivant.backends.ffmpeg.die_with_parent`).
"""

from __future__ import annotations

import ctypes
import json
import logging
import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from vivant.errors import StepError

log = logging.getLogger(__name__)

_AUDIO_OUTPUT_SYNCHRONOUS = 2
_INITIALIZE_DONT_EXIT = 0x8000
_POS_CHARACTER = 1
_CHARS_UTF8 = 1
_EVENT_LIST_TERMINATED = 0
_EVENT_WORD = 1
_PARAM_RATE = 1
_PARAM_VOLUME = 2


class EspeakEvent(ctypes.Structure):
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
    ctypes.c_int, ctypes.POINTER(ctypes.c_short), ctypes.c_int, ctypes.POINTER(EspeakEvent)
)


@dataclass
class Collector:
    pcm: list[bytes]
    words: list[tuple[int, int, int]]
    """(text_position 1-based in characters, length, sample) of each WORD event."""


class Espeak:
    """One espeak-ng library, loaded and initialised once in this process (espeak.py uses it under its lock)."""

    def __init__(self, lib_path: str, data_path: str | None) -> None:
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
        lib.espeak_ng_GetSampleRate.argtypes = []
        lib.espeak_ng_GetSampleRate.restype = ctypes.c_int
        t0 = time.perf_counter()
        path = data_path.encode() if data_path else None
        rate = lib.espeak_Initialize(_AUDIO_OUTPUT_SYNCHRONOUS, 0, path, _INITIALIZE_DONT_EXIT)
        if rate <= 0:
            where = data_path or "its default folder"
            raise StepError(f"espeak-ng failed to initialise with the data in {where} (code {rate})")
        self.lib = lib
        self.sample_rate = rate
        self.collector: Collector | None = None
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
        self.sample_rate = self.lib.espeak_ng_GetSampleRate()  # MBROLA voices speak at their own rate

    def synth(self, text: str, rate: int, volume: int = 100) -> Collector:
        err = self.lib.espeak_SetParameter(_PARAM_RATE, rate, 0) or self.lib.espeak_SetParameter(
            _PARAM_VOLUME, volume, 0
        )
        if err != 0:
            raise StepError(f"espeak-ng refused the rate {rate} (error {err})")
        data = text.encode("utf-8") + b"\0"
        buf = ctypes.create_string_buffer(data, len(data))
        self.collector = col = Collector(pcm=[], words=[])
        try:
            err = self.lib.espeak_Synth(buf, len(data), 0, _POS_CHARACTER, 0, _CHARS_UTF8, None, None)
            if err == 0:
                err = self.lib.espeak_Synchronize()
        finally:
            self.collector = None
        if err != 0:
            raise StepError(f"espeak-ng failed to synthesise {text[:40]!r} (error {err})")
        return col


TIMEOUT = 120.0
"""Seconds the child may take for one narration."""


def speak_in_child(
    lib_path: str, data_path: str | None, voice: str, text: str, rate: int, volume: int
) -> tuple[int, Collector]:
    """Speak ``text`` with ``voice`` of the library ``lib_path`` in a child process; (sample rate, PCM and
    WORD events), exactly what :meth:`Espeak.synth` gives in process."""
    import vivant
    from vivant.backends.ffmpeg import die_with_parent

    request = {"lib": lib_path, "data": data_path, "voice": voice, "text": text, "rate": rate, "volume": volume}
    env = dict(os.environ)
    root = str(Path(vivant.__file__).resolve().parents[1])  # this very vivant, not another one installed
    env["PYTHONPATH"] = os.pathsep.join(p for p in (root, env.get("PYTHONPATH", "")) if p)
    cmd = [sys.executable, "-P", str(Path(__file__).resolve())]
    try:
        done = subprocess.run(
            cmd, input=json.dumps(request).encode(), capture_output=True, timeout=TIMEOUT, check=False, env=env,
            preexec_fn=die_with_parent(),
        )  # fmt: skip
    except subprocess.TimeoutExpired:
        raise StepError(f"espeak-ng ({voice}) took more than {TIMEOUT:g} s in its child process") from None
    except OSError as e:
        raise StepError(f"espeak-ng ({voice}): cannot start its child process {sys.executable}: {e}") from None
    header, _, pcm = done.stdout.partition(b"\n")
    if done.returncode != 0 or not header.startswith(b"{"):
        lines = done.stderr.decode("utf-8", "replace").strip().splitlines()
        raise StepError(lines[-1] if lines else f"espeak-ng ({voice}) child process failed (exit {done.returncode})")
    meta = json.loads(header)
    for line in done.stderr.decode("utf-8", "replace").splitlines():
        log.debug("espeak-ng child (%s): %s", voice, line)
    words = [(int(p), int(n), int(s)) for p, n, s in meta["words"]]
    return int(meta["rate"]), Collector(pcm=[pcm], words=words)


def _child_main() -> int:
    """The child: a JSON request on stdin; a JSON line (sample rate, WORD events) then the PCM on stdout."""
    logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(message)s")
    try:
        req = json.loads(sys.stdin.buffer.read())
        engine = Espeak(req["lib"], req["data"])
        engine.set_voice(req["voice"])
        col = engine.synth(req["text"], int(req["rate"]), int(req["volume"]))
    except StepError as e:
        sys.stderr.write(f"{e}\n")
        return 2
    out = sys.stdout.buffer
    out.write(json.dumps({"rate": engine.sample_rate, "words": col.words}).encode() + b"\n")
    out.write(b"".join(col.pcm))
    out.flush()
    return 0


if __name__ == "__main__":
    sys.exit(_child_main())
