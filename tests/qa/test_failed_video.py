"""What a video failing QA does: step 10 (run again through `vivant redo`) records the failure, the review
page shows that painting first with its failed checks and a picture (in a real browser), the publisher never
posts it, the batch report counts it by cause, and `vivant redo` suggests the step to start from."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from tests.review.helpers import CHROMIUM, CHROMIUM_ARGS, need_chromium, serving
from vivant import config
from vivant.cli import app
from vivant.qa import results
from vivant.review import actions, create_app
from vivant.review.data import cards
from vivant.states import ItemState
from vivant.store import Store

pytestmark = pytest.mark.slow
runner = CliRunner()
PAINTING = "vermeer_girl-with-a-pearl-earring"


def _fail_batch_2(ws_config: Path) -> config.Settings:
    """QA again on batch 2 (the clone, item 2) with a platform limit its videos exceed: both languages fail."""
    text = ws_config.read_text()
    ws_config.write_text(text + "\n[qa]\nspeech = false\n[qa.platforms.tiny]\nmax_seconds = 5.0\n")
    result = runner.invoke(app, ["redo", PAINTING, "--batch", "2", "--from", "qa", "--run", "--config", str(ws_config)])
    assert result.exit_code == 0, result.output
    ws_config.write_text(text)  # the thresholds of the night again: item 1 keeps its passing verdict
    return config.load(ws_config)


def test_a_failed_video_is_held_back_counted_and_redone_from_the_suggested_step(ws_config: Path) -> None:
    settings = _fail_batch_2(ws_config)
    with Store.open(settings.database) as store:
        assert store.item(2).state == ItemState.COMPLETE  # QA ran (it is a finding, not an error)
        failed = results.failed(store, settings.workspace, 2)
        assert set(failed) == {"fr", "en"}
        for report in failed.values():
            (check,) = report.failed
            assert check.name == "duration" and "tiny" in check.detail and check.threshold
        assert not results.failed(store, settings.workspace, 1)
        assert results.picture(store, 2, "en") is not None
        # The review lists the failed painting first, though it came second.
        assert [c.item_id for c in cards(store)] == [2, 1]
        assert cards(store)[0].qa_suggest == "1 script"
        # The publisher: both approved, only the one that passed goes out.
        actions.approve(store, settings, 1)
        actions.approve(store, settings, 2)
    result = runner.invoke(app, ["publish", "run", "--once", "--config", str(ws_config), "--json"])
    assert result.exit_code == 0, result.output
    with Store.open(settings.database) as store:
        posted = {(p.item_id, p.language) for p in store.posts()}
        assert posted == {(1, "fr"), (1, "en")}, posted
        # A post queued before QA failed (e.g. QA run again afterwards) is refused, not sent.
        store.queue_post(2, "folder", "en", day="2026-01-01", slot=9, due_at=0.0)
    from vivant.publish.publisher import Publisher

    with Store.open(settings.database) as store:
        publisher = Publisher(store, settings)
        summary = publisher.run_once()
        (row,) = [p for p in store.posts() if p.item_id == 2]
        assert row.state == "CANCELLED" and "failed automatic QA (duration)" in (row.error or "")
        assert any("automatic QA" in f["error"] for f in summary.failed)
        # The batch report counts the automatic rejections by cause.
        from vivant.report import build_report

        figures = build_report(store, settings, 2).figures
        assert figures.rejections.qa_count == 2 and figures.rejections.qa_causes == {"duration": 2}
        assert build_report(store, settings, 1).figures.rejections.qa_count == 0
    # `vivant redo` without --from takes the step QA suggests (a too long video: the script).
    result = runner.invoke(app, ["redo", PAINTING, "--batch", "2", "--config", str(ws_config)])
    assert result.exit_code == 0, result.output
    assert "QA failed (duration)" in result.output and "REDO from step 1 script" in result.output
    result = runner.invoke(app, ["redo", PAINTING, "--batch", "1", "--config", str(ws_config)])
    assert result.exit_code == 1 and "--from is needed" in result.output


def test_the_review_page_shows_a_failed_video_first_in_a_browser(ws_config: Path, tmp_path: Path) -> None:
    need_chromium()
    from playwright.sync_api import expect, sync_playwright

    settings = _fail_batch_2(ws_config)
    app_ = create_app(settings, settings.database)
    with serving(app_) as base, sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = browser.new_context(viewport={"width": 390, "height": 844}).new_page()
            page.goto(base + "/")
            cards_ = page.locator("article.card")
            expect(cards_).to_have_count(2)
            first = cards_.first
            expect(first).to_have_attribute("id", "item-2")
            box = first.locator(".qa-failed")
            expect(box).to_be_visible()
            expect(box).to_contain_text("Failed automatic QA")
            expect(box).to_contain_text("duration")
            expect(box).to_contain_text("redo from step 1 script")
            picture = box.locator("img.qa-picture").first
            picture.scroll_into_view_if_needed()
            picture.evaluate("i => i.complete ? 1 : new Promise(ok => i.addEventListener('load', ok))")
            assert picture.evaluate("i => i.naturalWidth") > 100
            expect(page.locator("#item-1 .qa-failed")).to_have_count(0)
            page.screenshot(path=str(tmp_path / "review-qa.png"), full_page=True)
        finally:
            browser.close()
