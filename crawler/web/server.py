"""Serving the web interface with uvicorn: in the foreground (``chavder web``) or on a thread
of ``chavder run`` beside its Twisted reactor.

The socket is bound here, before uvicorn starts, so a busy port or a refused address is one
clear line at once and port 0 reports the port it got. The application object is its own
(``Chavder.from_config(..., write=False)``): the web pages never write, and the service's
crawl writes go on undisturbed on the reactor thread.
"""
from __future__ import annotations

import logging
import socket
import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from crawler.web.security import Credentials, bind_problem, credentials_from_env

if TYPE_CHECKING:
    from crawler.config import Settings

log = logging.getLogger("chavder.web")


class WebRefused(Exception):
    """The web interface cannot start (the message is one line saying why and what to do)."""


def credentials(settings: "Settings") -> Credentials:
    try:
        return credentials_from_env(settings.web_token_file)
    except OSError as exc:
        raise WebRefused(f"web_token_file {settings.web_token_file}: cannot be read "
                         f"({exc.strerror or exc})") from None


def bind(host: str, port: int, creds: Credentials) -> socket.socket:
    """The listening socket, or :class:`WebRefused` (no credentials off loopback, port busy)."""
    problem = bind_problem(host, creds)
    if problem:
        raise WebRefused(problem)
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host.strip("[]"), port))
    except OSError as exc:
        sock.close()
        raise WebRefused(f"web interface {host}:{port} cannot be used ({exc.strerror or exc}) "
                         "— another program has it; pass --port (0 = any free port) or set "
                         "web_port") from None
    sock.listen(128)
    sock.set_inheritable(True)
    return sock


def url_of(sock: socket.socket) -> str:
    host, port = sock.getsockname()[:2]
    host = f"[{host}]" if ":" in host else host
    return f"http://{host}:{port}/"


@dataclass
class WebServer:
    """A running uvicorn server over a bound socket."""

    server: Any
    sock: socket.socket
    app: Any = None                 # the Chavder it reads (closed by stop)
    thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return url_of(self.sock)

    def stop(self, timeout: float = 5.0) -> None:
        self.server.should_exit = True
        if self.thread is not None:
            self.thread.join(timeout)
        if self.app is not None:
            self.app.close()


def build(settings: "Settings", host: str, port: int, *, access_log: bool = False) -> WebServer:
    """The server for these settings on ``host:port`` (bound, not yet serving)."""
    import uvicorn

    from crawler.app import Chavder
    from crawler.web.app import create_app
    creds = credentials(settings)
    sock = bind(host, port, creds)
    app = Chavder.from_config(settings=settings, write=False)
    try:
        app.store                      # an unusable or missing store: said now, not per page
    except BaseException:
        sock.close()
        raise
    config = uvicorn.Config(create_app(app, creds), log_config=None, access_log=access_log,
                            server_header=False, proxy_headers=False, lifespan="off")
    return WebServer(uvicorn.Server(config), sock, app)


def serve(web: WebServer) -> None:
    """Serve in the foreground until SIGINT/SIGTERM (uvicorn handles them)."""
    web.server.run(sockets=[web.sock])


def start_thread(settings: "Settings", host: str, port: int) -> WebServer:
    """Serve on a daemon thread (``chavder run``); ``stop()`` ends it."""
    web = build(settings, host, port)
    web.thread = threading.Thread(target=web.server.run, kwargs={"sockets": [web.sock]},
                                  name="chavder-web", daemon=True)
    web.thread.start()
    log.info("web interface on %s", web.url)
    return web
