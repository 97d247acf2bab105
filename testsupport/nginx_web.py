"""A generated outlet served by a real web server — Debian's nginx — on a loopback port.

For the benchmarks that measure Chavder's throughput on this machine's two cores: the outlet's
web server has to run on those cores too, and the fixture web (Python's ``http.server``) takes
0.6–1 ms of CPU per 100 KB page — as much as a tenth of what the crawl itself spends. A real
outlet's server is elsewhere, and is usually nginx; nginx's sendfile path costs a few hundredths
of a millisecond. Same pages, same URLs (``http://<site>.fixture`` placeholders replaced by the
real base URL when the site is copied in), same validators (ETag, Last-Modified).

Requests in flight per ``Host`` are counted from nginx's access log: each line carries the time
the answer ended and how long it took, both in whole milliseconds, so every request lies inside
``[end - took, end + 1 ms)`` and the largest overlap of those intervals is an upper bound of the
true peak (never less than it: a limit that holds here holds for certain).

The API is ``testsupport.fixtureweb.FixtureWebProcess``'s: ``base(site)``, ``proc`` (one process:
``master_process off``, so its CPU is the server's), ``peak_in_flight(reset=)``.
"""
from __future__ import annotations

import shutil
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from testsupport.smtp_sink import free_port

#: where Debian's nginx package puts it (`make dev` apt-gets it when it is missing)
NGINX = "nginx"
_TEXT_SUFFIXES = {".html", ".xml", ".txt", ".json", ".rss", ".atom"}

_CONF = """\
daemon off;
master_process off;
worker_processes 1;
pid {home}/nginx.pid;
error_log {home}/error.log warn;
events {{ worker_connections 1024; }}
http {{
    types {{ text/html html; application/xml xml; text/plain txt; application/json json; }}
    default_type application/octet-stream;
    charset utf-8;
    charset_types text/html application/xml text/plain application/json;
    log_format timing '$msec $request_time $status $http_host $request_uri';
    access_log {home}/access.log timing;
    client_body_temp_path {home}/tmp/body;
    proxy_temp_path {home}/tmp/proxy;
    fastcgi_temp_path {home}/tmp/fastcgi;
    uwsgi_temp_path {home}/tmp/uwsgi;
    scgi_temp_path {home}/tmp/scgi;
    sendfile on;
    tcp_nopush on;
    keepalive_requests 1000000;
    keepalive_timeout 120s;
    server {{
        listen 127.0.0.1:{port};
        server_name _;
        root {docroot};
        location / {{ try_files $uri $uri/index.html =404; }}
    }}
}}
"""


class NginxError(RuntimeError):
    """nginx could not be found or did not answer."""


def copy_site(source: Path, target: Path, placeholder: bytes, base: bytes) -> int:
    """Copy a site directory, replacing ``placeholder`` by ``base`` in its text files; return
    how many files were copied."""
    count = 0
    for path in source.rglob("*"):
        if not path.is_file():
            continue
        out = target / path.relative_to(source)
        out.parent.mkdir(parents=True, exist_ok=True)
        if path.suffix in _TEXT_SUFFIXES:
            out.write_bytes(path.read_bytes().replace(placeholder, base))
        else:
            shutil.copyfile(path, out)
        count += 1
    return count


def peak_overlap(lines: list[str], since: float = 0.0) -> dict[str, int]:
    """Per ``Host``: the most requests whose ``[end - took, end + 1 ms)`` intervals overlap,
    from ``timing`` log lines (``msec request_time status host uri``), counting only requests
    that started at or after ``since`` (epoch seconds)."""
    events: dict[str, list[tuple[int, int]]] = {}
    for line in lines:
        parts = line.split()
        if len(parts) < 5:
            continue
        end_ms = round(float(parts[0]) * 1000)
        start_ms = end_ms - round(float(parts[1]) * 1000)
        if start_ms < since * 1000 - 1:
            continue
        host = parts[3].lower()
        events.setdefault(host, []).extend(((start_ms, 1), (end_ms + 1, -1)))
    peaks = {}
    for host, marks in events.items():
        now = peak = 0
        for _t, step in sorted(marks):        # an end (-1) sorts before a start at the same ms
            now += step
            peak = max(peak, now)
        peaks[host] = peak
    return peaks


class NginxWeb:
    """One site directory served by nginx on 127.0.0.1 (context manager)."""

    def __init__(self, root: str | Path, site: str = "bench") -> None:
        self.root = Path(root)
        self.site = site
        self.port = free_port()
        self.home = Path(tempfile.mkdtemp(prefix="chavder-nginx-"))
        self.proc: Any = None
        self._since = 0.0

    def base(self, site: str) -> str:
        if site != self.site:
            raise KeyError(f"nginx serves only the site {self.site!r}, not {site!r}")
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> "NginxWeb":
        binary = shutil.which(NGINX) or next(
            (p for p in ("/usr/sbin/nginx",) if Path(p).exists()), None)
        if binary is None:
            raise NginxError("nginx is not installed: run `make dev` (it apt-gets the Debian "
                             "package nginx)")
        source = self.root / self.site
        if not source.is_dir():
            raise FileNotFoundError(f"no site folder {source} to serve (generate it first)")
        copy_site(source, self.home / "html",
                  f"http://{self.site}.fixture".encode(), self.base(self.site).encode())
        (self.home / "tmp").mkdir()
        conf = self.home / "nginx.conf"
        conf.write_text(_CONF.format(home=self.home, port=self.port, docroot=self.home / "html"))
        self.proc = subprocess.Popen([binary, "-p", str(self.home), "-c", str(conf)],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise NginxError(f"nginx exited with {self.proc.returncode}: "
                                 f"{self.proc.stderr.read().decode(errors='replace')[-2000:]}")
            try:
                with urllib.request.urlopen(self.base(self.site) + "/", timeout=2):
                    return self
            except urllib.error.HTTPError:      # answering (a site without an index page)
                return self
            except OSError:
                time.sleep(0.05)
        self.__exit__()
        raise NginxError(f"nginx did not answer on port {self.port} within 20 s")

    def peak_in_flight(self, reset: bool = False) -> dict[str, int]:
        """Per ``Host``: the most requests answered at once since the last reset (an upper
        bound at the log's millisecond resolution); ``reset``: then start counting afresh."""
        log = self.home / "access.log"
        lines = log.read_text(errors="replace").splitlines() if log.exists() else []
        peaks = peak_overlap(lines, self._since)
        if reset:
            self._since = time.time()
        return peaks

    def __exit__(self, *exc: object) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        shutil.rmtree(self.home, ignore_errors=True)
