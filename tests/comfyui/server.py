"""A ComfyUI stand-in on loopback that follows the protocol recorded from ComfyUI 0.3.64.

Routes (also under ``/api``), message order, error shapes, the history entry written just before the final
``executing`` with ``node: null``, history and queue lost on restart, uploads renamed ``name (1).ext`` when the
bytes differ: all as in ``shared/notes/comfyui-protocol.md``. Output files are really made with ffmpeg from a
small evaluator of the model-free nodes (LoadImage, LoadAudio, ImageScale, RepeatImageBatch, CreateVideo,
EmptyAudio, SaveImage, SaveVideo, SaveAudio...); other classes pass their first IMAGE/AUDIO input through.

It can be told to misbehave (attributes of :class:`Faults`): drop every socket after some nodes, stay silent
on the socket, hang a prompt until interrupted, fail a node, serve /view slowly or stall, refuse connections.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import itertools
import json
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aiohttp import WSMsgType, web

from vivant.backends.ffmpeg import ffmpeg_exe

OBJECT_INFO = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "comfyui" / "object_info_0.3.64.json"
FLAVOURS = {"0.3.64": "0.3.64", "2026": "0.36.0"}
"""Server flavours and the ``comfyui_version`` each reports."""
SAVE_NODES = {"SaveImage", "PreviewImage", "SaveVideo", "SaveAudio", "SaveAudioMP3", "SaveAnimatedWEBP"}
FILE_INPUTS = {"LoadImage": "image", "LoadAudio": "audio", "LoadVideo": "file"}


@dataclass
class Faults:
    drop_socket_after_nodes: int | None = None
    """Close every socket once this many nodes of the next prompt ran (then reset to None)."""
    silent: bool = False
    """Send no execution messages (sockets stay open)."""
    hang_class: str | None = None
    """A node of this class never ends (until interrupted)."""
    fail_class: str | None = None
    """A node of this class raises (execution_error)."""
    node_seconds: float = 0.0
    """Time each node takes."""
    view_chunk_delay: float = 0.0
    """Pause between 16 KiB chunks of /view (a slow download)."""
    view_stall: float = 0.0
    """Pause after the first chunk of /view (a stalled download)."""
    fail_runs: set[int] = field(default_factory=set)
    """Executed prompts (counted from 0 since the server was made) whose first node raises."""


@dataclass
class Prompt:
    number: int
    prompt_id: str
    graph: dict[str, Any]
    client_id: str
    outputs: list[str]
    create_time: int = 0


@dataclass
class Stats:
    posts: int = 0
    uploads: int = 0
    interrupts: list[str] = field(default_factory=list)
    frees: int = 0
    restarts: int = 0
    max_queue: int = 0
    free_at: list[tuple[float, int]] = field(default_factory=list)
    """(server monotonic time, prompts running + pending) of every POST /free."""
    runs: list[tuple[str, float, float]] = field(default_factory=list)
    """(prompt id, start, end) of every executed prompt, server monotonic clock."""
    submitted: dict[str, int] = field(default_factory=dict)
    routes: dict[str, int] = field(default_factory=dict)
    """Requests per route (``"GET /history/{pid}"``, ``"GET /api/jobs/{job_id}"``...)."""


class ComfyTestServer:
    """Run with ``with ComfyTestServer(root) as srv:``; ``srv.url`` is ``http://127.0.0.1:<port>``."""

    def __init__(self, root: Path, *, port: int = 0, object_info: dict[str, Any] | None = None,
                 flavour: str = "0.3.64") -> None:  # fmt: skip
        """``flavour``: "0.3.64" (the recorded protocol) or "2026" (also ``/api/jobs``, ``/api/jobs/{id}``,
        ``POST /api/jobs/{id}/cancel`` as in Comfy-Org/ComfyUI PRs #11054 and #14493, version 0.36.0)."""
        if flavour not in FLAVOURS:
            raise ValueError(f"flavour {flavour!r}: one of {', '.join(FLAVOURS)}")
        self.flavour = flavour
        self.version = FLAVOURS[flavour]
        self._executed = 0
        self.root = root
        self.input_dir, self.output_dir = root / "input", root / "output"
        self.input_dir.mkdir(parents=True, exist_ok=True)
        self.output_dir.mkdir(parents=True, exist_ok=True)
        self.object_info = object_info if object_info is not None else json.loads(OBJECT_INFO.read_text())
        self.port = port or _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.faults = Faults()
        self.stats = Stats()
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True, name="comfy-test-server")
        self._thread.start()
        self._runner: web.AppRunner | None = None
        self._reset()

    # -- life cycle ---------------------------------------------------------------------------------------------
    def _reset(self) -> None:
        self.history: dict[str, dict[str, Any]] = {}
        self.pending: list[Prompt] = []
        self.running: Prompt | None = None
        self.sockets: dict[str, list[web.WebSocketResponse]] = {}
        self._numbers = itertools.count()
        self._interrupt: str | None = None
        self._wake: asyncio.Event | None = None
        self._worker: asyncio.Task[None] | None = None

    def _call(self, coro: Any, timeout: float = 30) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(timeout)

    def start(self) -> ComfyTestServer:
        self._call(self._start())
        return self

    async def _start(self) -> None:
        app = web.Application(client_max_size=200 * 1024 * 1024, middlewares=[self._count])
        if self.flavour != "0.3.64":
            app.router.add_get("/api/jobs", self.get_jobs)
            app.router.add_post("/api/jobs/cancel", self.cancel_jobs)
            app.router.add_get("/api/jobs/{job_id}", self.get_job)
            app.router.add_post("/api/jobs/{job_id}/cancel", self.cancel_job)
        for prefix in ("", "/api"):
            app.router.add_get(prefix + "/system_stats", self.system_stats)
            app.router.add_get(prefix + "/object_info", self.get_object_info)
            app.router.add_get(prefix + "/object_info/{cls}", self.get_object_info_one)
            app.router.add_get(prefix + "/features", self.features)
            app.router.add_post(prefix + "/upload/image", self.upload)
            app.router.add_post(prefix + "/prompt", self.post_prompt)
            app.router.add_get(prefix + "/prompt", self.get_prompt)
            app.router.add_get(prefix + "/queue", self.get_queue)
            app.router.add_post(prefix + "/queue", self.post_queue)
            app.router.add_post(prefix + "/interrupt", self.interrupt)
            app.router.add_post(prefix + "/free", self.free)
            app.router.add_get(prefix + "/history", self.get_history)
            app.router.add_get(prefix + "/history/{pid}", self.get_history_one)
            app.router.add_post(prefix + "/history", self.post_history)
            app.router.add_get(prefix + "/view", self.view)
            app.router.add_get(prefix + "/ws", self.ws)
        app.router.add_post("/_test/restart", self.test_restart)
        self._runner = web.AppRunner(app, shutdown_timeout=0.5, handle_signals=False)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", self.port, reuse_address=True)
        await site.start()
        self._wake = asyncio.Event()
        self._worker = asyncio.create_task(self._work())

    def stop(self) -> None:
        """Stop answering (connections refused); queue and history are lost."""
        self._call(self._stop())

    async def _stop(self) -> None:
        if self._worker is not None:
            self._worker.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._worker
        for group in list(self.sockets.values()):
            for ws in list(group):
                with contextlib.suppress(Exception):
                    await ws.close()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
        self._reset()

    def restart(self, down_seconds: float = 0.3) -> None:
        """Like a real restart: every queued and running prompt and the whole history are lost."""
        self.stop()
        time.sleep(down_seconds)
        self.start()

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.stop()
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=5)

    def __enter__(self) -> ComfyTestServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    def drop_sockets(self) -> None:
        self._call(self._drop_sockets())

    async def _drop_sockets(self) -> None:
        for group in list(self.sockets.values()):
            for ws in list(group):
                with contextlib.suppress(Exception):
                    await ws.close()

    def queue_size(self) -> int:
        return len(self.pending) + (1 if self.running else 0)

    # -- socket -------------------------------------------------------------------------------------------------
    async def ws(self, request: web.Request) -> web.WebSocketResponse:
        sid = request.query.get("clientId") or uuid.uuid4().hex
        ws = web.WebSocketResponse(heartbeat=None)
        await ws.prepare(request)
        self.sockets.setdefault(sid, []).append(ws)
        try:
            await ws.send_json({"type": "status", "data": {"status": self._exec_info(), "sid": sid}})
            if self.running is not None and self.running.client_id == sid and self._current_node:
                await ws.send_json({"type": "executing", "data": {"node": self._current_node}})
            async for msg in ws:
                if msg.type == WSMsgType.TEXT:
                    with contextlib.suppress(ValueError):
                        data = json.loads(msg.data)
                        if data.get("type") == "feature_flags":
                            await ws.send_json(
                                {
                                    "type": "feature_flags",
                                    "data": {"supports_preview_metadata": True, "max_upload_size": 104857600},
                                }
                            )
        finally:
            with contextlib.suppress(ValueError, KeyError):
                self.sockets[sid].remove(ws)
        return ws

    _current_node: str | None = None

    async def _send(self, sid: str | None, kind: str, data: dict[str, Any], *, execution: bool = True) -> None:
        if execution and self.faults.silent:
            return
        targets = self.sockets.get(sid or "", []) if sid is not None else [w for g in self.sockets.values() for w in g]
        for ws in list(targets):
            with contextlib.suppress(Exception):
                await ws.send_json({"type": kind, "data": data})

    def _exec_info(self) -> dict[str, Any]:
        return {"exec_info": {"queue_remaining": self.queue_size()}}

    async def _status(self) -> None:
        await self._send(None, "status", {"status": self._exec_info()}, execution=False)

    # -- HTTP ---------------------------------------------------------------------------------------------------
    @web.middleware
    async def _count(self, request: web.Request, handler: Any) -> web.StreamResponse:
        info = request.match_info.route.resource
        key = f"{request.method} {info.canonical if info is not None else request.path}"
        self.stats.routes[key] = self.stats.routes.get(key, 0) + 1
        response: web.StreamResponse = await handler(request)
        return response

    def route_count(self, *keys: str) -> int:
        """Requests made to these routes (with or without the ``/api`` prefix)."""
        total = 0
        for key in keys:
            method, path = key.split(" ", 1)
            total += self.stats.routes.get(key, 0)
            if not path.startswith("/api/"):
                total += self.stats.routes.get(f"{method} /api{path}", 0)
        return total

    # the jobs API (flavour "2026"): shapes as in Comfy-Org/ComfyUI server.py and comfy_execution/jobs.py
    def _job_of(self, pid: str, *, full: bool) -> dict[str, Any] | None:
        if pid in self.history:
            entry = self.history[pid]
            status = entry["status"]
            messages = {m[0]: m[1] for m in status["messages"]}
            end = next((messages[k] for k in ("execution_success", "execution_error", "execution_interrupted")
                        if k in messages), {})  # fmt: skip
            job: dict[str, Any] = {
                "id": pid, "status": "completed" if status["status_str"] == "success" else "failed",
                "priority": entry["prompt"][0], "create_time": entry["prompt"][3].get("create_time"),
                "execution_start_time": messages.get("execution_start", {}).get("timestamp"),
                "execution_end_time": end.get("timestamp"),
                "outputs_count": sum(len(v) for o in entry["outputs"].values() for k, v in o.items()
                                     if k != "animated" and isinstance(v, list)),
            }  # fmt: skip
            if "execution_error" in messages:
                job["execution_error"] = messages["execution_error"]
            if full:
                job.update(outputs=entry["outputs"], execution_status=status,
                           workflow={"prompt": entry["prompt"][2], "extra_data": entry["prompt"][3]})  # fmt: skip
            return {k: v for k, v in job.items() if v is not None}
        for p, where in [(self.running, "in_progress"), *((q, "pending") for q in self.pending)]:
            if p is not None and p.prompt_id == pid:
                return {"id": pid, "status": where, "priority": p.number, "create_time": p.create_time,
                        "outputs_count": 0}  # fmt: skip
        return None

    async def get_jobs(self, request: web.Request) -> web.Response:
        ids = [*([self.running.prompt_id] if self.running else []), *(p.prompt_id for p in self.pending),
               *self.history]  # fmt: skip
        jobs = [j for j in (self._job_of(pid, full=False) for pid in ids) if j is not None]
        wanted = [x.strip() for x in request.query.get("status", "").split(",") if x.strip()]
        if wanted:
            jobs = [j for j in jobs if j["status"] in wanted]
        jobs.sort(key=lambda j: j.get("create_time") or 0, reverse=True)
        total = len(jobs)
        offset = max(0, int(request.query.get("offset", 0)))
        limit = int(request.query["limit"]) if "limit" in request.query else None
        page = jobs[offset:] if limit is None else jobs[offset : offset + limit]
        return web.json_response({"jobs": page, "pagination": {"offset": offset, "limit": limit, "total": total,
                                                               "has_more": offset + len(page) < total}})  # fmt: skip

    async def get_job(self, request: web.Request) -> web.Response:
        job = self._job_of(request.match_info["job_id"], full=True)
        if job is None:
            return web.json_response({"error": "Job not found"}, status=404)
        return web.json_response(job)

    def _cancel(self, pid: str) -> bool:
        self.stats.interrupts.append(pid)
        if self.running is not None and self.running.prompt_id == pid:
            self._interrupt = pid
            return True
        before = len(self.pending)
        self.pending = [p for p in self.pending if p.prompt_id != pid]
        return len(self.pending) < before

    async def cancel_job(self, request: web.Request) -> web.Response:
        return web.json_response({"cancelled": self._cancel(request.match_info["job_id"])})

    async def cancel_jobs(self, request: web.Request) -> web.Response:
        body = await _body(request)
        ids = body.get("job_ids")
        if not isinstance(ids, list):
            return web.json_response({"error": "job_ids must be a list"}, status=400)
        return web.json_response({"cancelled": any([self._cancel(str(i)) for i in ids])})

    async def system_stats(self, request: web.Request) -> web.Response:
        return web.json_response({
            "system": {"os": "posix", "comfyui_version": self.version, "python_version": "3.11",
                       "embedded_python": False, "pytorch_version": "test", "argv": ["main.py", "--cpu"],
                       "ram_total": 1, "ram_free": 1},
            "devices": [{"name": "cpu", "type": "cpu", "index": None, "vram_total": 0, "vram_free": 0}],
        })  # fmt: skip

    async def get_object_info(self, request: web.Request) -> web.Response:
        return web.json_response(self._object_info_now())

    def _object_info_now(self) -> dict[str, Any]:
        info = copy.deepcopy(self.object_info)
        files = sorted(p.name for p in self.input_dir.iterdir() if p.is_file())
        if "LoadImage" in info:
            info["LoadImage"]["input"]["required"]["image"][0] = files
        if "LoadAudio" in info:
            info["LoadAudio"]["input"]["required"]["audio"][0] = [
                f for f in files if f.endswith((".wav", ".flac", ".mp3", ".mp4"))
            ]
        return info

    async def get_object_info_one(self, request: web.Request) -> web.Response:
        cls = request.match_info["cls"]
        info = self._object_info_now()
        return web.json_response({cls: info[cls]} if cls in info else {})

    async def features(self, request: web.Request) -> web.Response:
        return web.json_response({"supports_preview_metadata": True, "max_upload_size": 104857600})

    async def upload(self, request: web.Request) -> web.Response:
        form = await request.post()
        f = form.get("image")
        if f is None or not hasattr(f, "file"):
            return web.Response(status=400)
        sub = str(form.get("subfolder", "") or "")
        kind = str(form.get("type", "input") or "input")
        if ".." in sub or kind not in ("input", "temp", "output"):
            return web.Response(status=400)
        base = {"input": self.input_dir, "output": self.output_dir, "temp": self.root / "temp"}[kind]
        folder = base / sub
        folder.mkdir(parents=True, exist_ok=True)
        data = f.file.read()
        name = Path(f.filename).name
        overwrite = str(form.get("overwrite", "")).lower() in ("true", "1")
        dest = folder / name
        n = 1
        while dest.exists() and not overwrite and dest.read_bytes() != data:
            dest = folder / f"{Path(name).stem} ({n}){Path(name).suffix}"
            n += 1
        dest.write_bytes(data)
        self.stats.uploads += 1
        return web.json_response({"name": dest.name, "subfolder": sub, "type": kind})

    async def post_prompt(self, request: web.Request) -> web.Response:
        try:
            body = await request.json()
        except ValueError:
            return web.Response(status=500, text="500 Internal Server Error\n\nServer got itself in trouble")
        graph = body.get("prompt")
        if not isinstance(graph, dict):
            return _error("no_prompt", "No prompt provided", "")
        number = next(self._numbers)
        self.stats.posts += 1
        error, node_errors, outputs = self._validate(graph)
        if error is not None:
            return web.json_response({"error": error, "node_errors": node_errors}, status=400)
        pid = str(body.get("prompt_id") or uuid.uuid4())
        self.stats.submitted[pid] = self.stats.submitted.get(pid, 0) + 1
        self.pending.append(Prompt(number, pid, graph, str(body.get("client_id") or ""), outputs,
                                   int(time.time() * 1000)))  # fmt: skip
        self.stats.max_queue = max(self.stats.max_queue, self.queue_size())
        assert self._wake is not None
        self._wake.set()
        await self._status()
        await self._status()
        return web.json_response({"prompt_id": pid, "number": number, "node_errors": node_errors})

    def _validate(self, graph: dict[str, Any]) -> tuple[dict[str, Any] | None, dict[str, Any], list[str]]:
        info = self.object_info
        for nid, node in graph.items():
            if not isinstance(node, dict) or "class_type" not in node:
                return _err("invalid_prompt", "Cannot execute because a node is missing the class_type property.",
                            f"Node ID '#{nid}'"), {}, []  # fmt: skip
            if node["class_type"] not in info:
                return _err("invalid_prompt", f"Cannot execute because node {node['class_type']} does not exist.",
                            f"Node ID '#{nid}'"), {}, []  # fmt: skip
        outputs = [nid for nid, n in graph.items() if info[n["class_type"]].get("output_node")]
        if not outputs:
            return _err("prompt_no_outputs", "Prompt has no outputs", ""), {}, []
        node_errors: dict[str, Any] = {}
        for nid, node in graph.items():
            errs = self._node_errors(graph, nid, node)
            if errs:
                node_errors[nid] = {"errors": errs, "dependent_outputs": [], "class_type": node["class_type"]}
        if not node_errors:
            return None, {}, outputs
        good = [o for o in outputs if not (self._ancestors(graph, o) & set(node_errors))]
        for entry in node_errors.values():
            entry["dependent_outputs"] = [o for o in outputs if o not in good]
        if good:
            return None, node_errors, good
        return _err("prompt_outputs_failed_validation", "Prompt outputs failed validation", ""), node_errors, []

    def _ancestors(self, graph: dict[str, Any], nid: str) -> set[str]:
        seen: set[str] = set()
        todo = [nid]
        while todo:
            n = todo.pop()
            if n in seen:
                continue
            seen.add(n)
            for v in (graph.get(n) or {}).get("inputs", {}).values():
                if _is_link(v):
                    todo.append(v[0])
        return seen

    def _node_errors(self, graph: dict[str, Any], nid: str, node: dict[str, Any]) -> list[dict[str, Any]]:
        cls = node["class_type"]
        spec = self.object_info[cls].get("input", {})
        required = spec.get("required") or {}
        optional = spec.get("optional") or {}
        inputs = node.get("inputs") or {}
        errs: list[dict[str, Any]] = []
        for name in required:
            if name not in inputs:
                errs.append({"type": "required_input_missing", "message": "Required input is missing",
                             "details": name, "extra_info": {"input_name": name}})  # fmt: skip
        for name, value in inputs.items():
            conf = required.get(name) or optional.get(name)
            if conf is None:
                continue
            if _is_link(value):
                if value[0] not in graph:
                    errs.append({"type": "exception_during_validation", "message": "Exception when validating node",
                                 "details": f"'{value[0]}'", "extra_info": {"exception_type": "KeyError"}})  # fmt: skip
                continue
            if cls in FILE_INPUTS and FILE_INPUTS[cls] == name:
                if not (self.input_dir / str(value)).is_file():
                    what = {"image": "image", "audio": "audio", "file": "video"}[name]
                    errs.append({"type": "custom_validation_failed", "message": "Custom validation failed for node",
                                 "details": f"{name} - Invalid {what} file: {value}",
                                 "extra_info": {"input_name": name}})  # fmt: skip
                continue
            kind = conf[0]
            opts = conf[1] if len(conf) > 1 and isinstance(conf[1], dict) else {}
            options = kind if isinstance(kind, list) else opts.get("options") if kind == "COMBO" else None
            if options is not None:
                if value not in options:
                    errs.append({"type": "value_not_in_list", "message": "Value not in list",
                                 "details": f"{name}: '{value}' not in {options}",
                                 "extra_info": {"input_name": name, "received_value": value}})  # fmt: skip
            elif kind in ("INT", "FLOAT"):
                try:
                    v = int(value) if kind == "INT" else float(value)
                except (TypeError, ValueError):
                    errs.append({"type": "invalid_input_type",
                                 "message": f"Failed to convert an input value to a {kind} value",
                                 "details": f"{name}, {value}", "extra_info": {"input_name": name,
                                                                               "received_value": value}})  # fmt: skip
                    continue
                if "max" in opts and v > opts["max"]:
                    errs.append({"type": "value_bigger_than_max",
                                 "message": f"Value {v} bigger than max of {opts['max']}",
                                 "details": name, "extra_info": {"input_name": name, "received_value": v}})  # fmt: skip
                if "min" in opts and v < opts["min"]:
                    errs.append({"type": "value_smaller_than_min",
                                 "message": f"Value {v} smaller than min of {opts['min']}",
                                 "details": name, "extra_info": {"input_name": name, "received_value": v}})  # fmt: skip
        return errs

    async def get_prompt(self, request: web.Request) -> web.Response:
        return web.json_response(self._exec_info())

    async def get_queue(self, request: web.Request) -> web.Response:
        def row(p: Prompt) -> list[Any]:
            return [p.number, p.prompt_id, p.graph, {"client_id": p.client_id}, p.outputs]

        return web.json_response({
            "queue_running": [row(self.running)] if self.running else [],
            "queue_pending": [row(p) for p in self.pending],
        })  # fmt: skip

    async def post_queue(self, request: web.Request) -> web.Response:
        body = await _body(request)
        if body.get("clear"):
            self.pending.clear()
        for pid in body.get("delete", []) or []:
            self.pending = [p for p in self.pending if p.prompt_id != pid]
        return web.Response(status=200)

    async def interrupt(self, request: web.Request) -> web.Response:
        body = await _body(request)
        pid = body.get("prompt_id")
        self.stats.interrupts.append(str(pid))
        if self.running is not None and (pid is None or pid == self.running.prompt_id):
            self._interrupt = self.running.prompt_id
        return web.Response(status=200)

    async def test_restart(self, request: web.Request) -> web.Response:
        """Not ComfyUI: lets a restart command of the tests restart this server (like systemctl would)."""

        async def later() -> None:
            await asyncio.sleep(0.05)
            await self._stop()
            await asyncio.sleep(0.3)
            await self._start()

        self._restart_task = asyncio.ensure_future(later())
        self.stats.restarts += 1
        return web.Response(status=200)

    async def free(self, request: web.Request) -> web.Response:
        self.stats.frees += 1
        self.stats.free_at.append((time.monotonic(), self.queue_size()))
        return web.Response(status=200)

    async def get_history(self, request: web.Request) -> web.Response:
        items = list(self.history.items())
        if "max_items" in request.query:
            items = items[-int(request.query["max_items"]) :]
        return web.json_response(dict(items))

    async def get_history_one(self, request: web.Request) -> web.Response:
        pid = request.match_info["pid"]
        return web.json_response({pid: self.history[pid]} if pid in self.history else {})

    async def post_history(self, request: web.Request) -> web.Response:
        body = await _body(request)
        if body.get("clear"):
            self.history.clear()
        for pid in body.get("delete", []) or []:
            self.history.pop(pid, None)
        return web.Response(status=200)

    async def view(self, request: web.Request) -> web.StreamResponse:
        name = request.query.get("filename", "")
        sub = request.query.get("subfolder", "")
        kind = request.query.get("type", "output")
        if not name:
            return web.Response(status=404)
        if ".." in name or ".." in sub or kind not in ("input", "output", "temp"):
            return web.Response(status=400)
        base = {"input": self.input_dir, "output": self.output_dir, "temp": self.root / "temp"}[kind]
        path = base / sub / name
        if not path.is_file():
            return web.Response(status=404)
        ctype = {".png": "image/png", ".mp4": "video/mp4", ".flac": "audio/flac", ".mp3": "audio/mpeg",
                 ".wav": "audio/x-wav"}.get(path.suffix, "application/octet-stream")  # fmt: skip
        data = path.read_bytes()
        resp = web.StreamResponse(headers={"Content-Type": ctype, "Content-Disposition": f'filename="{name}"',
                                           "Content-Length": str(len(data))})  # fmt: skip
        await resp.prepare(request)
        step = 16 * 1024
        for i in range(0, len(data), step):
            await resp.write(data[i : i + step])
            if i == 0 and self.faults.view_stall:
                await asyncio.sleep(self.faults.view_stall)
            if self.faults.view_chunk_delay:
                await asyncio.sleep(self.faults.view_chunk_delay)
        await resp.write_eof()
        return resp

    # -- execution ----------------------------------------------------------------------------------------------
    async def _work(self) -> None:
        assert self._wake is not None
        while True:
            if not self.pending:
                self._wake.clear()
                await self._wake.wait()
                continue
            self.pending.sort(key=lambda p: p.number)
            self.running = self.pending.pop(0)
            try:
                await self._execute(self.running)
            finally:
                self.running = None
                self._current_node = None

    async def _execute(self, p: Prompt) -> None:
        sid = p.client_id
        messages: list[list[Any]] = []
        t0 = time.monotonic()

        async def say(kind: str, data: dict[str, Any], keep: bool = False) -> None:
            data = {**data, "prompt_id": p.prompt_id} if kind != "executing" else data
            if keep:
                messages.append([kind, {**data, "timestamp": int(time.time() * 1000)}])
                data = messages[-1][1]
            await self._send(sid, kind, data)

        run_index, self._executed = self._executed, self._executed + 1
        await say("execution_start", {}, keep=True)
        await say("execution_cached", {"nodes": []}, keep=True)
        order = _topological(p.graph, p.outputs)
        states: dict[str, dict[str, Any]] = {}
        values: dict[str, Any] = {}
        outputs: dict[str, Any] = {}
        done: list[str] = []
        error: tuple[str, dict[str, Any]] | None = None
        for n, nid in enumerate(order):
            node = p.graph[nid]
            cls = node["class_type"]
            states[nid] = {"value": 0.0, "max": 1.0, "state": "running", "node_id": nid, "prompt_id": p.prompt_id,
                           "display_node_id": nid, "parent_node_id": None, "real_node_id": nid}  # fmt: skip
            await say("progress_state", {"nodes": copy.deepcopy(states)})
            self._current_node = nid
            await self._send(sid, "executing", {"node": nid, "display_node": nid, "prompt_id": p.prompt_id})
            if self.faults.drop_socket_after_nodes is not None and n >= self.faults.drop_socket_after_nodes:
                self.faults.drop_socket_after_nodes = None
                await self._drop_sockets()
            try:
                if self.faults.node_seconds:
                    await self._sleep(p, self.faults.node_seconds)
                if cls == self.faults.hang_class:
                    await self._sleep(p, 3600)
                if cls == self.faults.fail_class or (n == 0 and run_index in self.faults.fail_runs):
                    raise RuntimeError(f"test failure in {cls}")
                values[nid] = await self._run_node(p, nid, node, values)
                if nid in p.outputs or cls in SAVE_NODES:
                    out = values[nid]
                    outputs[nid] = out
                    await self._send(sid, "executed", {"node": nid, "display_node": nid, "output": out,
                                                       "prompt_id": p.prompt_id})  # fmt: skip
            except _Interrupted:
                error = ("execution_interrupted", {"prompt_id": p.prompt_id, "node_id": nid, "node_type": cls,
                                                   "executed": list(done)})  # fmt: skip
                break
            except Exception as e:
                error = ("execution_error", {"prompt_id": p.prompt_id, "node_id": nid, "node_type": cls,
                                             "executed": list(done), "exception_message": f"{e}\n",
                                             "exception_type": type(e).__name__, "traceback": [],
                                             "current_inputs": {}, "current_outputs": order})  # fmt: skip
                break
            states[nid]["state"] = "finished"
            states[nid]["value"] = 1.0
            done.append(nid)
            await say("progress_state", {"nodes": copy.deepcopy(states)})
        self._interrupt = None
        if error is None:
            await say("execution_success", {}, keep=True)
        else:
            await say(error[0], error[1], keep=True)
            outputs = {}
        self.stats.runs.append((p.prompt_id, t0, time.monotonic()))
        self.running = None
        await self._status()
        self.history[p.prompt_id] = {
            "prompt": [p.number, p.prompt_id, p.graph, {"client_id": p.client_id, "create_time": p.create_time},
                       p.outputs],
            "outputs": outputs,
            "status": {"status_str": "success" if error is None else "error", "completed": error is None,
                       "messages": messages},
            "meta": {o: {"node_id": o, "display_node": o, "parent_node": None, "real_node_id": o} for o in outputs},
        }  # fmt: skip
        await self._send(sid, "executing", {"node": None, "prompt_id": p.prompt_id})

    async def _sleep(self, p: Prompt, seconds: float) -> None:
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            if self._interrupt == p.prompt_id:
                raise _Interrupted
            await asyncio.sleep(min(0.02, max(0.0, end - time.monotonic())))
        if self._interrupt == p.prompt_id:
            raise _Interrupted

    # -- node evaluation (model-free nodes, outputs made with ffmpeg) -------------------------------------------
    async def _run_node(self, p: Prompt, nid: str, node: dict[str, Any], values: dict[str, Any]) -> Any:
        cls = node["class_type"]
        raw = node.get("inputs") or {}
        inp = {k: (values[v[0]] if _is_link(v) else v) for k, v in raw.items()}
        if cls == "LoadImage":
            return {"kind": "image", "src": str(self.input_dir / inp["image"]), "w": None, "h": None, "frames": 1}
        if cls == "LoadAudio":
            return {"kind": "audio", "src": str(self.input_dir / inp["audio"]), "duration": None}
        if cls == "EmptyImage":
            return {"kind": "image", "src": f"color=c=#{int(inp.get('color', 0)):06x}", "w": inp["width"],
                    "h": inp["height"], "frames": inp.get("batch_size", 1), "lavfi": True}  # fmt: skip
        if cls == "EmptyAudio":
            return {"kind": "audio", "src": f"anullsrc=r={inp.get('sample_rate', 44100)}:cl=mono",
                    "duration": float(inp["duration"]), "lavfi": True}  # fmt: skip
        if cls in ("ImageScale", "ResizeAndPadImage"):
            return {**inp["image"], "w": inp.get("width") or inp.get("target_width"),
                    "h": inp.get("height") or inp.get("target_height")}  # fmt: skip
        if cls == "RepeatImageBatch":
            return {**inp["image"], "frames": int(inp["amount"])}
        if cls == "TrimAudioDuration":
            return {**inp["audio"], "duration": float(inp["duration"])}
        if cls == "CreateVideo":
            return {"kind": "video", "images": inp["images"], "fps": float(inp["fps"]), "audio": inp.get("audio")}
        if cls in ("SaveImage", "PreviewImage"):
            return {"images": [await self._save_image(inp["images"], inp.get("filename_prefix", "ComfyUI"))]}
        if cls == "SaveVideo":
            return {"images": [await self._save_video(inp["video"], inp.get("filename_prefix", "video/ComfyUI"))],
                    "animated": [True]}  # fmt: skip
        if cls in ("SaveAudio", "SaveAudioMP3"):
            ext = "mp3" if cls == "SaveAudioMP3" else "flac"
            return {"audio": [await self._save_audio(inp["audio"], inp.get("filename_prefix", "audio/ComfyUI"), ext)]}
        for v in inp.values():  # any other node: pass its first media input through
            if isinstance(v, dict) and v.get("kind"):
                return v
        return {"kind": "none"}

    def _next_name(self, prefix: str, ext: str) -> tuple[Path, dict[str, str]]:
        sub, _, stem = prefix.rpartition("/")
        folder = self.output_dir / sub
        folder.mkdir(parents=True, exist_ok=True)
        n = len(list(folder.glob(f"{stem}_*_.{ext}"))) + 1
        while (folder / f"{stem}_{n:05d}_.{ext}").exists():
            n += 1
        name = f"{stem}_{n:05d}_.{ext}"
        return folder / name, {"filename": name, "subfolder": sub, "type": "output"}

    @staticmethod
    def _image_input(img: dict[str, Any]) -> list[str]:
        if img.get("lavfi"):
            return ["-f", "lavfi", "-i", f"{img['src']}:s={img['w']}x{img['h']}:d=1"]
        return ["-i", img["src"]]

    async def _save_image(self, img: dict[str, Any], prefix: str) -> dict[str, str]:
        dest, ref = self._next_name(prefix, "png")
        vf = ["-vf", f"scale={img['w']}:{img['h']}"] if img.get("w") and img.get("h") else []
        await _ffmpeg([*self._image_input(img), *vf, "-frames:v", "1", str(dest)])
        return ref

    async def _save_video(self, video: dict[str, Any], prefix: str) -> dict[str, str]:
        dest, ref = self._next_name(prefix, "mp4")
        img = video["images"]
        fps = video["fps"]
        seconds = max(1, int(img.get("frames", 1))) / fps
        w, h = img.get("w"), img.get("h")
        scale = f"scale={w}:{h}," if w and h else "scale=trunc(iw/2)*2:trunc(ih/2)*2,"
        args = ["-loop", "1", "-framerate", str(fps), *self._image_input(img)]
        audio = video.get("audio")
        if audio:
            args += self._audio_input(audio)
        args += ["-t", f"{seconds:.3f}", "-vf", f"{scale}format=yuv420p", "-r", str(fps),
                 "-c:v", "libx264", "-preset", "ultrafast"]  # fmt: skip
        if audio:
            args += ["-c:a", "aac"]  # -t above: the video's length wins, the audio is cut
        await _ffmpeg([*args, str(dest)])
        return ref

    @staticmethod
    def _audio_input(audio: dict[str, Any]) -> list[str]:
        dur = ["-t", f"{audio['duration']:.3f}"] if audio.get("duration") else []
        if audio.get("lavfi"):
            return ["-f", "lavfi", *dur, "-i", audio["src"]]
        return [*dur, "-i", audio["src"]]

    async def _save_audio(self, audio: dict[str, Any], prefix: str, ext: str) -> dict[str, str]:
        dest, ref = self._next_name(prefix, ext)
        await _ffmpeg([*self._audio_input(audio), str(dest)])
        return ref


class _Interrupted(Exception):
    pass


async def _ffmpeg(args: list[str]) -> None:
    proc = await asyncio.create_subprocess_exec(
        ffmpeg_exe(), "-hide_banner", "-nostdin", "-y", "-loglevel", "error", *args,
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    _, err = await proc.communicate()
    if proc.returncode != 0:
        raise RuntimeError(err.decode("utf-8", "replace").strip()[-300:])


def _topological(graph: dict[str, Any], outputs: list[str]) -> list[str]:
    order: list[str] = []
    seen: set[str] = set()

    def visit(nid: str) -> None:
        if nid in seen:
            return
        seen.add(nid)
        for v in (graph[nid].get("inputs") or {}).values():
            if _is_link(v):
                visit(v[0])
        order.append(nid)

    for o in outputs:
        visit(o)
    return order


def _is_link(v: Any) -> bool:
    return isinstance(v, list) and len(v) == 2 and isinstance(v[0], str) and isinstance(v[1], int)


def _err(kind: str, message: str, details: str) -> dict[str, Any]:
    return {"type": kind, "message": message, "details": details, "extra_info": {}}


def _error(kind: str, message: str, details: str) -> web.Response:
    return web.json_response({"error": _err(kind, message, details), "node_errors": {}}, status=400)


async def _body(request: web.Request) -> dict[str, Any]:
    if not request.can_read_body:
        return {}
    with contextlib.suppress(ValueError):
        data = await request.json()
        return data if isinstance(data, dict) else {}
    return {}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def running_server(root: Path, **kw: Any) -> Iterator[ComfyTestServer]:
    srv = ComfyTestServer(root, **kw).start()
    try:
        yield srv
    finally:
        srv.close()
