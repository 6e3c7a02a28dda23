"""Step 0 on an OpenAI-compatible vision model: :class:`LLMInspector` runs the CPU inspector (faces, blur,
resolution, nudenet) and asks the model about the image (attached as a base64 data URL): people, gender, age group,
child, nudity, single portrait, confidence. :func:`combine` applies ``[llm.vision]``'s rules to both and keeps
every measure as a check.

Thread-safe: the CPU measures run one at a time (OpenCV's cascades and nudenet are not known to be thread-safe)
while the vision requests run side by side.
"""

from __future__ import annotations

import base64
import io
import logging
import re
import threading
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from vivant.backends.openai.client import LLMClient, Message, note_server
from vivant.backends.openai.prompts import Prompts, year_text
from vivant.backends.openai.structured import strict_schema
from vivant.config import ChecksSettings, HeadOrientation, LLMSettings, NudityLevel, VisionRules
from vivant.roles import Box, Check, Inspector, Painting, Sitter, Verdict

log = logging.getLogger(__name__)

IMAGE_LONG_SIDE = 1024
"""The image sent to the vision model is scaled down to this long side (JPEG)."""


class VisionVerdict(BaseModel):
    """The vision model's answer about one image."""

    model_config = ConfigDict(extra="forbid")

    people: int = Field(ge=0, le=100)
    gender: Literal["female", "male", "unclear", "none"]
    age_group: Literal["child", "teen", "adult", "elderly", "none"]
    child_present: bool
    nudity: NudityLevel
    single_portrait: bool
    confidence: float = Field(ge=0, le=1)


def image_data_url(path: Path, long_side: int = IMAGE_LONG_SIDE) -> str:
    """The image as a ``data:image/jpeg;base64,...`` URL, scaled down to ``long_side`` (raises InputError)."""
    from vivant.backends.local.vision import load_image

    rgb = load_image(path)
    rgb.thumbnail((long_side, long_side))
    buf = io.BytesIO()
    rgb.save(buf, format="JPEG", quality=90)
    return "data:image/jpeg;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def head_orientation(face: Box | None) -> HeadOrientation:
    """The main face's orientation from which detectors agreed on it (the box's label lists them).

    Frontal cascades only: frontal; the profile cascade only: profile; both: three-quarter; nudenet alone
    (it finds faces at any angle) or no face: unknown.
    """
    if face is None:
        return "unknown"
    frontal = len(set(re.findall(r"frontalface_\w+", face.label)))
    profile = "profileface" in face.label
    if frontal and profile:
        return "three-quarter"
    if frontal:
        return "frontal"
    if profile:
        return "profile"
    return "unknown"


_PEOPLE_REASON = re.compile(r"^\d+ people \(max \d+\)$")
"""The CPU inspector's reason for too many faces (replaced by a confident vision model's count)."""


def combine(cpu: Verdict, llm: VisionVerdict, rules: VisionRules, *, backend: str) -> Verdict:
    """Step 0's verdict from the CPU measures and the vision model's answer, by ``rules``.

    The model's safety flags (child, nudity) always count, as do the CPU's (nudenet, catalog words); its people
    count and single-portrait answer replace the CPU's face count only when it is confident enough. Blur,
    resolution, face size and head orientation are the CPU's measures. Its ``gender`` (female or male) is the
    sitter's (source ``vision-model``) unless the catalog gives one; "unclear" keeps the CPU's guess.
    """
    confident = llm.confidence >= rules.min_confidence
    reasons = [r for r in cpu.reasons if not (confident and _PEOPLE_REASON.match(r))]
    checks = list(cpu.checks)

    ok = 1 <= llm.people <= rules.max_people
    checks.append(
        Check(name="llm_people", passed=ok, value=llm.people, threshold=rules.max_people, note=f"{llm.gender}")
    )
    if confident and not ok:
        reasons.append(f"vision model: {llm.people} people (max {rules.max_people})")

    ok = llm.single_portrait or not rules.require_single_portrait
    checks.append(Check(name="llm_single_portrait", passed=ok, value=str(llm.single_portrait).lower()))
    if confident and not ok:
        reasons.append("vision model: not a single portrait")

    child = llm.child_present or llm.age_group == "child"
    ok = not (child and rules.refuse_child)
    checks.append(Check(name="llm_child", passed=ok, value=llm.age_group, note=f"child_present={llm.child_present}"))
    if not ok:
        reasons.append(f"vision model: child present (age group {llm.age_group})")

    ok = llm.nudity in rules.allowed_nudity
    checks.append(Check(name="llm_nudity", passed=ok, value=llm.nudity, threshold=", ".join(rules.allowed_nudity)))
    if not ok:
        reasons.append(f"vision model: nudity {llm.nudity!r} (allowed: {', '.join(rules.allowed_nudity)})")

    checks.append(
        Check(
            name="llm_confidence",
            passed=confident,
            value=round(llm.confidence, 3),
            threshold=rules.min_confidence,
            note="" if confident else "people count and single portrait taken from the CPU detectors",
        )
    )

    orientation = head_orientation(cpu.main_face)
    ok = orientation in rules.allowed_orientations
    checks.append(
        Check(
            name="head_orientation",
            passed=ok,
            value=orientation,
            threshold=", ".join(rules.allowed_orientations),
            note="from the face detectors that agreed",
        )
    )
    if not ok:
        reasons.append(f"head orientation {orientation} (allowed: {', '.join(rules.allowed_orientations)})")

    sitter = cpu.sitter
    if sitter.source != "catalog" and llm.gender in ("female", "male"):
        sitter = Sitter(
            gender=llm.gender,
            source="vision-model",
            confidence=round(llm.confidence, 3),
            note=f"CPU said {cpu.sitter.gender} ({cpu.sitter.source})",
        )

    return cpu.model_copy(
        update={
            "accepted": not reasons,
            "reasons": reasons,
            "checks": checks,
            "sitter": sitter,
            "people": llm.people if confident else cpu.people,
            "backend": backend,
            "degraded": cpu.degraded,
        }
    )


class LLMInspector:
    """The Inspector that adds a vision model's verdict to the CPU inspector's measures.

    Thread-safe: the CPU measures run one at a time (under a lock), the vision requests side by side.
    """

    degraded = False

    def __init__(
        self,
        settings: LLMSettings,
        *,
        client: LLMClient | None = None,
        prompts: Prompts | None = None,
        cpu: Inspector | None = None,
    ) -> None:
        self.settings = settings
        model = settings.vision_model or settings.model
        self.client = client or LLMClient.from_settings(settings, model=model)
        self.prompts = prompts or Prompts(settings.prompts_dir)
        if cpu is None:
            from vivant.backends.local.vision import LocalInspector

            cpu = LocalInspector()
        self.cpu = cpu
        self._cpu_lock = threading.Lock()

    @property
    def name(self) -> str:
        return f"openai:{self.client.model}+{self.cpu.name}"

    def schema(self) -> dict[str, Any]:
        """The verdict's schema; ``guided`` lists the allowed numbers (grammars ignore minimum/maximum)."""
        if not self.settings.guided:
            return strict_schema(VisionVerdict)
        return strict_schema(
            VisionVerdict,
            people={"enum": list(range(11))},
            confidence={"enum": [round(i / 10, 1) for i in range(11)]},
        )

    def ask(self, image: Path, painting: Painting) -> VisionVerdict:
        text = self.prompts.render(
            "vision.user", title=painting.title, artist=painting.artist, year_text=year_text(painting)
        )
        messages: list[Message] = [
            {"role": "system", "content": self.prompts.render("vision.system")},
            {
                "role": "user",
                "content": [
                    {"type": "text", "text": text},
                    {"type": "image_url", "image_url": {"url": image_data_url(image)}},
                ],
            },
        ]
        return self.client.structured(
            messages,
            VisionVerdict,
            name="vision_verdict",
            json_schema=self.schema(),
            temperature=0.0,
            max_tokens=300,
            retry_prompt=self.prompts.text("retry"),
        )

    def inspect(self, image: Path, painting: Painting, checks: ChecksSettings) -> Verdict:
        with self._cpu_lock:  # OpenCV's cascades and nudenet's session, one image at a time
            cpu = self.cpu.inspect(image, painting, checks)  # raises InputError first for a bad image
        llm = self.ask(image, painting)
        note_server(self.client)
        verdict = combine(cpu, llm, self.settings.vision, backend=self.name)
        log.info(
            "%s: vision model says %d people, %s, nudity %s, confidence %.2f -> %s",
            image.name,
            llm.people,
            llm.age_group,
            llm.nudity,
            llm.confidence,
            "accepted" if verdict.accepted else "; ".join(verdict.reasons),
        )
        return verdict
