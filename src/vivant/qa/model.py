"""What a QA run produces: one :class:`Check` per measure (value, threshold, verdict) and the :class:`QAReport`
of one video, stored as step 10's ``qa`` artifact (JSON) and printed by ``vivant qa``."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel

Verdict = Literal["pass", "fail", "skip"]
Group = Literal["format", "picture", "sound", "sync", "speech", "subtitles"]

CAUSE_STEP: dict[str, int] = {
    # check name -> the step that most likely made the defect (what `vivant redo` suggests)
    "size": 9,
    "video_codec": 9,
    "audio_codec": 9,
    "fps": 9,
    "duration": 1,  # a script too long makes a narration too long
    "black": 6,
    "frozen": 6,
    "face": 6,
    "loudness": 9,
    "true_peak": 9,
    "clipping": 9,
    "silence": 2,
    "stream_lengths": 9,
    "ending": 9,
    "file_size": 9,
    "sync": 6,
    "wer": 2,
    "words_heard": 2,
    "language": 2,
    "subtitle_coverage": 7,
    "subtitle_timing": 7,
}
"""A failed check points at the step to redo first; the most upstream cause wins."""


class Check(BaseModel):
    name: str
    group: Group
    verdict: Verdict
    value: float | str | None = None
    threshold: str = ""
    """The rule, readable: "<= 0.5 s", "-14.0 ± 2.0 LUFS"."""
    unit: str = ""
    detail: str = ""
    at: float | None = None
    """Where in the video (seconds) the problem is, for its picture."""

    def line(self) -> str:
        value = (
            f"{self.value:.3g}" if isinstance(self.value, float) else str(self.value if self.value is not None else "-")
        )
        unit = f" {self.unit}" if self.unit and self.value is not None else ""
        rule = f" (limit {self.threshold})" if self.threshold else ""
        more = f": {self.detail}" if self.detail else ""
        return f"{self.verdict.upper():4} {self.group}/{self.name} = {value}{unit}{rule}{more}"


class QAReport(BaseModel):
    video: str
    language: str = ""
    duration: float = 0.0
    seconds: float = 0.0
    """Time QA took."""
    checks: list[Check] = []
    picture: str = ""
    """File name (beside the report) of a picture of the first problem: a frame or the waveform."""

    @property
    def passed(self) -> bool:
        return not self.failed

    @property
    def failed(self) -> list[Check]:
        return [c for c in self.checks if c.verdict == "fail"]

    def check(self, name: str) -> Check | None:
        return next((c for c in self.checks if c.name == name), None)

    def causes(self) -> list[str]:
        """Names of the failed checks (the batch report counts automatic rejections by these)."""
        return [c.name for c in self.failed]

    def suggested_step(self) -> int | None:
        """The step to redo from: the most upstream step among the failed checks' likely causes."""
        steps = [CAUSE_STEP.get(c.name, 9) for c in self.failed]
        return min(steps) if steps else None
