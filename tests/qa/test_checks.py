"""Each QA check on real videos made by the project (the tiny night's finals), clean and with a defect
injected by FFmpeg."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.qa.conftest import final, reencode
from vivant.backends import ffmpeg
from vivant.qa import QAInputs, QAReport, run_qa
from vivant.qa.media import r128
from vivant.store import Store

pytestmark = pytest.mark.slow


def _verdicts(report: QAReport) -> dict[str, str]:
    return {c.name: c.verdict for c in report.checks}


def test_the_night_checked_its_clean_videos_and_every_check_passed(ws_config: Path) -> None:
    f = final(ws_config)
    with Store.open(f.settings.database) as store:
        for lang in ("fr", "en"):
            (row,) = store.artifacts(1, step=10, language=lang, kind="qa")
            report = QAReport.model_validate_json((f.settings.workspace / row.path).read_text())
            assert report.language == lang
            assert report.passed, [c.line() for c in report.failed]
            measured = {c.name for c in report.checks if c.verdict == "pass"}
            assert {"size", "duration", "black", "frozen", "face", "loudness", "true_peak", "silence", "sync",
                    "wer", "language", "subtitle_coverage", "subtitle_timing"} <= measured, report.checks  # fmt: skip
            sync = report.check("sync")
            assert sync is not None and isinstance(sync.value, float) and abs(sync.value) < 60
            (voice,) = store.artifacts(1, step=2, language=lang, kind="voice")
            record = json.loads((f.settings.workspace / voice.path).read_text())
            limit = 1.0 if record["voice_degraded"] else f.settings.qa.max_wer[lang]  # espeak-ng, or a clear voice
            assert report.check("wer").threshold == f"<= {limit:g}"  # type: ignore[union-attr]
            assert not store.artifacts(1, step=10, language=lang, kind="picture")  # no problem, no picture


def test_black_frozen_silence_and_loudness_are_caught(ws_config: Path, tmp_path: Path) -> None:
    f = final(ws_config)
    f.settings.qa.speech = False
    d = ffmpeg.probe(f.video).duration
    t = d * 0.3  # inside the narration
    gain = f.settings.render.loudness_lufs - 8 - r128(f.video).integrated
    bad = reencode(
        f.video, tmp_path / "bad.mp4",
        vf=f"drawbox=c=black@1:t=fill:enable='between(t,{t:.2f},{t + 1:.2f})'",
        af=f"volume={gain:.2f}dB,volume=0:enable='between(t,{t + 3:.2f},{t + 4.5:.2f})'",
    )  # fmt: skip
    frozen = tmp_path / "frozen.mp4"
    first = int((t + 6) * f.settings.render.fps)
    graph = f"[0:v]split[a][b];[a][b]freezeframes=first={first}:last={first + 15}[v]"
    ffmpeg.run(["-i", bad, "-filter_complex", graph, "-map", "[v]", "-map", "0:a",
                "-c:v", "libx264", "-preset", "ultrafast", "-c:a", "copy", frozen])  # fmt: skip
    report = run_qa(frozen, f.settings, QAInputs(language="en"), out_dir=tmp_path / "qa")
    v = _verdicts(report)
    assert v["black"] == v["frozen"] == v["silence"] == v["loudness"] == "fail", [c.line() for c in report.checks]
    assert v["size"] == v["video_codec"] == v["stream_lengths"] == "pass"
    black = report.check("black")
    assert black is not None and 0.9 <= float(black.value or 0) <= 1.2 and black.at is not None
    assert abs(black.at - (t + 0.5)) < 0.3
    silence = report.check("silence")
    assert silence is not None and 1.3 <= float(silence.value or 0) <= 1.8
    assert report.picture == "problem.png" and (tmp_path / "qa" / "problem.png").stat().st_size > 1000
    assert report.suggested_step() == 2  # the silence points at the narration (step 2) before the others


def test_a_voice_late_by_300_ms_fails_the_sync_check(ws_config: Path, tmp_path: Path) -> None:
    f = final(ws_config)
    f.settings.qa.speech = False
    d = ffmpeg.probe(f.video).duration
    late = reencode(f.video, tmp_path / "late.mp4", af=f"adelay=delays=300:all=1,atrim=0:{d:.3f}")
    report = run_qa(late, f.settings, QAInputs(language="en"))
    sync = report.check("sync")
    assert sync is not None and sync.verdict == "fail", sync
    assert 240 <= float(sync.value or 0) <= 360
    assert report.suggested_step() == 6


def test_shifted_subtitles_and_a_noise_narration_are_caught(ws_config: Path, tmp_path: Path) -> None:
    f = final(ws_config)
    lines = []
    for line in f.subtitles.read_text(encoding="utf-8").splitlines():
        if line.startswith("Dialogue:"):  # one second later: 0:00:04.20 -> 0:00:05.20
            head, start, end, rest = line.split(",", 3)
            shift = [f"{s[:5]}{int(s[5:7]) + 1:02d}{s[7:]}" if int(s[5:7]) < 58 else s for s in (start, end)]
            line = ",".join([head, *shift, rest])
        lines.append(line)
    shifted = tmp_path / "late.ass"
    shifted.write_text("\n".join(lines) + "\n", encoding="utf-8")
    report = run_qa(f.video, f.settings, QAInputs(language="en", script=f.script, subtitles=shifted))
    v = _verdicts(report)
    assert v["subtitle_timing"] == "fail" and v["wer"] == v["language"] == "pass", [c.line() for c in report.checks]
    assert report.suggested_step() == 7

    d = ffmpeg.probe(f.video).duration
    noisy = tmp_path / "noise.mp4"
    ffmpeg.run(["-i", f.video, "-f", "lavfi", "-i", f"anoisesrc=c=pink:r=48000:a=0.2:d={d:.3f}:seed=3",
                "-map", "0:v", "-map", "1:a", "-c:v", "copy", "-c:a", "aac", noisy])  # fmt: skip
    report = run_qa(noisy, f.settings, QAInputs(language="en", script=f.script, subtitles=f.subtitles))
    v = _verdicts(report)
    assert v["wer"] == "fail", [c.line() for c in report.checks]
    wer = report.check("wer")
    assert wer is not None and float(wer.value or 0) > 0.8 and wer.threshold == "<= 0.35"
    # a narration by a degraded voice (espeak-ng) is held to qa.degraded_voice_max_wer instead
    f.settings.qa.degraded_voice_max_wer = 0.99
    inputs = QAInputs(language="en", script=f.script, subtitles=f.subtitles, degraded_voice=True)
    wer = run_qa(noisy, f.settings, inputs).check("wer")
    assert wer is not None and wer.threshold == "<= 0.99"


def test_format_limits_per_platform(ws_config: Path, tmp_path: Path) -> None:
    f = final(ws_config)
    f.settings.qa.speech = False
    from vivant.config import PlatformLimits

    f.settings.qa.platforms = {"shorts": PlatformLimits(max_seconds=5.0), "big": PlatformLimits(max_seconds=600.0)}
    small = reencode(f.video, tmp_path / "small.mp4", vf="scale=160:288,fps=10")
    report = run_qa(small, f.settings, QAInputs(language="en"))
    v = _verdicts(report)
    assert v["size"] == v["fps"] == v["duration"] == "fail", [c.line() for c in report.checks]
    duration = report.check("duration")
    assert duration is not None and "shorts" in duration.detail and "big" not in duration.detail
    assert v["video_codec"] == v["audio_codec"] == "pass"
