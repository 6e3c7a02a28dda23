"""A tiny real night, built once per test session and copied for each test that needs completed paintings with
real videos; a uvicorn server in a thread; chromium (Debian's) for Playwright."""

from __future__ import annotations

import os
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from tests.conftest import make_workspace, shared_rows

PORTRAITS = ["vermeer_girl-with-a-pearl-earring.jpg"]
TINY = [
    ("width = 360", "width = 180"),
    ("height = 640", "height = 320"),
    ("title_seconds = 3.0", "title_seconds = 1.0"),
    # the loudness-driven mouth: at 180x320 the landmark mouth is a few pixels, too small for QA's sync measure
    ('mouth = "landmarks"', 'mouth = "warp"'),
]
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--disable-gpu", "--no-first-run", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync"]  # fmt: skip

_built: dict[str, Path] = {}


def night_template(factory: pytest.TempPathFactory, paintings_dir: Path) -> Path:
    """A workspace with one finished night of two paintings (FR + EN), built once per session."""
    if "ws" not in _built:
        from vivant.cli import app

        root = factory.mktemp("night-template")
        cfg = make_workspace(root / "ws", shared_rows(paintings_dir, PORTRAITS), qa_speech=True)
        text = cfg.read_text()
        for old, new in TINY:
            text = text.replace(old, new)
        cfg.write_text(text)
        result = CliRunner().invoke(app, ["night", "--count", "1", "--seed", "1", "--config", str(cfg), "--json"])
        assert result.exit_code == 0, result.output
        clone_completed_item(cfg)
        _built["ws"] = cfg.parent
    return _built["ws"]


def clone_completed_item(cfg: Path) -> int:
    """A second finished painting without a second night: the same painting in a new batch, whose attempts and
    artifacts (recorded through the store's own API) point at the first one's files. Returns the new item id."""
    from vivant import config
    from vivant.states import AttemptStatus, ItemState
    from vivant.store import NewArtifact, Store

    settings = config.load(cfg)
    with Store.open(settings.database) as store:
        (item,) = store.items(1)
        batch = store.create_batch([item.painting_id], languages=["fr", "en"], seed=2, note="clone")
        (clone,) = store.items(batch)
        store.set_state(clone.id, ItemState.PROCESSING)
        for a in store.attempts(item_id=item.id, include_superseded=False):
            new = store.start_attempt(clone.id, a.step, a.language, backend=a.backend, resource=a.resource)
            arts = [NewArtifact(x.kind, x.path, x.sha256, x.bytes)
                    for x in store.artifacts(item.id, step=a.step, language=a.language)]  # fmt: skip
            store.finish_attempt(new.id, AttemptStatus(a.status), backend=a.backend, degraded=a.degraded,
                                 artifacts=arts)  # fmt: skip
        store.set_state(clone.id, ItemState.COMPLETE)
        store.set_batch_status(batch, "FINISHED")
        return clone.id


def copy_workspace(template: Path, dest: Path) -> Path:
    """A private copy of the template workspace; returns its vivant.toml."""
    shutil.copytree(template, dest, ignore=shutil.ignore_patterns("*.db-wal", "*.db-shm"))
    return dest / "vivant.toml"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def serving(app: Any) -> Iterator[str]:
    """Serve an ASGI app with uvicorn on a free loopback port in a thread; yield its base URL."""
    import uvicorn

    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_config=None, access_log=False))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline:
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def need_chromium() -> None:
    if not CHROMIUM.exists():
        if os.environ.get("CI"):
            pytest.fail(f"{CHROMIUM} is missing (apt-get install chromium)")
        pytest.skip(f"{CHROMIUM} is missing (apt-get install chromium)")
    pytest.importorskip("playwright")
