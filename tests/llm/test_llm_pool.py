"""LLM endpoint pools: several OpenAI-compatible servers on loopback share the requests, ``parallel`` each.

The servers here record how many requests they hold at once, so concurrency is measured where it happens; dead
servers are closed ports (refused) or a listening socket whose accept queue is full (connect timeout).
"""

from __future__ import annotations

import json
import logging
import re
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from vivant.backends.openai.client import LLMClient
from vivant.backends.openai.errors import LLMConnectionError, LLMTimeout
from vivant.backends.openai.inspector import LLMInspector
from vivant.backends.openai.writer import LLMWriter
from vivant.backends.registry import Roles
from vivant.batch import start_night
from vivant.config import ChecksSettings, LLMSettings
from vivant.engine import Engine
from vivant.roles import Attempt, Box, Painting, Script, Verdict, running
from vivant.states import AttemptStatus
from vivant.steps import STEPS
from vivant.workspace import open_workspace

from ..backends.test_zim import _write_zim
from ..conftest import make_workspace, shared_rows
from .test_roles import EN, FACTS, NOTES, PEARL

SECRET = "sk-pool-secret-456"
Answer = Callable[[dict[str, Any]], str]


@dataclass
class Meter:
    """How many requests (or inspections) run at once right now, and the most seen at once."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    now: int = 0
    most: int = 0

    def enter(self) -> None:
        with self.lock:
            self.now += 1
            self.most = max(self.most, self.now)

    def leave(self) -> None:
        with self.lock:
            self.now -= 1


@dataclass
class Server:
    """One loopback server: answers every chat request with ``answer(body)`` after ``delay`` seconds."""

    answer: Answer
    delay: float
    pool: Meter
    own: Meter = field(default_factory=Meter)
    bodies: list[dict[str, Any]] = field(default_factory=list)
    url: str = ""


def _kind(body: dict[str, Any]) -> str:
    """Which call a request is: fact_sheet, script, vision_verdict (the name in its response_format)."""
    return str((body.get("response_format") or {}).get("json_schema", {}).get("name", "chat"))


def _chat(body: dict[str, Any]) -> str:
    return '{"name": "ok"}'


@contextmanager
def _servers(n: int, answer: Answer = _chat, delay: float = 0.0) -> Iterator[tuple[list[Server], Meter]]:
    pool = Meter()
    servers = [Server(answer, delay, pool) for _ in range(n)]
    running: list[ThreadingHTTPServer] = []
    for state in servers:

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            me = state

            def log_message(self, *args: object) -> None:
                pass

            def _send(self, body: bytes) -> None:
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_GET(self) -> None:
                self._send(json.dumps({"object": "list", "data": [{"id": "pool-model"}]}).encode())

            def do_POST(self) -> None:
                me = self.me
                body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", "0"))) or b"{}")
                me.own.enter()
                me.pool.enter()
                try:
                    with me.own.lock:
                        me.bodies.append(body)
                    time.sleep(me.delay)
                    content = me.answer(body)
                finally:
                    me.pool.leave()
                    me.own.leave()
                choice = {"index": 0, "message": {"role": "assistant", "content": content}, "finish_reason": "stop"}
                try:
                    self._send(json.dumps({"choices": [choice]}).encode())
                except (BrokenPipeError, ConnectionResetError):  # the client gave up (read timeout)
                    self.close_connection = True

        server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        server.daemon_threads = True
        threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
        state.url = f"http://127.0.0.1:{server.server_address[1]}/v1"
        running.append(server)
    try:
        yield servers, pool
    finally:
        for server in running:
            server.shutdown()
            server.server_close()


def _closed_port() -> str:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = int(s.getsockname()[1])
    return f"http://127.0.0.1:{port}/v1"


@contextmanager
def _unanswering() -> Iterator[str]:
    """A server whose accept queue is full: connecting times out (Linux drops the SYNs)."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(0)
    port = int(listener.getsockname()[1])
    fillers: list[socket.socket] = []
    try:
        for _ in range(8):
            c = socket.socket()
            c.settimeout(0.2)
            try:
                c.connect(("127.0.0.1", port))
            except OSError:
                c.close()
                break
            fillers.append(c)
        else:
            pytest.skip("this system accepts connections beyond the listen backlog")
        yield f"http://127.0.0.1:{port}/v1"
    finally:
        for c in fillers:
            c.close()
        listener.close()


def _pool(urls: list[str], **kw: Any) -> LLMClient:
    opts: dict[str, Any] = {"api_key": SECRET, "connect_timeout": 1.0, "read_timeout": 5.0, "request_timeout": 5.0}
    opts.update(kw)
    return LLMClient(urls[0], "pool-model", more_urls=urls[1:], **opts)


def _at_once(n: int, fn: Callable[[int], object]) -> list[object]:
    """Run ``fn(0..n-1)`` in ``n`` threads started together; return the results (an exception is re-raised)."""
    results: list[object] = [None] * n
    errors: list[BaseException] = []
    start = threading.Barrier(n)

    def run(i: int) -> None:
        start.wait()
        try:
            results[i] = fn(i)
        except BaseException as e:
            errors.append(e)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    if errors:
        raise errors[0]
    return results


def _ask(client: LLMClient) -> Callable[[int], object]:
    return lambda i: client.chat([{"role": "user", "content": f"request {i}"}]).content


def _downs(caplog: pytest.LogCaptureFixture, url: str) -> int:
    """How many times the client gave up on ``url`` (it logs each server it marks down)."""
    host = url.removesuffix("/v1")
    return sum(1 for r in caplog.records if "left to the other servers" in r.getMessage() and host in r.getMessage())


# -- the client -------------------------------------------------------------------------------------------------


def test_requests_are_spread_and_each_server_holds_parallel_at_once() -> None:
    with _servers(2, delay=0.3) as (servers, pool):
        client = _pool([s.url for s in servers], parallel=2)
        assert client.base_url == servers[0].url and client.base_urls == (servers[0].url, servers[1].url)
        got = _at_once(8, _ask(client))
        assert got == ['{"name": "ok"}'] * 8
        assert sum(len(s.bodies) for s in servers) == 8 and all(len(s.bodies) >= 3 for s in servers)  # ~4 each
        assert [s.own.most for s in servers] == [2, 2]  # ``parallel`` each, never more
        assert pool.most == 4  # parallel x servers in flight at once
        assert client.models() == ["pool-model"]
        client.close()


def test_one_server_takes_every_request_at_once() -> None:
    with _servers(1, delay=0.3) as (servers, _pool_meter):
        client = _pool([servers[0].url], parallel=2)
        _at_once(5, _ask(client))
        assert servers[0].own.most == 5  # one server: the callers decide how many (the engine's width)
        client.close()


def test_a_dead_server_is_tried_once_then_left_to_the_others(caplog: pytest.LogCaptureFixture) -> None:
    dead = _closed_port()
    caplog.set_level(logging.WARNING, logger="vivant.backends.openai.client")
    now = [1000.0]  # the time that decides "down for" is injected: a slow machine cannot make it expire early
    with _servers(1, delay=0.01) as (servers, _meter):
        client = _pool([dead, servers[0].url], down_for=30, clock=lambda: now[0])
        for i in range(4):  # the dead server comes first and is least loaded: tried by the first request only
            assert client.chat([{"role": "user", "content": str(i)}]).server == servers[0].url
        assert _downs(caplog, dead) == 1
        _at_once(6, _ask(client))  # concurrent requests do not try it either while it is marked down
        assert _downs(caplog, dead) == 1 and len(servers[0].bodies) == 10
        now[0] += 29.9
        client.chat([{"role": "user", "content": "still down"}])
        assert _downs(caplog, dead) == 1 and len(servers[0].bodies) == 11
        now[0] += 0.2  # its time is up: one request tries it again, and goes on to the live one
        client.chat([{"role": "user", "content": "again"}])
        client.chat([{"role": "user", "content": "and again"}])
        assert _downs(caplog, dead) == 2 and len(servers[0].bodies) == 13
        client.close()


def test_a_connect_timeout_fails_over_too(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger="vivant.backends.openai.client")
    with _unanswering() as silent, _servers(1) as (servers, _meter):
        client = _pool([silent, servers[0].url], connect_timeout=0.3)
        for _ in range(3):
            assert client.chat([{"role": "user", "content": "go"}]).content == '{"name": "ok"}'
        assert _downs(caplog, silent) == 1 and len(servers[0].bodies) == 3  # one connect timeout, not three
        client.close()


def test_all_servers_down_is_one_clear_error_without_the_key() -> None:
    first, second = _closed_port(), _closed_port()
    with_user = first.replace("http://", f"http://user:{SECRET}@")
    client = _pool([with_user, second], down_for=30)
    with pytest.raises(LLMConnectionError) as err:
        client.chat([{"role": "user", "content": "go"}])
    message = str(err.value)
    assert "\n" not in message and SECRET not in message
    assert "cannot reach the server" in message and "(model pool-model)" in message
    assert f"servers tried: {first}, {second}" in message
    # both marked down: the next request still tries each once and says so (the caller's retries decide)
    with pytest.raises(LLMConnectionError, match="servers tried: "):
        client.models()
    assert SECRET not in repr(client) and second in repr(client)
    client.close()


def test_a_read_timeout_is_not_sent_to_another_server() -> None:
    with _servers(2, delay=0.8) as (servers, _meter):
        client = _pool([s.url for s in servers], read_timeout=0.3)
        with pytest.raises(LLMTimeout, match="waiting for the answer") as err:
            client.chat([{"role": "user", "content": "go"}])
        assert servers[0].url in str(err.value)
        assert [len(s.bodies) for s in servers] == [1, 0]  # the request may have been processed: not sent twice
        client.close()


# -- the writer from several threads ----------------------------------------------------------------------------


def _pearl_answers(body: dict[str, Any]) -> str:
    """Facts for the facts call; a valid English script, and "not json" for French (so French falls back)."""
    kind = _kind(body)
    if kind == "fact_sheet":
        return json.dumps(FACTS)
    if "French" in body["messages"][1]["content"]:
        return "not json"
    return json.dumps(EN)


def _writer(servers: list[Server], **settings: Any) -> LLMWriter:
    s = LLMSettings(base_url=servers[0].url, endpoints=[x.url for x in servers[1:]], model="pool-model",
                    request_timeout=5, **settings)  # fmt: skip
    return LLMWriter(s)


def test_a_fallback_is_said_to_the_attempt_it_happened_in(tmp_path: Path) -> None:
    with _servers(2, _pearl_answers, delay=0.1) as (servers, _meter):
        writer = _writer(servers, parallel=2, max_retries=0, fallback="template")
        both_written = threading.Barrier(2)

        def write(i: int) -> tuple[str, bool, str]:
            lang = ("en", "fr")[i]
            attempt = Attempt(painting=PEARL, language=lang, out=tmp_path)  # type: ignore[arg-type]
            with running(attempt):
                script = writer.write(PEARL, NOTES, lang)  # type: ignore[arg-type]
            both_written.wait()  # the other thread's write is over too: shared "last write" state would mix them
            return (*attempt.ran(writer.name, writer.degraded), script.language)

        en, fr = _at_once(2, write)
        assert en == ("openai:pool-model", False, "en")
        assert fr == ("openai:pool-model->local:template", True, "fr")
        # the writer itself keeps no state of a write
        assert writer.name == "openai:pool-model" and not writer.degraded


def test_both_languages_at_once_make_one_facts_call() -> None:
    def answers(body: dict[str, Any]) -> str:
        return json.dumps(FACTS) if _kind(body) == "fact_sheet" else json.dumps(EN)

    with _servers(2, answers, delay=0.3) as (servers, _meter):
        writer = _writer(servers, parallel=2)
        got = _at_once(4, lambda i: writer.write(PEARL, NOTES, "en"))
        assert all(s == got[0] for s in got)
        kinds = [_kind(b) for s in servers for b in s.bodies]
        assert kinds.count("fact_sheet") == 1 and kinds.count("script") == 4


# -- a night ----------------------------------------------------------------------------------------------------

_TITLE = re.compile(r'^Painting: "(?P<title>.*)" by (?P<artist>.*?)(?: \(\d+\))?\.$', re.MULTILINE)
_NOTE = re.compile(r"^\[(\d+)\] \(about the \w+\) (.*)$", re.MULTILINE)
VERDICT = {"people": 1, "gender": "female", "age_group": "adult", "child_present": False, "nudity": "none",
           "single_portrait": True, "confidence": 0.9}  # fmt: skip


def _night_answers(body: dict[str, Any]) -> str:
    """A model that answers every call of steps 0 and 1 correctly for any painting."""
    kind = _kind(body)
    if kind == "vision_verdict":
        return json.dumps(VERDICT)
    prompt = body["messages"][1]["content"]
    if kind == "fact_sheet":
        # copied word for word (cut at a space, so no number is cut in half)
        notes = [{"text": text if len(text) <= 300 else text[:300].rsplit(" ", 1)[0], "source": int(n)}
                 for n, text in _NOTE.findall(prompt)]  # fmt: skip
        return json.dumps({"key_facts": notes[:1], "anecdotes": notes[1:2], "context": []})
    found = _TITLE.search(prompt)
    assert found is not None, prompt
    title, artist = found["title"], found["artist"]
    if "Language of everything you write: French" in prompt:
        script = (f"Je suis {title}, et je te regarde depuis longtemps. {artist} m'a peinte avec patience et "
                  "amour. Abonne-toi pour d'autres tableaux qui parlent !")  # fmt: skip
        return json.dumps({"title": f"{title} se confie", "hook": "Je te regarde depuis longtemps.",
                           "script": script, "hashtags": ["#art", "#peinture"]})  # fmt: skip
    script = (f"I am {title}, and I have been watching you for a long time. {artist} painted me with patience "
              "and love. Follow for more talking paintings!")  # fmt: skip
    return json.dumps({"title": f"{title} speaks", "hook": "I have been watching you for a long time.",
                       "script": script, "hashtags": ["#art", "#painting"]})  # fmt: skip


class QuickCPU:
    """Stands in for the CPU inspector (OpenCV and nudenet take seconds here); counts inspections at once."""

    name = "test:cpu"
    degraded = False

    def __init__(self) -> None:
        self.meter = Meter()

    def inspect(self, image: Path, painting: Painting, checks: ChecksSettings) -> Verdict:
        self.meter.enter()
        try:
            time.sleep(0.05)
            with Image.open(image) as im:
                width, height = im.size
        finally:
            self.meter.leave()
        face = Box(x=width // 3, y=height // 5, w=width // 3, h=height // 3, label="FACE_FEMALE (+frontalface_alt2)")
        return Verdict(accepted=True, width=width, height=height, people=1, faces=[face], main_face=face,
                       backend=self.name)  # fmt: skip


@pytest.mark.parametrize(("mode", "cpu"), [("step", "local"), ("overlap", "quick")])
def test_night_with_two_servers_times_two(tmp_path: Path, paintings_dir: Path, mode: str, cpu: str) -> None:
    """Steps 0 and 1 of a night on 2 servers x parallel 2: the engine's queue-ahead (step mode) or the overlap
    scheduler keeps 4 requests in flight; the CPU inspector is the real one, or a quick stand-in."""
    files = ["vermeer_girl-with-a-pearl-earring.jpg", "vermeer_the-milkmaid.jpg", "leonardo_mona-lisa.jpg"]
    zim = _write_zim(tmp_path / "vermeer.zim", prefix="", fulltext=True)
    cfg = make_workspace(tmp_path / "ws", shared_rows(paintings_dir, files))
    quick = QuickCPU()
    with _servers(2, _night_answers, delay=0.25) as (servers, pool):
        text = cfg.read_text()
        for old, new in [('prepare = "local"', 'prepare = "openai"'), ('script = "local"', 'script = "openai"'),
                         ("zim_files = []", f'zim_files = ["{zim}"]')]:  # fmt: skip
            assert text.count(old) == 1, old
            text = text.replace(old, new)
        text += f'\n[llm]\nbase_url = "{servers[0].url}"\nendpoints = ["{servers[1].url}"]\nparallel = 2\n'
        text += f'model = "pool-model"\nrequest_timeout = 10.0\n\n[scheduler]\nmode = "{mode}"\n'
        cfg.write_text(text)
        with open_workspace(cfg) as ws:
            assert ws.settings.scheduler.mode == mode
            overrides = {"inspector": LLMInspector(ws.settings.llm, cpu=quick)} if cpu == "quick" else {}
            assert Roles(ws.settings).parallel_units("openai") == 4
            roles = Roles(ws.settings, overrides)  # the engine builds the rest (a writer shared by its threads)
            batch = start_night(ws, count=3, seed=1, languages=["fr", "en"])
            summary = Engine(ws.store, ws.settings, roles=roles, steps=STEPS[:2], sleep=lambda s: None).run(batch)
            assert summary.states == {"COMPLETE": 3}, [(i.state, i.reason) for i in ws.store.items(batch)]
            attempts = ws.store.attempts(batch_id=batch)
            scripts = [
                a.path for item in ws.store.items(batch) for a in ws.store.artifacts(item.id, step=1, kind="script")
            ]

    # the attempts table: every unit once, succeeded on the LLM resource, by the LLM backends, not degraded
    assert sorted((a.step, a.language) for a in attempts) == [(0, "")] * 3 + [(1, "en")] * 3 + [(1, "fr")] * 3
    assert all(a.status == AttemptStatus.SUCCEEDED and not a.degraded and a.resource == "llm" for a in attempts)
    inspector = "openai:pool-model+" + ("test:cpu" if cpu == "quick" else "local:nudenet+opencv")
    assert {a.backend for a in attempts} == {inspector, "libzim+openai:pool-model"}
    # each attempt names the server that answered its last request
    assert all(a.endpoint for a in attempts) and {a.endpoint for a in attempts} <= {s.url for s in servers}

    # the servers: both used, several requests at once on the pool, never more than ``parallel`` on one
    bodies = [b for s in servers for b in s.bodies]
    kinds = [_kind(b) for b in bodies]
    assert kinds.count("vision_verdict") == 3 and kinds.count("script") == 6
    facts_about = [_TITLE.findall(b["messages"][1]["content"]) for b in bodies if _kind(b) == "fact_sheet"]
    assert facts_about and len(facts_about) == len({str(t) for t in facts_about})  # once per painting with notes
    assert all(s.bodies for s in servers) and all(s.own.most <= 2 for s in servers)
    assert pool.most >= 3, pool.most
    if cpu == "quick":
        assert quick.meter.most == 1  # the CPU measures one at a time, the vision requests side by side

    # valid scripts, in their language, naming the artist
    assert len(scripts) == 6
    for path in scripts:
        script = Script.model_validate_json((cfg.parent / path).read_text())
        assert script.artist.split()[-1] in script.script, path
        assert script.language == path.split("1-script-")[1][:2]
