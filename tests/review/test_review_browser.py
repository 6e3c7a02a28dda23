"""The review page in a real browser: Debian's chromium driven by Playwright, on a phone-sized viewport.

Approve, reject with a reason, redo from a step, and a keyboard shortcut; each decision must change the
painting's state in the database. Screenshots are saved under ``tests/review/screenshots/`` (and tmp_path).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.review.helpers import CHROMIUM, CHROMIUM_ARGS, need_chromium, serving
from vivant import config
from vivant.review import create_app
from vivant.states import ItemState
from vivant.store import Store

SHOTS = Path(__file__).parent / "screenshots"
PHONE = {"width": 390, "height": 844}


def _state(settings: config.Settings, item_id: int) -> ItemState:
    with Store.open(settings.database) as store:
        return store.item(item_id).state


@pytest.mark.slow
def test_review_in_a_phone_browser(ws_config: Path) -> None:
    need_chromium()
    from playwright.sync_api import expect, sync_playwright

    settings = config.load(ws_config)
    with Store.open(settings.database) as store:
        first, second = (i.id for i in store.items_in_states([ItemState.COMPLETE]))
    SHOTS.mkdir(exist_ok=True)
    app = create_app(settings, settings.database)
    with serving(app) as base, sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            context = browser.new_context(viewport=PHONE, device_scale_factor=2, is_mobile=True, has_touch=True)
            page = context.new_page()
            page.goto(base + "/")
            cards = page.locator("article.card")
            expect(cards).to_have_count(2)
            # The video plays in the browser: its metadata loads from the media route.
            video = page.locator(f"#item-{first} section.lang[data-lang=fr] video")
            video.evaluate(
                "v => new Promise(ok => v.readyState >= 1 ? ok() : v.addEventListener('loadedmetadata', ok))"
            )
            assert video.evaluate("v => v.duration") > 1
            # Language tabs switch the player.
            page.locator(f"#item-{first} .tabs button[data-lang=en]").click()
            expect(page.locator(f"#item-{first} section.lang[data-lang=en] video")).to_be_visible()
            expect(video).to_be_hidden()
            # Nothing overflows the phone's width.
            assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
            page.screenshot(path=str(SHOTS / "review-phone.png"))
            page.screenshot(path=str(SHOTS / "review-phone-full.png"), full_page=True)

            # Approve the first painting.
            page.locator(f"#item-{first} form.approve button").click()
            page.wait_for_url("**/?note=*")
            expect(page.locator("#note")).to_contain_text("approved")
            assert _state(settings, first) == ItemState.APPROVED
            expect(page.locator("article.card")).to_have_count(1)

            # Reject the second one with a reason and a note.
            card = page.locator(f"#item-{second}")
            card.locator("details.reject > summary").click()
            card.get_by_label("Failed lip-sync").check()
            card.locator("textarea[name=note]").first.fill("the mouth lags behind the voice")
            card.scroll_into_view_if_needed()
            page.screenshot(path=str(SHOTS / "review-phone-reject.png"))
            card.locator("details.reject button[type=submit]").click()
            page.wait_for_url("**/?note=*")
            expect(page.locator("#note")).to_contain_text("Failed lip-sync")
            assert _state(settings, second) == ItemState.REJECTED
            expect(page.locator(".empty")).to_be_visible()

            # Redo the approved one from step 6 (lip-sync), from the "all decisions" view.
            page.goto(base + "/?show=all")
            card = page.locator(f"#item-{first}")
            card.locator("details.redo > summary").click()
            card.locator("select[name=step]").select_option("6")
            page.screenshot(path=str(SHOTS / "review-phone-redo.png"))
            card.locator("details.redo button[type=submit]").click()
            page.wait_for_url("**/?note=*")
            with Store.open(settings.database) as store:
                item = store.item(first)
                assert item.state == ItemState.REDO and item.redo_from == 6
                assert not store.artifacts(first, step=6) and store.artifacts(first, step=5)

            # Keyboard: the rejected painting, approved with "a".
            page.goto(base + f"/?show=all#item-{second}")
            page.keyboard.press("a")
            page.wait_for_url("**/?note=*")
            assert _state(settings, second) == ItemState.APPROVED
            page.goto(base + "/?show=all")
            page.screenshot(path=str(SHOTS / "review-phone-decided.png"), full_page=True)
            with Store.open(settings.database) as store:
                assert [r.decision for r in store.reviews()] == ["APPROVE", "REJECT", "REDO", "APPROVE"]
        finally:
            browser.close()
