"""The review page over HTTP (FastAPI's TestClient): decisions, bad input, the token, the media routes."""

from __future__ import annotations

import logging
import sqlite3
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from vivant import config
from vivant.engine import Engine
from vivant.review import create_app
from vivant.review.app import is_loopback, serve
from vivant.states import ItemState
from vivant.store import Store

TOKEN = "s3cret-review-token-4242"


def _app(cfg: Path, token: str | None = None) -> tuple[TestClient, config.Settings]:
    settings = config.load(cfg)
    return TestClient(create_app(settings, settings.database, token), base_url="http://127.0.0.1:8765"), settings


def _form_token(client: TestClient) -> str:
    html = client.get("/").text
    marker = 'name="csrf" value="'
    start = html.index(marker) + len(marker)
    return html[start : html.index('"', start)]


def _items(settings: config.Settings) -> list[int]:
    with Store.open(settings.database) as store:
        return [i.id for i in store.items_in_states([ItemState.COMPLETE])]


def test_page_lists_completed_paintings_with_videos_script_and_verdict(ws_config: Path) -> None:
    client, settings = _app(ws_config)
    page = client.get("/")
    assert page.status_code == 200
    html = page.text
    ids = _items(settings)
    assert len(ids) == 2
    for item_id in ids:
        assert f'id="item-{item_id}"' in html
        for lang in ("fr", "en"):
            assert f"/media/{item_id}/{lang}/video" in html
            assert f"/media/{item_id}/{lang}/thumbnail" in html
    assert "Girl with a Pearl Earring" in html
    assert "Step 0 verdict: accepted" in html
    assert "sitter: female (title 0.90)" in html  # Girl with a Pearl Earring
    assert "Ran on CPU substitutes" in html
    assert "Failed lip-sync" in html and "Script with errors" in html
    video = client.get(f"/media/{ids[0]}/fr/video", headers={"Range": "bytes=0-99"})
    assert video.status_code == 206 and len(video.content) == 100
    assert video.headers["content-type"] == "video/mp4"
    thumb = client.get(f"/media/{ids[0]}/en/thumbnail")
    assert thumb.status_code == 200 and thumb.content[:2] == b"\xff\xd8"


def test_decisions_are_stored_with_time_and_reasons(ws_config: Path) -> None:
    client, settings = _app(ws_config)
    first, second = _items(settings)
    csrf = _form_token(client)
    r = client.post(f"/items/{first}/approve", data={"csrf": csrf}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith("/?note=approved")
    r = client.post(
        f"/items/{second}/reject",
        data={"csrf": csrf, "reasons": ["lipsync", "artifacts"], "note": "mouth drifts"},
        headers={"Accept": "application/json"},
    )
    assert r.status_code == 200 and r.json()["state"] == "REJECTED"
    with Store.open(settings.database) as store:
        assert store.item(first).state == ItemState.APPROVED
        assert store.item(second).state == ItemState.REJECTED
        reviews = store.reviews()
        assert [(x.item_id, x.decision) for x in reviews] == [(first, "APPROVE"), (second, "REJECT")]
        assert reviews[1].reasons == ("lipsync", "artifacts") and reviews[1].note == "mouth drifts"
        assert all(x.at > 0 for x in reviews)
        stats = store.review_stats()
        assert stats["rejection_rate"] == 0.5
        assert stats["reasons"] == {"artifacts": 1, "lipsync": 1}
        assert "Failed lip-sync" in store.item(second).reason
    # The approved painting is in the pool, with its metadata.
    entries = sorted(p.name for p in (settings.pool_dir / "approved").glob("*.json"))
    stem = f"{first}-vermeer_girl-with-a-pearl-earring"
    assert entries == [f"{stem}.en.json", f"{stem}.fr.json"]
    assert client.get("/stats").json()["latest"] == {"APPROVE": 1, "REJECT": 1, "REDO": 0}
    # Changing one's mind: rejected -> approved is allowed and recorded.
    r = client.post(f"/items/{second}/approve", data={"csrf": csrf}, headers={"Accept": "application/json"})
    assert r.json()["state"] == "APPROVED"


def test_redo_from_the_page_is_what_vivant_redo_does_and_resume_runs_it(ws_config: Path) -> None:
    client, settings = _app(ws_config)
    item_id = _items(settings)[0]
    csrf = _form_token(client)
    with Store.open(settings.database) as store:
        old_video = store.artifacts(item_id, step=9, language="fr", kind="video")[0]
    r = client.post(f"/items/{item_id}/redo", data={"csrf": csrf, "step": "9"}, headers={"Accept": "application/json"})
    assert r.status_code == 200, r.text
    with Store.open(settings.database) as store:
        item = store.item(item_id)
        assert item.state == ItemState.REDO and item.redo_from == 9
        assert not store.artifacts(item_id, step=9)
        assert store.artifacts(item_id, step=8)  # earlier steps are kept
        assert store.reviews(item_id)[-1].redo_from == 9
        # The next `vivant resume` runs it again from step 9 only (and QA, step 10, on the new video).
        settings.qa.speech = False  # QA's Whisper checks are not what this test is about (tests/qa has them)
        Engine(store, settings).run(item.batch_id)
        assert store.item(item_id).state == ItemState.COMPLETE
        new_video = store.artifacts(item_id, step=9, language="fr", kind="video")[0]
        assert new_video.id != old_video.id
        reran = {a.step for a in store.attempts(item_id=item_id) if a.started_at > store.reviews(item_id)[-1].at}
        assert reran == {9, 10}


@pytest.mark.parametrize(
    "url",
    [
        "/media/1/fr/../../../../etc/passwd",
        "/media/1/..%2F..%2F..%2Fetc/passwd",
        "/media/1/fr/..%2F..%2Fvivant.db",
        "/media/1/fr/%2e%2e%2fvivant.toml",
        "/media/..%2F..%2Fetc/fr/video",
        "/media/1/de/video",
        "/media/1/fr/script",
        "/media/999/fr/video",
    ],
)
def test_media_routes_refuse_anything_but_known_artifacts(ws_config: Path, url: str) -> None:
    client, _ = _app(ws_config)
    r = client.get(url)
    assert r.status_code in (404, 422), (url, r.status_code)
    assert b"root:" not in r.content and b"SQLite" not in r.content and b"[render]" not in r.content


def test_a_tampered_artifact_path_outside_the_workspace_is_not_served(ws_config: Path) -> None:
    client, settings = _app(ws_config)
    item_id = _items(settings)[0]
    con = sqlite3.connect(settings.database)
    con.execute(
        "UPDATE artifacts SET path='../../../../etc/passwd' WHERE item_id=? AND step=9 AND kind='video'", (item_id,)
    )
    con.commit()
    con.close()
    assert client.get(f"/media/{item_id}/fr/video").status_code == 404


def test_bad_decisions_are_refused(ws_config: Path) -> None:
    client, settings = _app(ws_config)
    item_id = _items(settings)[0]
    csrf = _form_token(client)
    json_h = {"Accept": "application/json"}
    assert client.post("/items/9999/approve", data={"csrf": csrf}, headers=json_h).status_code == 404
    r = client.post("/items/9999/reject", data={"csrf": csrf, "reasons": ["lipsync"]})
    assert r.status_code == 404 and "no painting" in r.text
    assert client.post("/items/abc/approve", data={"csrf": csrf}).status_code == 422
    # A form without the token, or with a wrong one, changes nothing.
    assert client.post(f"/items/{item_id}/approve", data={}).status_code == 403
    assert client.post(f"/items/{item_id}/approve", data={"csrf": "forged"}).status_code == 403
    # Reasons must be the known ones, and a rejection needs at least one reason or a note.
    assert (
        client.post(f"/items/{item_id}/reject", data={"csrf": csrf, "reasons": ["ugly"]}, headers=json_h).status_code
        == 400
    )
    assert client.post(f"/items/{item_id}/reject", data={"csrf": csrf}, headers=json_h).status_code == 400
    assert client.post(f"/items/{item_id}/redo", data={"csrf": csrf, "step": "42"}, headers=json_h).status_code == 400
    with Store.open(settings.database) as store:
        assert store.item(item_id).state == ItemState.COMPLETE
        assert store.reviews() == []
    # An item being processed cannot be reviewed.
    client.post(f"/items/{item_id}/redo", data={"csrf": csrf, "step": "9"}, headers=json_h)
    r = client.post(f"/items/{item_id}/approve", data={"csrf": csrf}, headers=json_h)
    assert r.status_code == 409 and "REDO" in r.json()["error"]


def test_token_guards_every_route_and_never_reaches_the_log(ws_config: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    client, settings = _app(ws_config, TOKEN)
    item_id = _items(settings)[0]
    assert client.get("/").status_code == 401
    assert client.get(f"/media/{item_id}/fr/video").status_code == 401
    assert client.post(f"/items/{item_id}/approve", data={"csrf": "x"}).status_code == 401
    assert client.get("/?token=wrong").status_code == 401
    r = client.get(f"/?token={TOKEN}", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/"
    assert TOKEN not in r.headers["set-cookie"]  # the cookie holds a derived value, not the token
    page = client.get("/")
    assert page.status_code == 200 and TOKEN not in page.text
    csrf = _form_token(client)
    # Authenticated, but a form without its form token is still refused.
    assert client.post(f"/items/{item_id}/approve", data={}).status_code == 403
    assert client.post(f"/items/{item_id}/approve", data={"csrf": csrf}).status_code in (200, 303)
    bearer = TestClient(client.app, base_url="http://localhost:8765")
    assert bearer.get("/stats", headers={"Authorization": f"Bearer {TOKEN}"}).status_code == 200
    assert bearer.get("/stats", headers={"Authorization": "Bearer nope"}).status_code == 401
    # The server's log lines (the test client's own httpx log shows the address it was given).
    logged = "\n".join(r.getMessage() for r in caplog.records if r.name.split(".")[0] in ("vivant", "uvicorn"))
    assert "GET /" in logged
    assert TOKEN not in logged


def test_serving_beyond_loopback_needs_a_token(ws_config: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from vivant.errors import VivantError

    settings = config.load(ws_config)
    monkeypatch.delenv(settings.review.token_env, raising=False)
    assert is_loopback("127.0.0.1") and is_loopback("::1") and is_loopback("localhost")
    assert not is_loopback("0.0.0.0") and not is_loopback("192.168.1.4")
    with pytest.raises(VivantError, match="needs a token"):
        serve(settings, settings.database, host="0.0.0.0", port=1)


def test_other_host_names_are_refused_and_the_page_cannot_be_framed(ws_config: Path) -> None:
    """DNS rebinding: evil.example pointed at 127.0.0.1 must not get the page (nor its form token)."""
    import httpx

    from tests.review.helpers import serving

    settings = config.load(ws_config)
    settings.review.allowed_hosts = ["review.home.lan"]
    with serving(create_app(settings, settings.database)) as base:
        port = base.rsplit(":", 1)[1]
        evil = httpx.get(f"{base}/", headers={"Host": f"evil.example:{port}"})
        assert evil.status_code == 421 and 'name="csrf"' not in evil.text
        assert httpx.get(f"{base}/items/1.json", headers={"Host": "evil.example"}).status_code == 421
        for host in (f"127.0.0.1:{port}", f"localhost:{port}", "review.home.lan", f"[::1]:{port}", "192.168.1.4"):
            page = httpx.get(f"{base}/", headers={"Host": host})
            assert page.status_code == 200 and 'name="csrf"' in page.text, host
            assert page.headers["x-frame-options"] == "DENY"
            assert "frame-ancestors 'none'" in page.headers["content-security-policy"]
        assert "frame-ancestors 'none'" in evil.headers["content-security-policy"]
