"""The embedded subtitle timing: the voice's own word timings, checked against the script's words.

The local voices report when each word of the script is spoken, so no speech recogniser is needed; the
words stay the script's own spelling. (A Whisper backend that listens to the audio comes with the
production backends.)
"""

from __future__ import annotations

from pathlib import Path

from vivant.errors import StepError
from vivant.roles import Language, WordTiming


class VoiceTimings:
    name = "local:voice-timings"
    degraded = False

    def align(self, audio: Path, script: str, language: Language, voice_timings: list[WordTiming]) -> list[WordTiming]:
        words = script.split()
        if len(words) != len(voice_timings):
            raise StepError(f"the voice timed {len(voice_timings)} words but the script has {len(words)}; cannot align")
        out: list[WordTiming] = []
        last = 0.0
        for word, t in zip(words, voice_timings, strict=True):
            start = max(t.start, last)
            end = max(t.end, start + 0.05)
            out.append(WordTiming(word=word, start=round(start, 3), end=round(end, 3)))
            last = start
        return out
