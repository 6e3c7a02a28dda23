"""One redaction point: a token the process learns at run time (a YouTube access token obtained by refresh)
never reaches stdout, the log file, the database or the publishing plan, even when a platform's error message
quotes it back."""

from __future__ import annotations

import logging
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

from tests.publish.fakes import FakeYouTube
from vivant import config, redact
from vivant.review import actions
from vivant.states import ItemState
from vivant.store import Store

REFRESHED = "ya29.REFRESHED-planted-access-token-0123456789"
REFRESH = "1//planted-refresh-token-abcdefghijkl"
CLIENT_SECRET = "GOCSPX-planted-client-secret-xyz"


def _setup(ws_config: Path, yt: FakeYouTube) -> config.Settings:
    text = ws_config.read_text()
    for old, new in (
        ('platforms = ["folder"]', 'platforms = ["youtube"]'),
        ('youtube = ["09:00", "12:00", "15:00", "18:00", "21:00"]', "youtube = []"),
        ("languages = []", 'languages = ["fr"]'),
        ("attempts = 5", "attempts = 1"),
    ):
        assert old in text, old
        text = text.replace(old, new)
    ws_config.write_text(text + f'\n[publish.youtube]\napi_base = "{yt.url}"\nchunk_bytes = 262144\n')
    creds = ws_config.parent / "credentials.toml"
    creds.write_text(
        f'[youtube]\nrefresh_token = "{REFRESH}"\nclient_id = "vivant-client"\n'
        f'client_secret = "{CLIENT_SECRET}"\ntoken_uri = "{yt.url}/token"\n'
    )
    creds.chmod(0o600)
    settings = config.load(ws_config)
    with Store.open(settings.database) as store:
        item = store.items_in_states([ItemState.COMPLETE])[0].id
        actions.approve(store, settings, item)
    return settings


def test_a_refreshed_token_quoted_back_by_the_platform_is_in_no_output(ws_config: Path) -> None:
    with FakeYouTube(REFRESHED) as yt:
        settings = _setup(ws_config, yt)
        # The platform refuses the post and quotes the token in its message (some proxies and APIs do).
        words = f"Request had insufficient authentication scopes for {REFRESHED}"
        yt.rec.fail["init"] = [(403, {"error": {"code": 403, "message": words,
                                                 "errors": [{"reason": "insufficientPermissions"}]}})]  # fmt: skip
        env = {**os.environ, "PYTHONUNBUFFERED": "1", "COLUMNS": "400"}
        vivant = [sys.executable, "-m", "vivant"]
        run = subprocess.run([*vivant, "publish", "run", "--once", "--config", str(ws_config), "-v"],
                             capture_output=True, text=True, env=env, timeout=120)  # fmt: skip
        assert run.returncode == 0, run.stdout + run.stderr
        assert any(r[2].get("Authorization") == f"Bearer {REFRESHED}" for r in yt.rec.requests)  # it was used
    plan = subprocess.run([*vivant, "publish", "plan", "--config", str(ws_config)],
                          capture_output=True, text=True, env=env, timeout=120)  # fmt: skip
    plan_json = subprocess.run([*vivant, "publish", "plan", "--config", str(ws_config), "--json"],
                               capture_output=True, text=True, env=env, timeout=120)  # fmt: skip
    status = subprocess.run([*vivant, "status", "--config", str(ws_config), "--json"],
                            capture_output=True, text=True, env=env, timeout=120)  # fmt: skip
    with sqlite3.connect(settings.database) as conn:
        dump = "\n".join(conn.iterdump())
    log_file = (settings.workspace / "logs" / "vivant.log").read_text()
    outputs = {
        "publish run": run.stdout + run.stderr, "plan": plan.stdout + plan.stderr,
        "plan --json": plan_json.stdout + plan_json.stderr, "status": status.stdout, "log file": log_file,
        "database": dump,
    }  # fmt: skip
    # The refusal itself is still told, with the token masked.
    assert "insufficient authentication scopes" in run.stdout
    assert "insufficient authentication scopes for ***" in dump
    assert "insufficient" in plan_json.stdout and "***" in plan_json.stdout
    for name, text in outputs.items():
        for secret in (REFRESHED, REFRESH, CLIENT_SECRET):
            assert secret not in text, f"{secret[:8]}... in {name}"


def test_the_log_filter_masks_messages_arguments_and_tracebacks(tmp_path: Path) -> None:
    secret = "planted-secret-in-a-traceback-42"
    redact.register(secret)
    path = tmp_path / "x.log"
    handler = logging.FileHandler(path)
    handler.setFormatter(logging.Formatter("%(message)s"))
    handler.addFilter(redact.RedactingFilter())
    logger = logging.getLogger("vivant.test-redaction")
    logger.addHandler(handler)
    try:
        logger.warning("token %s refused", secret)
        try:
            raise RuntimeError(f"server said {secret}")
        except RuntimeError:
            logger.exception("it failed")
    finally:
        logger.removeHandler(handler)
        handler.close()
    text = path.read_text()
    assert "token *** refused" in text and "RuntimeError: server said ***" in text
    assert secret not in text
    assert redact.redact_data({"a": [f"x{secret}"], "b": 3}) == {"a": ["x***"], "b": 3}
    assert redact.redact("short") == "short"
