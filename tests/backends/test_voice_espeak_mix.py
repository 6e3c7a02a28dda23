"""espeak-ng's two copies in one process: ``espeakng-loader``'s (espeak voices, piper's phonemes) and Debian's
(MBROLA). A process holds only one ``libespeak-ng.so.1``, so a night that speaks English with espeak then French
with MBROLA (or the other way round) must still get both voices: MBROLA runs in a child process.

Each order runs in a fresh Python process, since which copy loads first is the whole point (this test process
may already hold one)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from tests.backends.test_ffmpeg_child import _children, _running, _until
from vivant.backends.local.voice import installed

needs_mbrola = pytest.mark.skipif(
    not (installed("mbrola:fr1") and installed("mbrola:fr4")),
    reason="Debian's mbrola-fr1/fr4 are not installed (.ci/run installs them)",
)

EN = "Hello, I am Lady Agnew, and my painter caught me resting in a chair by the window."
FR = "Bonjour, je suis Madame Cézanne, et mon mari m'a peinte assise dans un fauteuil rouge."

SCRIPT = """
import json, sys
from pathlib import Path
from vivant.backends.local.voice import EspeakVoice, MbrolaVoice, median_f0, read_wav
order, folder, en, fr = sys.argv[1], Path(sys.argv[2]), sys.argv[3], sys.argv[4]
voices = {"espeak": (EspeakVoice("en-us"), en, "en"), "fr4": (MbrolaVoice("fr4"), fr, "fr"),
          "fr1": (MbrolaVoice("fr1"), fr, "fr"), "espeak-fr": (EspeakVoice("fr"), fr, "fr")}
out = {}
for key in order.split(","):
    voice, text, lang = voices[key]
    wav = folder / f"{key}.wav"
    timings = voice.speak(text, lang, wav)
    samples = read_wav(wav)
    out[key] = {"words": [t.word for t in timings], "seconds": len(samples) / 22050,
                "timed": sum(t.end > t.start for t in timings), "f0": median_f0(samples)}
print(json.dumps(out))
"""


@needs_mbrola
@pytest.mark.parametrize("order", ["espeak,fr4,fr1,espeak-fr", "fr4,espeak,fr1,espeak-fr"])
def test_espeak_and_mbrola_speak_in_one_process_in_either_order(order: str, tmp_path: Path) -> None:
    env = dict(os.environ)
    src = str(Path(__file__).resolve().parents[2] / "src")
    env["PYTHONPATH"] = os.pathsep.join(p for p in (src, env.get("PYTHONPATH", "")) if p)
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT, order, str(tmp_path), EN, FR],
        capture_output=True, text=True, timeout=180, check=False, env=env,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    got = json.loads(done.stdout.strip().splitlines()[-1])
    for key in order.split(","):
        text = EN if key == "espeak" else FR
        assert got[key]["words"] == text.split(), key
        assert got[key]["seconds"] > 2.0, (key, got[key])
        assert got[key]["timed"] >= 0.9 * len(text.split()), (key, got[key])
    # Both MBROLA voices are themselves: the woman is measured higher than the man.
    assert got["fr4"]["f0"] > got["fr1"]["f0"] * 1.3, got


PARENT = """
import sys, threading
from pathlib import Path
from vivant.backends.local.voice import espeak_lib, programs
fake = sys.argv[1]  # stands for python (the espeak child) and for a voice program: sleeps, whatever it is told
sys.executable = fake


class Sleeper(programs.ProgramVoice):
    engine = program = "vivant-test-sleeper"

    def command(self, text, text_file, out):
        return [fake]


programs.shutil.which = lambda name: fake
threading.Thread(target=espeak_lib.speak_in_child, args=("lib", None, "mb-fr1", "Bonjour.", 150, 70),
                 daemon=True).start()
threading.Thread(target=Sleeper("x").speak, args=("Bonjour.", "fr", Path(sys.argv[2])), daemon=True).start()
threading.Event().wait()
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="PR_SET_PDEATHSIG is Linux's")
def test_voice_children_die_with_their_parent(tmp_path: Path) -> None:
    fake = tmp_path / "sleeper"
    fake.write_text("#!/bin/sh\nexec sleep 600\n")
    fake.chmod(0o755)
    env = dict(os.environ)
    src = str(Path(__file__).resolve().parents[2] / "src")
    env["PYTHONPATH"] = os.pathsep.join(p for p in (src, env.get("PYTHONPATH", "")) if p)
    parent = subprocess.Popen([sys.executable, "-c", PARENT, str(fake), str(tmp_path / "out.wav")], env=env)

    def sleepers() -> list[int]:
        return [c for c in _children(parent.pid) if Path(f"/proc/{c}/cmdline").read_bytes().startswith(b"sleep")]

    kids: list[int] = []
    try:
        _until(lambda: len(sleepers()) == 2, "the parent starts the espeak child and the voice program")
        kids = sleepers()
        parent.send_signal(signal.SIGKILL)
        parent.wait()
        _until(lambda: not any(_running(k) for k in kids), "the voice children die with their parent")
    finally:
        if parent.poll() is None:
            parent.kill()
            parent.wait()
        for k in kids:
            if _running(k):
                os.kill(k, signal.SIGKILL)  # the test failed: leave nothing behind
