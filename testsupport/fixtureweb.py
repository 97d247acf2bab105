"""The test suite's fixture web: Chavder's sample-outlet server (``crawler.sampleweb``) plus what
tests and benchmarks need from a misbehaving web, on 127.0.0.1.

Adds to the static server:

* ``<site>/_routes.yaml`` faults for exact paths (``/api/list?page=2`` matches that query
  first, then the bare path): ``status``, ``redirect``, ``sleep``, ``generate_bytes``,
  ``file``, and ``require_headers`` (request headers that must contain the given text, else
  ``unless_status`` — 406 — like a site refusing plain clients);
* ``publish()`` / ``unpublish()`` change content at run time (new or edited articles mid-run);
* every request is logged in ``requests`` (site, method, path, status) for assertions, and its
  headers in ``request_headers`` (site, path with query, headers);
* concurrency is recorded: ``peak_in_flight`` holds, per ``Host`` header (``127.0.0.1:PORT``)
  and per host name (``127.0.0.1``, every site together), the most requests that were being
  answered at once; ``latency`` (seconds, all sites or a ``{site: seconds}`` mapping) holds
  every answer back so that overlapping requests overlap observably. ``GET
  /_fixtureweb/concurrency`` on any site answers the peaks as JSON (the child-process web's
  way to tell them; ``?reset`` then starts afresh), unrecorded;
* ``tls=`` a ``testsupport.tls.FixtureCA``: every site over HTTPS with that test CA;
* ``FixtureWebProcess``: the same web in a child process (benchmarks: the server must not
  share the measured process's GIL).
"""
from __future__ import annotations

import json
import time
from http.server import ThreadingHTTPServer
from pathlib import Path
from typing import TYPE_CHECKING, Any

from crawler.sampleweb import TYPES, Reply, Request, Resource, SampleWeb, Site, default_root, \
    guess_type

if TYPE_CHECKING:
    from testsupport.tls import FixtureCA

REPO = Path(__file__).resolve().parent.parent   # testsupport/ is not installed: run from here
NOT_ACCEPTABLE = b"<html><body><h1>Not Acceptable</h1></body></html>"
CONCURRENCY_PATH = "/_fixtureweb/concurrency"


class FixtureWeb(SampleWeb):
    """Serve every site directory under ``root`` on its own loopback port, with faults."""

    def __init__(self, root: str | Path, host: str = "127.0.0.1",
                 ports: dict[str, int] | None = None, tls: "FixtureCA | None" = None):
        super().__init__(root, host, ports)
        self._tls = tls
        self.requests: list[tuple[str, str, str, int]] = []
        self.request_headers: list[tuple[str, str, dict[str, str]]] = []
        self._overlay: dict[tuple[str, str], Resource | None] = {}
        self.latency: float | dict[str, float] = 0.0
        self.in_flight: dict[str, int] = {}
        self.peak_in_flight: dict[str, int] = {}

    def start(self) -> "FixtureWeb":
        super().start()
        return self

    def __enter__(self) -> "FixtureWeb":
        return self.start()

    def listen(self, server: ThreadingHTTPServer) -> str:
        if self._tls is None:
            return "http"
        from testsupport.tls import serve_tls   # cryptography only for the HTTPS tests
        serve_tls(server, self._tls)
        return "https"

    # ------------------------------------------------------------------ helpers for tests
    def publish(self, site: str, path: str, body: bytes | str,
                content_type: str | None = None) -> None:
        """Add or replace a resource at run time (placeholders are substituted when served)."""
        raw = body.encode("utf-8") if isinstance(body, str) else body
        ctype = content_type or guess_type(path)
        with self._lock:
            self._overlay[site, path] = Resource(self.substitute(raw), ctype, time.time())

    def unpublish(self, site: str, path: str) -> None:
        with self._lock:
            self._overlay[site, path] = None

    def request_count(self, site: str | None = None, path: str | None = None) -> int:
        with self._lock:
            return sum(1 for s, _m, p, _st in self.requests
                       if (site is None or s == site) and (path is None or p == path))

    def clear_log(self) -> None:
        with self._lock:
            self.requests.clear()
            self.request_headers.clear()

    def max_in_flight(self, host: str | None = None) -> int:
        """The most requests answered at once for ``host`` (a ``Host`` header such as
        ``127.0.0.1:8001``, or a bare host name: all its ports together); None: any host."""
        with self._lock:
            if host is not None:
                return self.peak_in_flight.get(host.lower(), 0)
            return max((n for h, n in self.peak_in_flight.items() if ":" in h), default=0)

    def reset_concurrency(self) -> None:
        with self._lock:
            self.peak_in_flight = {k: v for k, v in self.in_flight.items() if v}

    def _hosts(self, request: Request) -> tuple[str, str]:
        host = (request.headers.get("Host") or "").strip().lower()
        return host, host.rpartition(":")[0] if host.rpartition(":")[2].isdigit() else host

    def _enter(self, request: Request) -> None:
        with self._lock:
            for key in self._hosts(request):
                now = self.in_flight[key] = self.in_flight.get(key, 0) + 1
                if now > self.peak_in_flight.get(key, 0):
                    self.peak_in_flight[key] = now

    def _leave(self, request: Request) -> None:
        with self._lock:
            for key in self._hosts(request):
                self.in_flight[key] = max(0, self.in_flight.get(key, 0) - 1)

    # ------------------------------------------------------------------ answering
    def respond(self, site: Site, request: Request) -> Reply:
        if request.path == CONCURRENCY_PATH:
            with self._lock:
                body = json.dumps(self.peak_in_flight).encode()
            if "reset" in request.full:
                self.reset_concurrency()
            return Reply(200, {"Content-Type": "application/json"}, body)
        self._enter(request)
        try:
            latency = self.latency.get(site.name, 0.0) if isinstance(self.latency, dict) \
                else self.latency
            if latency:
                time.sleep(latency)
            return self._respond(site, request)
        except BaseException:
            self._leave(request)
            raise

    def _respond(self, site: Site, request: Request) -> Reply:
        with self._lock:
            self.request_headers.append((site.name, request.full, dict(request.headers.items())))
        route = site.route(request)
        for name, needle in (route.get("require_headers") or {}).items():
            if str(needle).lower() not in (request.headers.get(name) or "").lower():
                return Reply(int(route.get("unless_status", 406)),
                             {"Content-Type": TYPES[".html"]}, NOT_ACCEPTABLE)
        if route.get("sleep"):
            time.sleep(float(route["sleep"]))
        if "redirect" in route:
            return Reply(302, {"Location": self.substitute(str(route["redirect"]))})
        if "generate_bytes" in route:
            size = int(route["generate_bytes"])
            chunk = b"<p>" + "حشو ".encode("utf-8") * 50 + b"</p>\n"
            body = (b"<html><body>" + chunk * (size // len(chunk) + 1))[:size]
            return Reply(int(route.get("status", 200)),
                         {"Content-Type": route.get("content_type", TYPES[".html"])}, body)
        resource = self.lookup(site, "/" + str(route["file"]).lstrip("/")
                               if "file" in route else request.path)
        status = int(route.get("status", 200 if resource else 404))
        return self.file_reply(resource, route, request, status)

    def served(self, site: Site, request: Request, status: int) -> None:
        if request.path == CONCURRENCY_PATH:
            return
        self._leave(request)
        with self._lock:
            self.requests.append((site.name, request.method, request.path, status))

    def lookup(self, site: Site, path: str) -> Resource | None:
        with self._lock:
            if (site.name, path) in self._overlay:
                return self._overlay[site.name, path]
        return super().lookup(site, path)


class FixtureWebProcess:
    """The fixture web in a child process (``python -m testsupport.fixtureweb ROOT``)."""

    def __init__(self, root: str | Path, ports: dict[str, int] | None = None,
                 latency: float = 0.0):
        self.root = Path(root)
        self.ports = ports or {}
        self.latency = latency
        self.proc: Any = None
        self.bases: dict[str, str] = {}

    def __enter__(self) -> "FixtureWebProcess":
        import subprocess
        import sys
        ports = [f"{site}={port}" for site, port in self.ports.items()]
        latency = [f"--latency={self.latency}"] if self.latency else []
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "testsupport.fixtureweb", str(self.root), *ports, *latency],
            cwd=REPO, stdout=subprocess.PIPE, text=True)
        self.bases = json.loads(self.proc.stdout.readline())
        return self

    def base(self, site: str) -> str:
        return self.bases[site]

    def peak_in_flight(self, reset: bool = False) -> dict[str, int]:
        """The child's ``FixtureWeb.peak_in_flight`` (asked over HTTP); ``reset``: then start
        counting afresh."""
        from urllib.request import urlopen
        url = next(iter(self.bases.values())) + CONCURRENCY_PATH + ("?reset" if reset else "")
        with urlopen(url, timeout=10) as reply:
            return json.loads(reply.read())

    def __exit__(self, *exc: object) -> None:
        if self.proc is not None:
            self.proc.terminate()
            self.proc.wait(timeout=10)


def main(argv: list[str] | None = None) -> int:
    """``python -m testsupport.fixtureweb ROOT [SITE=PORT ...] [--latency=SECONDS]``: serve,
    print {site: base URL} as JSON, run until terminated. Ports that cannot be bound (80 without
    the privilege) give way to free ones; the printed base URLs say which."""
    import signal
    import sys
    import threading
    args = sys.argv[1:] if argv is None else argv
    latency = sum(float(a.partition("=")[2]) for a in args if a.startswith("--latency="))
    args = [a for a in args if not a.startswith("--latency=")]
    ports = {site: int(port) for site, _, port in (a.partition("=") for a in args[1:])}
    root = args[0] if args else default_root()
    try:
        web = FixtureWeb(root, ports=ports).start()
    except OSError:
        web = FixtureWeb(root).start()
    web.latency = latency
    print(json.dumps({name: site.base for name, site in web.sites.items()}), flush=True)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        stop.wait()
    except KeyboardInterrupt:
        pass
    web.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
