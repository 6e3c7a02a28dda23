"""The review page's web layer: FastAPI routes, Jinja2 templates, the token and the media files.

- Bound to 127.0.0.1 by default. On any other address a token is required (``[review] token_env`` or
  ``token_file``); it is checked on every request (cookie set by ``/?token=...`` or the login form, or an
  ``Authorization: Bearer`` header) and never logged: the access log writes paths without query strings.
- Every form carries a form token (derived from the token, or random per process on loopback), so that
  another web page cannot post decisions through the reviewer's browser. A form without it gets 403.
- Media are looked up by (item, language, kind) in the store; no path ever comes from the request.
- The pages are plain HTML forms that work without JavaScript; a little inline script adds keyboard shortcuts.
- A request whose Host header is not an IP address, localhost, the bound host, this machine's name or one of
  ``[review] allowed_hosts`` gets 421 (DNS rebinding); every answer forbids framing (``frame-ancestors 'none'``,
  ``X-Frame-Options: DENY``).
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import logging
import secrets
import socket
import time
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import Depends, FastAPI, Form, Request
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, RedirectResponse, Response
from jinja2 import Environment, FileSystemLoader, select_autoescape
from pydantic import SecretStr

from vivant.config import Settings
from vivant.errors import VivantError
from vivant.review import actions, data
from vivant.states import ItemState
from vivant.steps import STEPS
from vivant.store import Store

log = logging.getLogger(__name__)

COOKIE = "vivant_review"
TEMPLATES = Path(__file__).parent / "templates"


def is_loopback(host: str) -> bool:
    if host in ("localhost", "localhost.localdomain"):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def load_token(settings: Settings) -> SecretStr | None:
    """The page's token from the environment variable named in ``[review] token_env``, else ``token_file``."""
    import os

    value = os.environ.get(settings.review.token_env, "") if settings.review.token_env else ""
    if not value and settings.review.token_file is not None:
        path = settings.review.token_file
        path = path if path.is_absolute() else settings.workspace / path
        try:
            value = path.read_text(encoding="utf-8").strip()
        except OSError as e:
            raise VivantError(f"{path}: cannot read the review token: {e.strerror or e}") from None
    if value:
        from vivant.redact import register

        register(value)
    return SecretStr(value) if value else None


def host_allowed(header: str, allowed: frozenset[str]) -> bool:
    """Whether a request's Host header names this page: an IP address (DNS rebinding needs a name),
    localhost, or one of ``allowed`` (the bound host and ``[review] allowed_hosts``), any port."""
    host = header.strip().lower()
    if not host:
        return False
    if host.startswith("["):  # [::1]:8765
        name = host[1 : host.find("]")] if "]" in host else ""
    else:
        name = host.rsplit(":", 1)[0] if host.count(":") == 1 else host
    name = name.rstrip(".")
    if not name:
        return False
    if name in allowed or name in ("localhost", "localhost.localdomain"):
        return True
    try:
        ipaddress.ip_address(name)
    except ValueError:
        return False
    return True


def _format_time(at: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M", time.localtime(at))


def get_store(request: Request) -> Iterator[Store]:
    """One connection per request (the store's connection is not shared between threads)."""
    store = Store.open(request.app.state.store_path)
    try:
        yield store
    finally:
        store.close()


StoreDep = Annotated[Store, Depends(get_store)]


def create_app(settings: Settings, store_path: Path, token: SecretStr | str | None = None,
               host: str | None = None) -> FastAPI:  # fmt: skip
    """The review app over the database at ``store_path`` (one connection per request); ``host`` is the bound
    address (default ``[review] host``), a name the Host header may carry."""
    machine = socket.gethostname()  # this machine's own names are not an attacker's
    names = (host or settings.review.host, machine, f"{machine}.local", *settings.review.allowed_hosts)
    allowed_hosts = frozenset(h.strip().lower().strip("[]").rstrip(".") for h in names if h)
    secret = SecretStr(token) if isinstance(token, str) else token
    if secret is not None and not secret.get_secret_value():
        secret = None
    if secret is not None:
        form_token = hmac.new(secret.get_secret_value().encode(), b"vivant-review-form", hashlib.sha256).hexdigest()
        cookie_value = hmac.new(secret.get_secret_value().encode(), b"vivant-review-cookie", hashlib.sha256).hexdigest()
    else:
        form_token = secrets.token_urlsafe(24)
        cookie_value = ""
    env = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(["j2", "html"]))
    env.filters["when"] = _format_time
    app = FastAPI(title="Tableau Vivant review", docs_url=None, redoc_url=None, openapi_url=None)
    workspace = store_path.parent

    def render(request: Request, name: str, status: int = 200, **context: Any) -> HTMLResponse:
        html = env.get_template(name).render(request=request, form_token=form_token, **context)
        return HTMLResponse(html, status_code=status, headers={"Cache-Control": "no-store"})

    def authorised(request: Request) -> bool:
        if secret is None:
            return True
        cookie = request.cookies.get(COOKIE, "")
        if cookie and hmac.compare_digest(cookie, cookie_value):
            return True
        header = request.headers.get("authorization", "")
        if header.lower().startswith("bearer "):
            return hmac.compare_digest(header[7:].strip().encode(), secret.get_secret_value().encode())
        return False

    app.state.store_path = store_path

    @app.middleware("http")
    async def guard(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        started = time.perf_counter()
        query_token = request.query_params.get("token")
        if not host_allowed(request.headers.get("host", ""), allowed_hosts):
            # DNS rebinding: another site's name pointed at this address. Refused before anything else.
            response: Response = Response(
                "unknown Host: add it to [review] allowed_hosts\n", status_code=421, media_type="text/plain"
            )
        elif secret is not None and query_token is not None and request.method == "GET":
            # The token arrives once in the address; it becomes a cookie and leaves the address bar.
            if hmac.compare_digest(query_token.encode(), secret.get_secret_value().encode()):
                response = RedirectResponse(request.url.path, status_code=303)
                response.set_cookie(COOKIE, cookie_value, httponly=True, samesite="strict")
            else:
                response = render(request, "login.html.j2", status=401, error="wrong token")
        elif request.url.path in ("/login", "/healthz") or authorised(request):
            response = await call_next(request)
        elif request.url.path == "/" or request.headers.get("accept", "").startswith("text/html"):
            response = render(request, "login.html.j2", status=401, error="")
        else:
            response = JSONResponse({"error": "a token is needed"}, status_code=401)
        # Paths only: a query string may hold the token.
        log.info("%s %s %d %.0f ms", request.method, request.url.path, response.status_code,
                 (time.perf_counter() - started) * 1000)  # fmt: skip
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "no-referrer")
        response.headers.setdefault("Content-Security-Policy", "frame-ancestors 'none'")
        response.headers.setdefault("X-Frame-Options", "DENY")
        return response

    def wants_json(request: Request) -> bool:
        return "application/json" in request.headers.get("accept", "")

    def check_form(request: Request, given: str) -> None:
        if not given or not hmac.compare_digest(given.encode(), form_token.encode()):
            raise actions.ReviewError("the form has no valid token: reload the page and try again", status=403)

    def done(request: Request, decision: actions.Decision, store: Store) -> Response:
        if wants_json(request):
            return JSONResponse({"item": decision.item_id, "decision": decision.decision,
                                 "state": decision.state.value, "message": decision.message})  # fmt: skip
        pending = [i.id for i in store.items_in_states([ItemState.COMPLETE])]
        later = [i for i in pending if i > decision.item_id] or pending
        anchor = f"#item-{later[0]}" if later else ""
        return RedirectResponse(f"/?note={quote(decision.message)}{anchor}", status_code=303)

    @app.exception_handler(actions.ReviewError)
    async def review_error(request: Request, exc: actions.ReviewError) -> Response:
        if wants_json(request):
            return JSONResponse({"error": str(exc)}, status_code=exc.status)
        return render(request, "error.html.j2", status=exc.status, error=str(exc))

    @app.exception_handler(VivantError)
    async def vivant_error(request: Request, exc: VivantError) -> Response:
        log.warning("review: %s", exc)
        if wants_json(request):
            return JSONResponse({"error": str(exc)}, status_code=500)
        return render(request, "error.html.j2", status=500, error=str(exc))

    @app.get("/healthz")
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.post("/login")
    def login(request: Request, token: Annotated[str, Form()] = "") -> Response:
        if secret is None:
            return RedirectResponse("/", status_code=303)
        if token and hmac.compare_digest(token.encode(), secret.get_secret_value().encode()):
            response = RedirectResponse("/", status_code=303)
            response.set_cookie(COOKIE, cookie_value, httponly=True, samesite="strict")
            return response
        return render(request, "login.html.j2", status=401, error="wrong token")

    @app.get("/", response_class=HTMLResponse)
    def index(request: Request, store: StoreDep, show: str = "todo", note: str = "") -> Response:
        show_all = show == "all"
        cards = data.cards(store, show_all=show_all)
        stats = store.review_stats()
        return render(
            request, "index.html.j2", cards=cards, show_all=show_all, note=note[:500], stats=stats,
            reasons=actions.REJECT_REASONS, steps=STEPS, names=data.LANGUAGE_NAMES,
            pending=sum(1 for c in cards if c.state == ItemState.COMPLETE),
        )  # fmt: skip

    @app.get("/items/{item_id}.json")
    def item_json(item_id: int, store: StoreDep) -> Response:
        try:
            c = data.card(store, item_id)
        except VivantError:
            raise actions.ReviewError(f"no painting to review with id {item_id}", status=404) from None
        return JSONResponse({**c.__dict__, "languages": [lv.__dict__ for lv in c.languages]})

    @app.post("/items/{item_id}/approve")
    def approve(request: Request, item_id: int, store: StoreDep, csrf: Annotated[str, Form()] = "",
                note: Annotated[str, Form()] = "") -> Response:  # fmt: skip
        check_form(request, csrf)
        return done(request, actions.approve(store, settings, item_id, note=note), store)

    @app.post("/items/{item_id}/reject")
    def reject(request: Request, item_id: int, store: StoreDep, csrf: Annotated[str, Form()] = "",
               reasons: Annotated[list[str] | None, Form()] = None,
               note: Annotated[str, Form()] = "") -> Response:  # fmt: skip
        check_form(request, csrf)
        return done(request, actions.reject(store, settings, item_id, reasons or [], note=note), store)

    @app.post("/items/{item_id}/redo")
    def redo(request: Request, item_id: int, store: StoreDep, csrf: Annotated[str, Form()] = "",
             step: Annotated[str, Form()] = "", note: Annotated[str, Form()] = "") -> Response:  # fmt: skip
        check_form(request, csrf)
        if not step:
            raise actions.ReviewError("choose the step to redo from")
        return done(request, actions.redo(store, settings, item_id, step, note=note), store)

    @app.get("/stats")
    def stats(store: StoreDep) -> dict[str, Any]:
        return store.review_stats()

    @app.get("/media/{item_id}/{language}/{kind}")
    def media(item_id: int, language: str, kind: str, store: StoreDep) -> Response:
        path = None
        if language in data.LANGUAGE_NAMES and kind in data.MEDIA_KINDS:
            path = data.media_path(store, workspace, item_id, language, kind)
        if path is None:
            return JSONResponse({"error": "no such media"}, status_code=404)
        return FileResponse(path, media_type=data.MEDIA_KINDS[kind], headers={"Cache-Control": "private, max-age=60"})

    return app


def serve(settings: Settings, store_path: Path, *, host: str | None = None, port: int | None = None,
          token: SecretStr | None = None) -> None:  # fmt: skip
    """Run the page with uvicorn until interrupted. Refuse a non-loopback address without a token."""
    import uvicorn

    host = host or settings.review.host
    port = port or settings.review.port
    if token is None:
        token = load_token(settings)
    if not is_loopback(host) and token is None:
        raise VivantError(
            f"review: serving on {host} needs a token: set {settings.review.token_env} or [review] token_file"
        )
    app = create_app(settings, store_path, token, host=host)
    config = uvicorn.Config(app, host=host, port=port, access_log=False, log_config=None, server_header=False)
    uvicorn.Server(config).run()
