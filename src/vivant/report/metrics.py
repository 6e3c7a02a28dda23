"""The batch report's figures, computed from store rows: pure functions, no SQL, no rendering.

Definitions (the same as the seed write-up's "Pipeline Execution Report"):

- the night's *wall clock* runs from the batch's creation to the last attempt's end;
- a step's *wall clock* runs from its first attempt's start to its last attempt's end;
- *compute* is the sum of the attempts' ``compute`` (the attempt's whole duration when it recorded none);
  *queue wait* is the sum of their recorded ``queue_wait``; *outage* is the time lost to jobs a server lost or
  stopped answering (``unit_resubmitted`` events: from the lost submission to the new one); *other* is the rest
  of the step's wall clock;
- the *headline GPU* is ``report.primary_resource`` when the night used it (else the busiest GPU resource);
  its *efficiency* is its compute over the night's wall clock, and *GPU waiting* is the rest of that wall
  clock (queue waits plus the time other resources had the work);
- bottlenecks rank the steps by their compute on the headline GPU (on a CPU night: by compute);
- a painting's *wall clock* is the sum of its attempts' durations (step-major runs interleave paintings).

A timeline *lane* is one (resource, endpoint) pair; until attempts record an endpoint, the backend stands in.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel

from vivant.states import AttemptStatus, ItemState
from vivant.store import AttemptRow, BatchRow, ItemRow, PaintingRow

REVIEW_STATES = frozenset({ItemState.APPROVED, ItemState.REJECTED})
DONE_STATES = frozenset({ItemState.COMPLETE, ItemState.APPROVED, ItemState.REJECTED})


class StepFigures(BaseModel):
    number: int
    name: str
    resource: str
    """The resource the step uses in production."""
    resources_used: list[str]
    backends: list[str]
    attempts: int
    paintings: int
    wall: float
    compute: float
    gpu_compute: float
    """Compute on the headline GPU."""
    queue: float
    other: float
    busy: float | None
    """compute / wall."""
    failed_attempts: int
    outage: float = 0.0
    """Seconds lost to jobs sent again after a server loss (not counted in ``other``)."""
    resubmitted: int = 0
    cpu_substitute: bool
    """Ran (at least partly) on the CPU although the step is a GPU or LLM step in production."""
    degraded: bool


class Bottleneck(BaseModel):
    rank: int
    step: int
    name: str
    compute: float
    share: float
    avg_per_painting: float


class PaintingFigures(BaseModel):
    item_id: int
    key: str
    title: str
    artist: str
    state: str
    reason: str
    wall: float
    compute: float
    busy: float | None
    longest_step: str
    longest_seconds: float
    per_step: dict[int, float]


class Interval(BaseModel):
    start: float
    """Seconds since the night started."""
    end: float
    step: int
    painting: str
    language: str
    status: str
    compute: float
    queue: float


class Lane(BaseModel):
    resource: str
    endpoint: str
    gpu: bool
    intervals: list[Interval]
    busy: float
    """Seconds covered by at least one attempt."""
    idle: float
    longest_gap: float


class ResourceFigures(BaseModel):
    resource: str
    gpu: bool
    attempts: int
    compute: float
    queue: float
    share_of_night: float | None


class Counts(BaseModel):
    drawn: int
    completed: int
    aborted: int
    failed: int
    unfinished: int
    abort_reasons: dict[str, int]
    failure_reasons: dict[str, int]


class Rejections(BaseModel):
    automatic: float | None
    """Share of the drawn paintings refused at step 0."""
    automatic_count: int
    reviewed: int
    manual: float | None
    """Share of the reviewed paintings rejected at review; None until the review has seen one."""
    manual_count: int
    qa_count: int = 0
    """Videos (painting x language) held back by the automatic QA (step 10)."""
    qa_causes: dict[str, int] = {}
    """Failed QA check -> videos it held back."""


class Headline(BaseModel):
    batch: int
    note: str
    languages: list[str]
    started_at: float
    ended_at: float
    wall: float
    gpu_resource: str | None
    gpu_units: int
    """Endpoints (GPUs) of the headline resource; efficiency is compute over wall clock × units."""
    gpu_compute: float
    gpu_efficiency: float | None
    gpu_waiting: float
    queue_wait: float
    compute_total: float
    cpu_compute: float
    videos: int
    completed: int
    drawn: int
    cpu_only: bool


class Incident(BaseModel):
    at: float
    """Seconds from the batch's start."""
    kind: str
    step: int | None = None
    painting: str = ""
    language: str = ""
    endpoint: str = ""
    detail: str = ""
    old_remote_id: str = ""
    remote_id: str = ""
    lost_seconds: float = 0.0


class Figures(BaseModel):
    headline: Headline
    steps: list[StepFigures]
    bottlenecks: list[Bottleneck]
    paintings: list[PaintingFigures]
    lanes: list[Lane]
    resources: list[ResourceFigures]
    counts: Counts
    rejections: Rejections
    kept_videos: int
    notes: list[str]
    incidents: list[Incident] = []
    """Remote jobs sent again, servers lost and back (the events of ``events.NOTICES``), in time order."""


@dataclass(frozen=True)
class StepInfo:
    number: int
    name: str
    resource: str


@dataclass(frozen=True)
class Inputs:
    """Everything the figures are computed from (read from the store by :func:`vivant.report.build_report`)."""

    batch: BatchRow
    items: Sequence[ItemRow]
    paintings: dict[int, PaintingRow]
    attempts: Sequence[AttemptRow]
    transitions: dict[int, list[tuple[str, str, str]]]
    steps: Sequence[StepInfo]
    now: float
    incidents: Sequence[tuple[float, str, dict[str, Any]]] = ()
    """(time, kind, data) of the batch's ``unit_resubmitted`` / ``endpoint_down`` / ``endpoint_up`` events."""
    qa_failures: dict[int, dict[str, list[str]]] = field(default_factory=dict)
    """Item -> language -> the automatic QA checks (step 10) its video failed."""


def duration(a: AttemptRow, now: float) -> float:
    return max(0.0, (a.finished_at if a.finished_at is not None else now) - a.started_at)


def compute_of(a: AttemptRow, now: float) -> float:
    return a.compute if a.compute is not None else duration(a, now)


def endpoint_of(a: AttemptRow) -> str:
    """The lane name within a resource: the attempt's endpoint once the store records one, else its backend's
    family (``local:piper:...`` → ``local``), so that one machine is one lane."""
    return str(getattr(a, "endpoint", "") or a.backend.split(":")[0] or "?")


def _split_reasons(reasons: Iterable[str]) -> dict[str, int]:
    c: Counter[str] = Counter()
    for r in reasons:
        for part in (p.strip() for p in r.split(";")):
            if part:
                c[part] += 1
    return dict(c.most_common())


def _union_length(spans: list[tuple[float, float]]) -> tuple[float, float]:
    """(covered length, longest gap between spans) of intervals."""
    covered = gap = 0.0
    end: float | None = None
    for s, e in sorted(spans):
        if end is None or s > end:
            if end is not None:
                gap = max(gap, s - end)
            covered += e - s
            end = e
        elif e > end:
            covered += e - end
            end = e
    return covered, gap


def review_verdict(transitions: list[tuple[str, str, str]]) -> ItemState | None:
    """The item's standing review verdict: the last APPROVED/REJECTED not followed by a REDO."""
    verdict: ItemState | None = None
    for _old, new, _reason in transitions:
        if new in (ItemState.APPROVED.value, ItemState.REJECTED.value):
            verdict = ItemState(new)
        elif new == ItemState.REDO.value:
            verdict = None
    return verdict


def compute_figures(
    inp: Inputs, *, gpu_resources: Sequence[str], primary_resource: str, final_step: int | None = None
) -> Figures:
    now = inp.now
    batch = inp.batch
    gpu_set = set(gpu_resources)
    attempts = [a for a in inp.attempts if a.status != AttemptStatus.RUNNING or a.started_at <= now]
    by_item = {i.id: i for i in inp.items}
    last_step = final_step if final_step is not None else (inp.steps[-1].number if inp.steps else 9)

    started = batch.created_at
    if attempts:
        started = min(started, min(a.started_at for a in attempts))
    finishes = [a.finished_at if a.finished_at is not None else now for a in attempts]
    ended = max(finishes) if finishes else (batch.finished_at or started)
    wall = max(0.0, ended - started)

    # -- resources and the headline GPU ------------------------------------------------------------------------
    res_compute: dict[str, float] = defaultdict(float)
    res_queue: dict[str, float] = defaultdict(float)
    res_count: Counter[str] = Counter()
    for a in attempts:
        r = a.resource or "cpu"
        res_compute[r] += compute_of(a, now)
        res_queue[r] += a.queue_wait or 0.0
        res_count[r] += 1
    gpus_used = [r for r in res_compute if r in gpu_set]
    if primary_resource in gpus_used:
        primary: str | None = primary_resource
    elif gpus_used:
        primary = max(gpus_used, key=lambda r: res_compute[r])
    else:
        primary = None
    cpu_only = primary is None
    resources = [
        ResourceFigures(
            resource=r, gpu=r in gpu_set, attempts=res_count[r], compute=res_compute[r], queue=res_queue[r],
            share_of_night=res_compute[r] / wall if wall > 0 else None,
        )
        for r in sorted(res_compute, key=lambda r: (r not in gpu_set, r != primary, r))
    ]  # fmt: skip

    def on_headline(a: AttemptRow) -> bool:
        return (a.resource or "cpu") == primary if primary else True

    # -- steps --------------------------------------------------------------------------------------------------
    incidents = [
        Incident(
            at=float(data.get("at", at)) - started, kind=kind, step=data.get("step"),
            painting=str(data.get("painting", "")), language=str(data.get("language", "")),
            endpoint=str(data.get("endpoint", "")), detail=str(data.get("reason") or data.get("why") or ""),
            old_remote_id=str(data.get("old_remote_id", "")), remote_id=str(data.get("remote_id", "")),
            lost_seconds=float(data.get("lost_seconds") or 0.0),
        )
        for at, kind, data in inp.incidents
    ]  # fmt: skip
    outage: dict[int, float] = defaultdict(float)
    resent: Counter[int] = Counter()
    for inc in incidents:
        if inc.kind == "unit_resubmitted" and inc.step is not None:
            outage[inc.step] += inc.lost_seconds
            resent[inc.step] += 1
    step_rows: list[StepFigures] = []
    infos = {s.number: s for s in inp.steps}
    for n in sorted({*infos, *(a.step for a in attempts)}):
        info = infos.get(n, StepInfo(n, f"step {n}", "cpu"))
        rows = [a for a in attempts if a.step == n]
        if not rows:
            continue
        s_wall = max(a.finished_at if a.finished_at is not None else now for a in rows) - min(
            a.started_at for a in rows
        )
        compute = sum(compute_of(a, now) for a in rows)
        queue = sum(a.queue_wait or 0.0 for a in rows)
        used = sorted({a.resource or "cpu" for a in rows})
        step_rows.append(
            StepFigures(
                number=n, name=info.name, resource=info.resource, resources_used=used,
                backends=sorted({a.backend for a in rows if a.backend}), attempts=len(rows),
                paintings=len({a.item_id for a in rows}), wall=s_wall, compute=compute,
                gpu_compute=sum(compute_of(a, now) for a in rows if primary and on_headline(a)),
                queue=queue, other=max(0.0, s_wall - compute - queue - outage[n]), outage=outage[n],
                resubmitted=resent[n],
                busy=compute / s_wall if s_wall > 0 else None,
                failed_attempts=sum(a.status == AttemptStatus.FAILED for a in rows),
                cpu_substitute=info.resource != "cpu" and "cpu" in used,
                degraded=any(a.degraded for a in rows),
            )
        )  # fmt: skip

    # -- bottlenecks ---------------------------------------------------------------------------------------------
    key = (lambda s: s.gpu_compute) if primary else (lambda s: s.compute)
    total = sum(key(s) for s in step_rows)
    ranked = sorted((s for s in step_rows if key(s) > 0), key=key, reverse=True)[:3]
    bottlenecks = [
        Bottleneck(
            rank=i + 1, step=s.number, name=s.name, compute=key(s), share=key(s) / total if total else 0.0,
            avg_per_painting=key(s) / max(1, s.paintings),
        )
        for i, s in enumerate(ranked)
    ]  # fmt: skip

    # -- paintings -----------------------------------------------------------------------------------------------
    names = {s.number: s.name for s in step_rows}
    per_item: dict[int, list[AttemptRow]] = defaultdict(list)
    for a in attempts:
        per_item[a.item_id].append(a)
    paintings: list[PaintingFigures] = []
    for item in inp.items:
        rows = per_item.get(item.id, [])
        p = inp.paintings.get(item.painting_id)
        per_step: dict[int, float] = defaultdict(float)
        for a in rows:
            per_step[a.step] += duration(a, now)
        p_wall = sum(per_step.values())
        p_compute = sum(compute_of(a, now) for a in rows if cpu_only or (a.resource or "cpu") in gpu_set)
        longest = max(per_step, key=lambda s: per_step[s]) if per_step else None
        paintings.append(
            PaintingFigures(
                item_id=item.id, key=p.key if p else str(item.painting_id), title=p.title if p else "",
                artist=p.artist if p else "", state=item.state.value, reason=item.reason, wall=p_wall,
                compute=p_compute, busy=(p_compute / p_wall if p_wall > 0 and not cpu_only else None),
                longest_step=names.get(longest, "") if longest is not None else "",
                longest_seconds=per_step[longest] if longest is not None else 0.0, per_step=dict(per_step),
            )
        )  # fmt: skip

    # -- lanes ---------------------------------------------------------------------------------------------------
    lane_rows: dict[tuple[str, str], list[AttemptRow]] = defaultdict(list)
    for a in attempts:
        lane_rows[(a.resource or "cpu", endpoint_of(a))].append(a)
    lanes: list[Lane] = []
    for (res, endpoint), rows in sorted(lane_rows.items(), key=lambda kv: (kv[0][0] not in gpu_set, kv[0])):
        spans = [(a.started_at - started, (a.finished_at or now) - started) for a in rows]
        busy, gap = _union_length(spans)
        if spans:
            gap = max(gap, min(s for s, _ in spans), wall - max(e for _, e in spans))
        intervals = [
            Interval(
                start=a.started_at - started, end=(a.finished_at or now) - started, step=a.step,
                painting=inp.paintings[by_item[a.item_id].painting_id].key
                if a.item_id in by_item and by_item[a.item_id].painting_id in inp.paintings else str(a.item_id),
                language=a.language, status=a.status.value, compute=compute_of(a, now), queue=a.queue_wait or 0.0,
            )
            for a in sorted(rows, key=lambda a: a.started_at)
        ]  # fmt: skip
        lane = Lane(resource=res, endpoint=endpoint, gpu=res in gpu_set, intervals=intervals, busy=busy,
                    idle=max(0.0, wall - busy), longest_gap=gap)  # fmt: skip
        lanes.append(lane)

    # -- counts, rejections, videos ------------------------------------------------------------------------------
    states = Counter(i.state for i in inp.items)
    completed = sum(states[s] for s in DONE_STATES)
    aborted_items = [i for i in inp.items if i.state == ItemState.ABORTED]
    failed_items = [i for i in inp.items if i.state == ItemState.FAILED]
    counts = Counts(
        drawn=len(inp.items), completed=completed, aborted=len(aborted_items), failed=len(failed_items),
        unfinished=len(inp.items) - completed - len(aborted_items) - len(failed_items),
        abort_reasons=_split_reasons(i.reason for i in aborted_items),
        failure_reasons=_split_reasons(i.reason for i in failed_items),
    )  # fmt: skip
    verdicts = {i.id: review_verdict(inp.transitions.get(i.id, [])) for i in inp.items}
    reviewed = [v for v in verdicts.values() if v is not None]
    rejected = sum(v == ItemState.REJECTED for v in reviewed)
    refused_at_0 = len(
        {a.item_id for a in attempts if a.step == 0 and a.status == AttemptStatus.REFUSED and not a.superseded}
        | {i.id for i in aborted_items}
    )
    rejections = Rejections(
        automatic=refused_at_0 / len(inp.items) if inp.items else None, automatic_count=refused_at_0,
        reviewed=len(reviewed), manual=rejected / len(reviewed) if reviewed else None, manual_count=rejected,
        qa_count=sum(len(langs) for langs in inp.qa_failures.values()),
        qa_causes=dict(Counter(c for langs in inp.qa_failures.values() for causes in langs.values() for c in causes)),
    )  # fmt: skip
    finals = [a for a in attempts if a.step == last_step and a.status == AttemptStatus.SUCCEEDED and not a.superseded]
    videos = len(finals)
    kept = sum(1 for a in finals if verdicts.get(a.item_id) == ItemState.APPROVED) if reviewed else videos

    notes: list[str] = []
    if cpu_only:
        notes.append("No GPU this night: every step ran on the CPU, so compute is CPU time and efficiency is n/a.")
    subs = [s for s in step_rows if s.cpu_substitute]
    if subs and not cpu_only:
        notes.append("CPU substitutes: " + ", ".join(f"{s.number} {s.name}" for s in subs) + ".")
    degraded = [s for s in step_rows if s.degraded]
    if degraded:
        notes.append("Degraded output: " + ", ".join(f"{s.number} {s.name}" for s in degraded) + ".")
    if not reviewed:
        notes.append("Not reviewed yet: every finished video counts as kept.")
    if counts.unfinished:
        notes.append(f"{counts.unfinished} painting(s) still have work left: the figures are provisional.")
    if resent:
        downs = sum(1 for i in incidents if i.kind == "endpoint_down")
        notes.append(
            f"Server losses: {sum(resent.values())} job(s) sent again ({sum(outage.values()):.1f} s lost, shown as"
            f" outage, not other), {downs} server outage(s): see the incidents."
        )

    gpu_compute = res_compute[primary] if primary else 0.0
    # several endpoints of the headline resource (GPUs working in parallel) multiply the capacity
    units = max(1, sum(1 for lane in lanes if lane.resource == primary)) if primary else 0
    headline = Headline(
        batch=batch.id, note=batch.note, languages=list(batch.languages), started_at=started, ended_at=ended,
        wall=wall, gpu_resource=primary, gpu_units=units, gpu_compute=gpu_compute,
        gpu_efficiency=gpu_compute / (wall * units) if primary and wall > 0 else None,
        gpu_waiting=max(0.0, wall * units - gpu_compute) if primary else 0.0,
        queue_wait=sum(res_queue.values()), compute_total=sum(res_compute.values()),
        cpu_compute=sum(v for r, v in res_compute.items() if r not in gpu_set), videos=videos,
        completed=completed, drawn=len(inp.items), cpu_only=cpu_only,
    )  # fmt: skip
    return Figures(
        headline=headline, steps=step_rows, bottlenecks=bottlenecks, paintings=paintings, lanes=lanes,
        resources=resources, counts=counts, rejections=rejections, kept_videos=kept, notes=notes,
        incidents=incidents,
    )  # fmt: skip
