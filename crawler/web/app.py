"""The web application: a FastAPI (Starlette) app over one :class:`crawler.app.Chavder`.

``create_app`` wires what every page shares — the application object (its store opened for
reading), the Jinja2 templates (autoescaped), the static files (CSS and the bundled fonts), and
the guard every request passes: read-only methods, credentials when they are required, and the
security headers (CSP without any script) on every answer. The pages, the JSON API and the
feeds are routers of their own (``page_routes``, ``api_routes``, ``feed_routes``).
"""
from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Awaitable, Callable
from urllib.parse import urlsplit

from fastapi import FastAPI
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.staticfiles import StaticFiles
from starlette.templating import Jinja2Templates

from crawler.web.search_view import direction
from crawler.web.security import HEADERS, READ_METHODS, Credentials, is_loopback

if TYPE_CHECKING:
    from crawler.app import Chavder

HERE = Path(__file__).resolve().parent
TEMPLATES = HERE / "templates"
STATIC = HERE / "static"


def safe_href(url: str | None) -> str:
    """A link target from stored data: http(s) URLs only (never ``javascript:``)."""
    if url and urlsplit(url).scheme in ("http", "https"):
        return url
    return "#"


def when(value: str | None) -> str:
    """An ISO time as a reader scans it: ``2017-06-01 14:05`` (seconds and offset dropped)."""
    return (value or "")[:16].replace("T", " ") or "—"


def templates() -> Jinja2Templates:
    """The page templates; Starlette's Jinja2 environment autoescapes ``.html``."""
    tpl = Jinja2Templates(directory=str(TEMPLATES))
    tpl.env.filters.update(safe_href=safe_href, when=when)
    tpl.env.globals.update(direction=direction)
    return tpl


def create_app(chavder: "Chavder", credentials: Credentials | None = None) -> FastAPI:
    """The web interface of ``chavder`` (its store is used for reading only)."""
    from crawler.web import api_routes, feed_routes, page_routes
    app = FastAPI(title="Chavder", version="1",
                  description="Search, stories, attention over time, alerts and source health "
                              "of a Chavder store (read-only).",
                  docs_url=None, redoc_url=None, openapi_url="/openapi.json")
    app.state.chavder = chavder
    app.state.templates = templates()
    app.state.credentials = credentials or Credentials()
    app.mount("/static", StaticFiles(directory=str(STATIC)), name="static")
    app.include_router(page_routes.router)
    app.include_router(api_routes.router)
    app.include_router(feed_routes.router)

    @app.middleware("http")
    async def guard(request: Request, call_next: Callable[[Request], Awaitable[Response]]
                    ) -> Response:
        response = _refusal(request)
        if response is None:
            response = await call_next(request)
        for name, value in HEADERS.items():
            response.headers.setdefault(name, value)
        return response

    return app


def _host_name(host: str | None) -> str:
    """The name of a Host header without its port (``[::1]:9420`` → ``::1``)."""
    host = (host or "").strip()
    if host.startswith("["):
        return host[1:host.find("]")] if "]" in host else host
    return host.rsplit(":", 1)[0] if host.count(":") == 1 else host


def _refusal(request: Request) -> Response | None:
    """The answer to a request that may not proceed: a method that would change something
    (the interface is read-only), a foreign Host on an open loopback server, or missing
    credentials."""
    if request.method not in READ_METHODS:
        return PlainTextResponse("read-only: only GET and HEAD\n", status_code=405,
                                 headers={"Allow": "GET, HEAD"})
    credentials: Credentials = request.app.state.credentials
    if not credentials.required and not is_loopback(_host_name(request.headers.get("host"))):
        # open on loopback only: a page of another site whose name was re-pointed to
        # 127.0.0.1 (DNS rebinding) reaches this server with its own name as Host
        return PlainTextResponse("unexpected Host header: without credentials this interface "
                                 "answers only to 127.0.0.1, ::1 or localhost\n",
                                 status_code=400)
    if not credentials.accepts(request.headers.get("authorization")):
        return PlainTextResponse("credentials required\n", status_code=401,
                                 headers={"WWW-Authenticate": 'Basic realm="Chavder"'})
    return None
