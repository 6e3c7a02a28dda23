"""One QA run over one video: decode it once (small grey frames, audio samples), measure, compare each measure
with its ``[qa]`` threshold, and draw a picture of the first problem."""

from __future__ import annotations

import logging
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from vivant.config import Settings
from vivant.errors import ConfigError, ExternalToolError, InputError
from vivant.qa import analysis as an
from vivant.qa import media
from vivant.qa.model import Check, QAReport, Verdict

log = logging.getLogger(__name__)
FROZEN_VOICED_SHARE = 0.3
SILENCE_DROP_DB = 18.0
"""A stretch this far below the narration's level counts as silence."""
MIN_SYNC_CORRELATION = 0.3
"""Below this correlation between mouth motion and voice, the sync is not measured (a warning, not a fail)."""
"""A still stretch counts as frozen when the voice is heard through at least this share of it."""


@dataclass
class QAInputs:
    """What QA compares the video with; each is optional (its checks are then skipped)."""

    language: str = ""
    script: str = ""
    subtitles: Path | None = None
    degraded_voice: bool = False
    """Step 2 spoke with a degraded voice (espeak-ng): ``qa.degraded_voice_max_wer`` applies."""


def _ok(ok: bool) -> Verdict:
    return "pass" if ok else "fail"


def _format_checks(s: media.Streams, settings: Settings) -> list[Check]:
    q, r = settings.qa, settings.render
    out = [
        Check(
            name="size",
            group="format",
            verdict=_ok((s.width, s.height) == (r.width, r.height)),
            value=f"{s.width}x{s.height}",
            threshold=f"{r.width}x{r.height}",
        ),
        Check(
            name="video_codec",
            group="format",
            verdict=_ok(s.video_codec in q.video_codecs),
            value=s.video_codec,
            threshold=" or ".join(q.video_codecs),
        ),
        Check(
            name="audio_codec",
            group="format",
            verdict=_ok(s.audio_codec in q.audio_codecs),
            value=s.audio_codec,
            threshold=" or ".join(q.audio_codecs),
        ),
        Check(
            name="fps",
            group="format",
            verdict=_ok(q.min_fps <= s.fps <= q.max_fps),
            value=s.fps,
            threshold=f"{q.min_fps:g}..{q.max_fps:g}",
            unit="fps",
        ),
    ]
    too_long = [n for n, p in q.platforms.items() if not p.min_seconds <= s.duration <= p.max_seconds]
    rule = ", ".join(f"{n} {p.min_seconds:g}..{p.max_seconds:g}" for n, p in q.platforms.items())
    out.append(
        Check(
            name="duration",
            group="format",
            verdict=_ok(not too_long),
            value=round(s.duration, 2),
            unit="s",
            threshold=rule,
            detail=f"outside the limits of {', '.join(too_long)}" if too_long else "",
        )
    )
    mb = s.size_bytes / 1e6
    too_big = [n for n, p in q.platforms.items() if mb > p.max_megabytes]
    out.append(
        Check(
            name="file_size",
            group="format",
            verdict=_ok(not too_big),
            value=round(mb, 2),
            unit="MB",
            threshold=", ".join(f"{n} <= {p.max_megabytes:g}" for n, p in q.platforms.items()),
            detail=f"too big for {', '.join(too_big)}" if too_big else "",
        )
    )
    return out


def _longest(spans: list[an.Span]) -> an.Span:
    return max(spans, key=lambda sp: sp.length, default=an.Span(0.0, 0.0))


def run_qa(
    video: Path,
    settings: Settings,
    inputs: QAInputs | None = None,
    *,
    out_dir: Path | None = None,
    speech_model: object | None = None,
) -> QAReport:
    """Every check on ``video``. ``out_dir``: where the picture of the first problem is written.

    Raise :class:`InputError` (one line) for a file that is not a video with a sound track.
    """
    inputs = inputs or QAInputs()
    q = settings.qa
    started = time.perf_counter()
    s = media.streams(video)
    if s.audio_codec is None:
        raise InputError(f"{video}: no audio stream")
    language = inputs.language or s.language
    checks = _format_checks(s, settings)
    with tempfile.TemporaryDirectory(prefix="vivant-qa-") as tmp:
        work = Path(tmp)
        frames, big = media.frames(video, work)
        stereo, mono = media.audio(video, work)
    loud = media.r128(video)
    fps = s.fps or 25.0
    video_len = frames.shape[0] / fps
    audio_len = mono.size / media.AUDIO_RATE
    env = media.envelope_db(mono, an.ENVELOPE_HOP)
    span, level = an.narration_span(env)

    # -- picture
    black = _longest(an.black_runs(frames, fps))
    checks.append(
        Check(
            name="black",
            group="picture",
            verdict=_ok(black.length <= q.max_black_seconds),
            value=round(black.length, 2),
            unit="s",
            threshold=f"<= {q.max_black_seconds:g} s",
            at=black.start + black.length / 2 if black.length else None,
        )
    )
    # a still picture while the voice pauses is a portrait at rest (the landmark mouth closes in silences); a
    # still picture while the voice speaks is the defect
    frozen = _longest([r for r in an.frozen_runs(frames, fps, span)
                       if an.voiced_share(env, r, level, SILENCE_DROP_DB) >= FROZEN_VOICED_SHARE])  # fmt: skip
    checks.append(
        Check(
            name="frozen",
            group="picture",
            verdict=_ok(frozen.length <= q.max_frozen_seconds),
            value=round(frozen.length, 2),
            unit="s",
            threshold=f"<= {q.max_frozen_seconds:g} s",
            detail="while the portrait speaks",
            at=frozen.start + frozen.length / 2 if frozen.length else None,
        )
    )
    share, missing = an.face_windows(big, media.FACE_FPS, span)
    checks.append(
        Check(
            name="face",
            group="picture",
            verdict=_ok(share >= q.min_face_share),
            value=round(share, 3),
            threshold=f">= {q.min_face_share:g}",
            detail="share of the talking part with a face",
            at=missing,
        )
    )

    # -- sound
    target = settings.render.loudness_lufs
    checks.append(
        Check(
            name="loudness",
            group="sound",
            verdict=_ok(abs(loud.integrated - target) <= q.loudness_tolerance_lu),
            value=loud.integrated,
            unit="LUFS",
            threshold=f"{target:g} ± {q.loudness_tolerance_lu:g}",
        )
    )
    checks.append(
        Check(
            name="true_peak",
            group="sound",
            verdict=_ok(loud.true_peak <= q.max_true_peak_db),
            value=loud.true_peak,
            unit="dBTP",
            threshold=f"<= {q.max_true_peak_db:g}",
        )
    )
    clipped = an.clipped_share(stereo)
    checks.append(
        Check(
            name="clipping",
            group="sound",
            verdict=_ok(clipped <= q.max_clipped_share),
            value=clipped,
            threshold=f"<= {q.max_clipped_share:g}",
            detail="share of samples at full scale",
        )
    )
    gap, gap_at = an.longest_silence(env, span, level, SILENCE_DROP_DB)
    checks.append(
        Check(
            name="silence",
            group="sound",
            verdict=_ok(gap <= q.max_silence_seconds),
            value=round(gap, 2),
            unit="s",
            threshold=f"<= {q.max_silence_seconds:g} s",
            detail="inside the narration",
            at=gap_at + gap / 2 if gap else None,
        )
    )
    diff = abs(audio_len - video_len)
    checks.append(
        Check(
            name="stream_lengths",
            group="sound",
            verdict=_ok(diff <= q.max_stream_gap_seconds),
            value=round(diff, 3),
            unit="s",
            threshold=f"<= {q.max_stream_gap_seconds:g} s",
            detail=f"audio {audio_len:.2f} s, video {video_len:.2f} s",
        )
    )
    tail = min(video_len, audio_len) - span.end
    checks.append(
        Check(
            name="ending",
            group="sound",
            verdict=_ok(tail >= q.min_ending_seconds),
            value=round(tail, 2),
            unit="s",
            threshold=f">= {q.min_ending_seconds:g} s",
            detail="between the last word and the end (a cut video ends mid-sentence)",
            at=span.end,
        )
    )

    # -- sync
    sync = an.sync_offset(frames, fps, mono, media.AUDIO_RATE, span)
    rule = f"± {q.max_sync_ms:g} ms"
    if sync.correlation < MIN_SYNC_CORRELATION:
        checks.append(
            Check(
                name="sync",
                group="sync",
                verdict="skip",
                value=round(sync.offset_ms, 1),
                unit="ms",
                threshold=rule,
                detail=f"nothing in the picture follows the voice (correlation {sync.correlation:.2f}): not measured",
            )
        )
    else:
        checks.append(
            Check(
                name="sync",
                group="sync",
                verdict=_ok(abs(sync.offset_ms) <= q.max_sync_ms),
                value=round(sync.offset_ms, 1),
                unit="ms",
                threshold=rule,
                detail=f"correlation {sync.correlation:.2f} at {sync.where}; positive: the voice is late",
                at=span.start + span.length / 2,
            )
        )

    checks += _speech_checks(mono, span, settings, inputs, language, speech_model)
    report = QAReport(video=str(video), language=language, duration=round(s.duration, 3), checks=checks)
    if out_dir is not None and report.failed:
        from vivant.qa.picture import draw_problem

        report.picture = draw_problem(report.failed[0], frames, fps, env, an.ENVELOPE_HOP, out_dir / "problem.png")
    report.seconds = round(time.perf_counter() - started, 3)
    return report


def _speech_checks(
    mono: np.ndarray, span: an.Span, settings: Settings, inputs: QAInputs, language: str, speech_model: object | None
) -> list[Check]:
    q = settings.qa
    names = (
        ("wer", "speech"),
        ("words_heard", "speech"),
        ("language", "speech"),
        ("subtitle_coverage", "subtitles"),
        ("subtitle_timing", "subtitles"),
    )

    def skipped(why: str) -> list[Check]:
        return [Check(name=n, group=g, verdict="skip", detail=why) for n, g in names]  # type: ignore[arg-type]

    if not q.speech:
        return skipped("qa.speech is off")
    if span.length <= 0:
        return skipped("no narration heard")
    from vivant.qa import speech

    try:
        model = speech_model or speech.load_model(speech.multilingual_model_dir(q.whisper_model_dir))
    except (ConfigError, ExternalToolError) as e:
        log.warning("QA without speech checks: %s", e)
        return skipped(str(e))
    lo = max(0, int((span.start - 0.3) * media.AUDIO_RATE))
    part = mono[lo : int((span.end + 0.3) * media.AUDIO_RATE)]
    heard = speech.hear(model, part, language or "en")
    offset = lo / media.AUDIO_RATE
    words = [w.model_copy(update={"start": w.start + offset, "end": w.end + offset}) for w in heard.words]
    out: list[Check] = []
    if inputs.script:
        if inputs.degraded_voice:
            limit = q.degraded_voice_max_wer
        else:
            limit = q.max_wer.get(language, max(q.max_wer.values(), default=0.5))
        rate = speech.wer(inputs.script, heard.text)
        out.append(
            Check(
                name="wer",
                group="speech",
                verdict=_ok(rate <= limit),
                value=round(rate, 3),
                threshold=f"<= {limit:g}",
                detail=f"heard: {heard.text[:160]}",
            )
        )
        share = len(speech.tokens(heard.text)) / max(1, len(speech.tokens(inputs.script)))
        out.append(
            Check(
                name="words_heard",
                group="speech",
                verdict=_ok(share >= q.min_words_heard),
                value=round(share, 3),
                threshold=f">= {q.min_words_heard:g}",
                detail="words heard / words in the script",
            )
        )
    else:
        out += [Check(name=n, group="speech", verdict="skip", detail="no script given") for n in ("wer", "words_heard")]
    if language:
        p = heard.expected_probability
        out.append(
            Check(
                name="language",
                group="speech",
                verdict=_ok(p >= q.min_language_probability),
                value=round(p, 3),
                threshold=f">= {q.min_language_probability:g}",
                detail=f"probability of {language!r}; detected {heard.language!r}",
            )
        )
    else:
        out.append(
            Check(
                name="language",
                group="speech",
                verdict="skip",
                value=heard.language,
                detail="no expected language (no --lang, no language tag)",
            )
        )
    if inputs.subtitles is None:
        out += [
            Check(name=n, group="subtitles", verdict="skip", detail="no subtitles file given")
            for n in ("subtitle_coverage", "subtitle_timing")
        ]
        return out
    from vivant.qa.subs import compare, read_ass

    timing = compare(read_ass(inputs.subtitles), words)
    out.append(
        Check(
            name="subtitle_coverage",
            group="subtitles",
            verdict=_ok(timing.coverage >= q.min_subtitle_coverage),
            value=round(timing.coverage, 3),
            threshold=f">= {q.min_subtitle_coverage:g}",
            detail="share of heard words under a subtitle",
        )
    )
    ok = timing.lead <= q.max_subtitle_lead_seconds and timing.lag <= q.max_subtitle_lag_seconds
    worst = max(timing.lead, timing.lag)
    out.append(
        Check(
            name="subtitle_timing",
            group="subtitles",
            verdict=_ok(ok),
            value=round(worst, 3),
            unit="s",
            threshold=f"early <= {q.max_subtitle_lead_seconds:g} s, late <= {q.max_subtitle_lag_seconds:g} s",
            detail=f"shown early by {timing.lead:.2f} s, late by {timing.lag:.2f} s "
            f"(90th percentile of {timing.matched} words)",
            at=timing.worst_at,
        )
    )
    return out
