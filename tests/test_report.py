"""The batch report, checked against the seed write-up's published night.

The seed's "Pipeline Execution Report" (``../shared/seed/homelab-ai-video-pipeline.txt``): batch #0, 20 paintings
drawn, 5 aborted at step 0 in under 3 seconds each, 15 completed into 30 videos (FR + EN); 4h 56m wall clock
(02:58 → 07:54), 4h 24m of compute on the ComfyUI GPU (steps 2–8), 31 minutes waiting, 89.4% efficiency,
bottlenecks lip-sync 62.0%, outro 15.9%, audio 10.4%, and €0.0193 a video at €0.1579/kWh off-peak.

The database is rebuilt from the seed's *per-step* table (wall clock and compute per step, in minutes), whose
columns add up to its totals. Its per-painting table does not (its rows add up to about 6h 48m, more than the
night), so each step's time is spread over the 15 paintings in proportion to their lip-sync times in that table
(and evenly over the two languages); step 0 is spread evenly over all 20 paintings. Attempts run back to back,
queue wait first, so each step's queue wait is its wall clock minus its compute.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import pytest
from typer.testing import CliRunner

from vivant.cli import app
from vivant.config import ReportSettings, Settings
from vivant.report import Report, build_report, report_paths, write_report
from vivant.report import fmt as f
from vivant.report.energy import ExporterReader, Meter, NvmlReader, off_peak_seconds
from vivant.report.terminal import render
from vivant.states import AttemptStatus, ItemState
from vivant.store import NewPainting, Store

# (step, name, resource, backend, per language, wall minutes, compute minutes): the seed's per-step table.
# Step 7 (subtitles) ran on the ComfyUI GPU in the seed; steps 0-1 on the LLM GPUs, step 9 on the CPU.
SEED_STEPS = [
    (0, "prepare", "llm", "openai", False, 0.9, 0.9),
    (1, "script", "llm", "openai", True, 21.6, 21.6),
    (2, "audio", "gpu", "comfyui", True, 28.2, 27.5),
    (3, "restore", "gpu", "comfyui", False, 2.3, 1.5),
    (4, "realistic", "gpu", "comfyui", False, 1.6, 0.8),
    (5, "transition", "gpu", "comfyui", False, 22.5, 21.8),
    (6, "lipsync", "gpu", "comfyui", True, 164.1, 163.3),
    (7, "subtitles", "gpu", "comfyui", True, 7.5, 6.7),
    (8, "outro", "gpu", "comfyui", False, 42.8, 42.0),
    (9, "final", "cpu", "local", True, 3.4, 3.4),
]
# The seed's per-painting table: painting, artist, lip-sync minutes (its "Longest Step").
SEED_PAINTINGS = [
    ("Young_Girl_Holding_a_Basket", "Berthe Morisot", 7.6),
    ("Thomas_Howard_2nd_Earl_of_Arundel", "Anthony van Dyck", 7.9),
    ("The_Spanish_Guitarist", "Pierre-Auguste Renoir", 10.0),
    ("Woman_in_a_Flowered_Hat", "Pierre-Auguste Renoir", 10.3),
    ("Woman_in_a_Garden", "Berthe Morisot", 10.6),
    ("Young_Girl_with_an_Apron", "Berthe Morisot", 10.8),
    ("Woman_with_Red_Hair", "Alice Pike Barney", 10.9),
    ("Young_Woman_with_a_Water_Pitcher", "Johannes Vermeer", 11.1),
    ("Woman_in_Tulle_Blouse", "Pierre-Auguste Renoir", 11.2),
    ("The_Embroiderer", "Jean Siméon Chardin", 11.3),
    ("The_Stroller_Suzanne_Hoschedé", "Claude Monet", 11.4),
    ("Young_Woman_with_Roses", "Alice Pike Barney", 12.2),
    ("Woman_Seated_under_the_Willows", "Claude Monet", 12.5),
    ("Young_Girl_in_a_Pink-and-Black_Hat", "Pierre-Auguste Renoir", 12.7),
    ("The_Red_Kerchief", "Claude Monet", 13.6),
]
# The seed names the kinds of step-0 refusal, not the five paintings.
SEED_ABORTED = [
    ("aborted_1", "blurry painting"),
    ("aborted_2", "2 people: not a single portrait"),
    ("aborted_3", "nudity"),
    ("aborted_4", "blurry painting"),
    ("aborted_5", "2 people: not a single portrait"),
]
SEED_START = datetime(2026, 5, 22, 2, 58)  # local time, as the seed's clock read


class Clock:
    def __init__(self, t: float) -> None:
        self.t = t

    def __call__(self) -> float:
        return self.t


@dataclass
class Night:
    store: Store
    settings: Settings
    batch_id: int
    clock: Clock


def _paintings(store: Store, rows: list[tuple[str, str]]) -> dict[str, int]:
    store.add_paintings(
        NewPainting(key=k, title=k.replace("_", " "), artist=a, image_path=f"/nowhere/{k}.jpg", is_portrait=True)
        for k, a in rows
    )
    return {k: store.find_painting(k).id for k, _ in rows}


def _attempt(night: Night, item_id: int, step: int, lang: str, resource: str, backend: str, seconds: float,
             compute: float, *, status: AttemptStatus = AttemptStatus.SUCCEEDED, error: str = "",
             degraded: bool = False) -> None:  # fmt: skip
    a = night.store.start_attempt(item_id, step, lang, backend=backend, resource=resource)
    night.clock.t += seconds
    night.store.finish_attempt(a.id, status, error=error, backend=backend, degraded=degraded,
                               queue_wait=seconds - compute, compute=compute)  # fmt: skip


def build_seed_night(folder: Path, settings: Settings | None = None) -> Night:
    clock = Clock(SEED_START.timestamp())
    store = Store.open(folder / "vivant.db", clock=clock)
    settings = settings or Settings().resolved(folder)
    ids = _paintings(store, [(k, a) for k, a, _ in SEED_PAINTINGS] + [(k, "Unknown") for k, _ in SEED_ABORTED])
    order = [k for k, _, _ in SEED_PAINTINGS] + [k for k, _ in SEED_ABORTED]
    batch_id = store.create_batch([ids[k] for k in order], languages=["fr", "en"], seed=2026, note="seed night")
    night = Night(store, settings, batch_id, clock)
    items = {store.painting(i.painting_id).key: i.id for i in store.items(batch_id)}
    reasons = dict(SEED_ABORTED)
    weight = {k: w for k, _, w in SEED_PAINTINGS}
    total_weight = sum(weight.values())
    for n, _name, res, backend, per_lang, wall_min, compute_min in SEED_STEPS:
        langs = ["fr", "en"] if per_lang else [""]
        # step 0 ran on all 20 paintings; the later steps on the 15 kept, in proportion to their lip-sync
        share = {k: 1 / len(order) for k in order} if n == 0 else {k: weight[k] / total_weight for k in weight}
        for key, part in share.items():
            item = items[key]
            if n == 0:
                store.set_state(item, ItemState.PROCESSING)
            for lang in langs:
                seconds = wall_min * 60 * part / len(langs)
                compute = compute_min * 60 * part / len(langs)
                if key in reasons:
                    _attempt(night, item, n, lang, res, backend, seconds, compute,
                             status=AttemptStatus.REFUSED, error=reasons[key])  # fmt: skip
                    store.set_state(item, ItemState.ABORTED, reasons[key])
                else:
                    _attempt(night, item, n, lang, res, backend, seconds, compute)
    for key in weight:
        store.set_state(items[key], ItemState.COMPLETE)
    store.set_batch_status(batch_id, "FINISHED")
    return night


@pytest.fixture
def seed(tmp_path: Path) -> Night:
    night = build_seed_night(tmp_path)
    yield night
    night.store.close()


def test_seed_night_headline_figures(seed: Night) -> None:
    r = build_report(seed.store, seed.settings, seed.batch_id)
    h = r.figures.headline
    assert f.hm(h.wall) == "4h 55m"  # the seed's table adds up to 294.9 min (its header rounds 02:58 → 07:54)
    assert h.gpu_resource == "gpu"
    assert f.hm(h.gpu_compute) == "4h 24m"
    assert f.hm(h.gpu_waiting) == "31m"
    assert f.pct(h.gpu_efficiency) == "89.4%"
    assert (h.videos, h.completed, h.drawn, h.cpu_only) == (30, 15, 20, False)
    # the seed's shares come from unrounded minutes: 163.3 / 263.6 is 61.95%, which it prints as 62.0%
    seed_shares = [("lipsync", 62.0, "10.9m"), ("outro", 15.9, "2.8m"), ("audio", 10.4, "1.8m")]
    assert [b.name for b in r.figures.bottlenecks] == [name for name, _, _ in seed_shares]
    for b, (_name, share, avg) in zip(r.figures.bottlenecks, seed_shares, strict=True):
        assert abs(b.share * 100 - share) <= 0.1 and f.minutes(b.avg_per_painting) == avg, b
    c = r.figures.counts
    assert (c.completed, c.aborted, c.failed, c.unfinished) == (15, 5, 0, 0)
    assert c.abort_reasons == {"blurry painting": 2, "2 people: not a single portrait": 2, "nudity": 1}
    assert f.pct(r.figures.rejections.automatic) == "25.0%"
    assert r.figures.rejections.manual is None  # no review yet
    assert r.previous is None


def test_seed_night_per_step_and_per_painting(seed: Night) -> None:
    r = build_report(seed.store, seed.settings, seed.batch_id)
    steps = {s.number: s for s in r.figures.steps}
    for n, _name, res, _backend, _lang, wall, compute in SEED_STEPS:
        s = steps[n]
        assert (f.minutes(s.wall), f.minutes(s.compute)) == (f"{wall:.1f}m", f"{compute:.1f}m"), n
        assert s.resources_used == [res]
        assert abs(s.queue - (wall - compute) * 60) < 0.01
        assert not s.cpu_substitute or n == 9
    # the seed's GPU % column comes from unrounded minutes: the rounded table is within 2 points of it
    for n, seed_pct in {2: 97.3, 3: 66.2, 4: 51.6, 5: 96.6, 6: 99.5, 7: 89.3, 8: 98.1}.items():
        assert abs((steps[n].busy or 0) * 100 - seed_pct) < 2.0, n
    done = [p for p in r.figures.paintings if p.state == "COMPLETE"]
    assert len(done) == 15 and all(p.longest_step == "lipsync" for p in done)
    assert abs(sum(p.wall for p in r.figures.paintings) - r.figures.headline.wall) < 1.0
    aborted = [p for p in r.figures.paintings if p.state == "ABORTED"]
    assert all(p.wall < 3 for p in aborted)  # "all were rejected in under 3 seconds"
    lanes = {(lane.resource, lane.endpoint): lane for lane in r.figures.lanes}
    assert set(lanes) == {("gpu", "comfyui"), ("llm", "openai"), ("cpu", "local")}
    gpu = lanes[("gpu", "comfyui")]
    queued = sum(iv.queue for iv in gpu.intervals)
    assert abs(gpu.idle + queued - r.figures.headline.gpu_waiting) < 1.0  # waiting = idle lane + queue wait


def test_seed_night_cost_per_video(seed: Night) -> None:
    r = build_report(seed.store, seed.settings, seed.batch_id)
    cost = r.cost
    assert cost.off_peak_price_per_kwh == 0.1579
    assert cost.off_peak_kwh == pytest.approx(cost.kwh)  # 02:58 → 07:53 is all off-peak by default
    assert f.money(cost.per_video, "€") == "€0.0193"
    assert cost.per_kept_video == cost.per_video  # not reviewed yet: every video is kept
    assert not cost.measured
    # with peak hours from 06:00, the last two hours cost more
    peak = seed.settings.model_copy(update={"report": ReportSettings(off_peak_hours=["22:00-06:00"])})
    dearer = build_report(seed.store, peak, seed.batch_id).cost
    assert dearer.per_video and cost.per_video and dearer.per_video > cost.per_video
    assert 0.5 < dearer.off_peak_kwh / dearer.kwh < 0.7


def test_measured_energy_replaces_the_estimate(seed: Night) -> None:
    class FakeNvml:
        """Stands in for pynvml: one device whose energy counter (mJ) advances 1.8 kWh per night."""

        def __init__(self) -> None:
            self.mj = 5_000_000.0

        def nvmlInit(self) -> None:
            pass

        def nvmlDeviceGetHandleByIndex(self, i: int) -> int:
            return i

        def nvmlDeviceGetTotalEnergyConsumption(self, handle: int) -> float:
            return self.mj

    fake = FakeNvml()
    meter = Meter(NvmlReader({"gpu": [0]}, nvml=fake))
    fake.mj += 1.8 * 3.6e9  # 1.8 kWh in millijoules
    measured = meter.stop()
    assert measured == {"gpu": (pytest.approx(1.8 * 3.6e6), "nvml")}
    estimated = build_report(seed.store, seed.settings, seed.batch_id).cost
    write_report(seed.store, seed.settings, seed.batch_id, measured=measured)
    data = json.loads(report_paths(seed.settings, seed.batch_id)[1].read_text())
    cost = Report.model_validate(data).cost
    gpu = next(e for e in cost.resources if e.resource == "gpu")
    assert (gpu.source, round(gpu.kwh, 3)) == ("nvml", 1.8)
    assert cost.measured and cost.kwh < estimated.kwh
    # a later report of the batch keeps the measurement (it is an event of the batch)
    assert build_report(seed.store, seed.settings, seed.batch_id).cost.measured


def test_exporter_reader_adds_up_the_counter() -> None:
    text = (
        "# HELP DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION Total energy (mJ)\n"
        'DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION{gpu="0"} 1.5e6\n'
        'DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION{gpu="1"} 500000\n'
        'DCGM_FI_DEV_POWER_USAGE{gpu="0"} 300\n'
    )
    reader = ExporterReader("http://exporter:9400/metrics", "DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION", "gpu",
                            fetch=lambda url: text)  # fmt: skip
    assert reader.read() == {"gpu": 2000.0}


def test_off_peak_hours_cross_midnight() -> None:
    t0 = datetime(2026, 5, 21, 21, 0).timestamp()
    assert off_peak_seconds(t0, t0 + 4 * 3600, ["22:00-06:00"]) == 3 * 3600
    t1 = datetime(2026, 5, 22, 5, 0).timestamp()
    assert off_peak_seconds(t1, t1 + 3 * 3600, ["22:00-06:00", "12:30-14:00"]) == 3600
    assert off_peak_seconds(t1, t1 + 3600, []) == 0


def _cpu_night(night: Night) -> int:
    """A second, local night after the seed's: two paintings on the CPU, one failed attempt, then a review."""
    store, clock = night.store, night.clock
    clock.t += 18 * 3600
    ids = _paintings(store, [("cpu_one", "A"), ("cpu_two", "B")])
    batch_id = store.create_batch(list(ids.values()), languages=["en"], seed=1, note="local")
    degraded_steps = {1, 4, 5, 6, 8}
    items = [i.id for i in store.items(batch_id)]
    for item in items:
        store.set_state(item, ItemState.PROCESSING)
    for n in range(10):
        for item in items:
            if n == 6 and item == items[0]:
                _attempt(night, item, n, "en", "cpu", "local", 5, 5, status=AttemptStatus.FAILED, error="boom")
            _attempt(night, item, n, "en", "cpu", "local", 10 + n, 10 + n, degraded=n in degraded_steps)
    for item in items:
        store.set_state(item, ItemState.COMPLETE)
    store.set_batch_status(batch_id, "FINISHED")
    store.set_state(items[0], ItemState.APPROVED)
    store.set_state(items[1], ItemState.REJECTED, "failed lip-sync")
    return batch_id


def test_cpu_night_flags_substitutes_and_shows_the_previous_night(seed: Night) -> None:
    batch_id = _cpu_night(seed)
    r = build_report(seed.store, seed.settings, batch_id)
    h = r.figures.headline
    assert h.cpu_only and h.gpu_efficiency is None and h.gpu_resource is None
    assert h.compute_total == pytest.approx(2 * sum(10 + n for n in range(10)) + 5)
    assert any("No GPU" in n for n in r.figures.notes)
    steps = {s.number: s for s in r.figures.steps}
    assert [n for n, s in steps.items() if s.cpu_substitute] == [0, 1, 2, 3, 4, 5, 6, 7, 8]
    assert [n for n, s in steps.items() if s.degraded] == [1, 4, 5, 6, 8]
    assert steps[6].failed_attempts == 1
    assert r.figures.bottlenecks[0].name == "final"
    rej = r.figures.rejections
    assert (rej.reviewed, rej.manual_count, f.pct(rej.manual)) == (2, 1, "50.0%")
    assert (r.cost.videos, r.cost.kept_videos) == (2, 1)
    assert r.previous is not None and r.previous.headline.batch == seed.batch_id
    assert f.pct(r.previous.headline.gpu_efficiency) == "89.4%"
    # the terminal view says the same
    from rich.console import Console

    console = Console(width=140, record=True)
    console.print(render(r))
    text = console.export_text()
    assert "CPU substitute" in text and "degraded" in text and "n/a" in text and "89.4%" in text
    assert "manual (review) 50.0%" in text


def _chromium() -> str:
    path = "/usr/bin/chromium"
    if not Path(path).is_file():
        if os.environ.get("CI"):
            pytest.fail("Debian's chromium is missing (.ci/run installs it)")
        pytest.skip("no /usr/bin/chromium")
    return path


@dataclass
class Page:
    text: str
    charts: int
    bars: int
    runs: int


def screenshot(page_path: Path, out: Path) -> Page:
    """Open the page in headless Chromium, take a full-page screenshot, say what is drawn; no request may leave."""
    if os.environ.get("CI"):
        from playwright.sync_api import sync_playwright
    else:
        sync_playwright = pytest.importorskip("playwright.sync_api").sync_playwright
    chromium = _chromium()
    args = ["--disable-gpu", "--no-first-run", "--disable-background-networking", "--disable-component-update",
            "--disable-sync"]  # fmt: skip
    requests: list[str] = []
    errors: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=args)
        try:
            page = browser.new_page(viewport={"width": 1100, "height": 900})
            page.on("request", lambda req: requests.append(req.url))
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.goto(page_path.as_uri())
            page.screenshot(path=str(out), full_page=True)
            seen = Page(
                text=page.locator("body").inner_text(),
                charts=page.locator("svg.chart").count(),
                bars=page.locator("svg rect.bar").count(),
                runs=page.locator("svg rect.run").count(),
            )
        finally:
            browser.close()
    assert not errors, errors
    assert [u for u in requests if not u.startswith("file:")] == []
    assert out.stat().st_size > 20_000
    return seen


def test_seed_report_html_opens_in_chromium(seed: Night, tmp_path: Path) -> None:
    path = write_report(seed.store, seed.settings, seed.batch_id)
    assert path == seed.settings.reports_dir / "batch-0001.html"
    html = path.read_text()
    assert not re.search(r"""(src|href)\s*=\s*["']?https?:""", html)
    assert "<script" not in html
    page = screenshot(path, tmp_path / "seed-report.png")
    assert page.charts == 4
    assert page.bars >= 10 + 3 * 7 + 15 * 9  # steps, compute/queue/other, paintings stacked by step
    assert page.runs == len(seed.store.attempts(batch_id=seed.batch_id))
    for figure in ("4h 55m", "4h 24m", "89.4%", "31m", "61.9%", "15.9%", "10.4%", "€0.0193", "The_Red_Kerchief"):
        assert figure in page.text, figure


def test_report_command(seed: Night, tmp_path: Path) -> None:
    cfg = tmp_path / "vivant.toml"
    cfg.write_text('workspace = "."\n')
    seed.store.close()
    runner = CliRunner()
    result = runner.invoke(app, ["report", "--config", str(cfg), "--json", "--no-html"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["figures"]["headline"]["batch"] == 1
    assert not (tmp_path / "reports" / "batch-0001.html").exists()
    result = runner.invoke(app, ["report", "1", "--config", str(cfg)], env={"COLUMNS": "160"})
    assert result.exit_code == 0, result.output
    assert "89.4%" in result.output and "61.9%" in result.output
    assert (tmp_path / "reports" / "batch-0001.html").is_file()
    assert (tmp_path / "reports" / "batch-0001.json").is_file()
    assert "batch-0001.html" in result.output.replace("\n", "")
    result = runner.invoke(app, ["report", "7", "--config", str(cfg)])
    assert result.exit_code == 1 and "no batch 7" in result.output


def test_a_batch_not_started_yet_still_reports(tmp_path: Path) -> None:
    store = Store.open(tmp_path / "vivant.db", clock=Clock(SEED_START.timestamp()))
    settings = Settings().resolved(tmp_path)
    ids = _paintings(store, [("only", "Someone")])
    batch_id = store.create_batch(list(ids.values()), languages=["en"], seed=None)
    r = build_report(store, settings, batch_id)
    assert r.figures.headline.wall == 0 and r.figures.counts.unfinished == 1
    assert any("still have work left" in n for n in r.figures.notes)
    assert write_report(store, settings, batch_id).is_file()
    store.close()
