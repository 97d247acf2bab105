"""The service's run lock: one ``chavder run`` per store, and how ``chavder status`` tells
whether one is running.

The lock is an exclusive ``flock`` on ``<db>.run.lock`` held for the life of the service; the
OS drops it when the process dies (even by kill -9), so a crash never leaves a stale lock. The
file's content is a JSON record (pid, start time, health URL) for ``status`` to print; whether
a service is *running* is decided by the flock alone, never by the content.
"""
from __future__ import annotations

import fcntl
import json
import os
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import IO, Any

from crawler.config import Settings
from crawler.redact import redact_url

LOOPBACK_HOSTS = {"127.0.0.1", "::1", "localhost", "0.0.0.0", "::", ""}


class ServiceRefused(Exception):
    """``chavder run`` cannot start as configured (health port taken, another service on the
    same store); the message is one line saying what to change."""


def run_lock_path(settings: Settings) -> Path:
    """The lock file of the service on this store: next to a SQLite file (so two configs with
    different data_dirs but one database still meet), else in ``data_dir``."""
    url = settings.store
    if url.startswith("sqlite:") or "://" not in url:
        path = url[len("sqlite:"):] if url.startswith("sqlite:") else url
        path = path[3:] if path.startswith("///") else path[2:] if path.startswith("//") else path
        if path and path != ":memory:":
            return Path(path).with_name(Path(path).name + ".run.lock")
    return Path(settings.data_dir) / "chavder.run.lock"


def _read_record(handle: IO[str]) -> dict[str, Any]:
    handle.seek(0)
    text = handle.read().strip()
    try:
        record = json.loads(text)
    except ValueError:
        record = None
    if isinstance(record, dict):
        return record
    return {"pid": int(text)} if text.isdigit() else {}


def take_run_lock(settings: Settings) -> IO[str]:
    """Take the lock (the open file is returned and must stay referenced) or refuse in one
    line. A ``status`` probing the lock holds it shared for microseconds, so a busy lock is
    retried briefly before the start is refused."""
    path = run_lock_path(settings)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle = open(path, "a+", encoding="utf-8")
    for attempt in range(5):
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
            break
        except BlockingIOError:
            if attempt == 4:
                holder = _read_record(handle).get("pid", "?")
                handle.close()
                raise ServiceRefused(
                    f"another `chavder run` (pid {holder}) is already running on store "
                    f"{redact_url(settings.store)} — stop it first, or give this one its own "
                    f"store (lock: {path})") from None
            time.sleep(0.05)
    record_run(handle, health_url=None)
    return handle


def record_run(handle: IO[str], *, health_url: str | None) -> None:
    """Write who holds the lock (pid, start time, health URL) for ``chavder status``."""
    record = {"pid": os.getpid(),
              "started": datetime.now(timezone.utc).isoformat(timespec="seconds"),
              "health": health_url}
    handle.seek(0)
    handle.truncate()
    handle.write(json.dumps(record) + "\n")
    handle.flush()


@dataclass
class ServiceState:
    """What ``chavder status`` reports about the service on a store."""

    running: bool
    pid: int | None = None
    started: str | None = None
    health_url: str | None = None
    health: str | None = None      # "ok", "stopping", "not answering" (None: no endpoint)

    def as_dict(self) -> dict[str, Any]:
        return {"running": self.running, "pid": self.pid, "since": self.started,
                "health_url": self.health_url, "health": self.health}

    def line(self) -> str:
        if not self.running:
            return "service: not running"
        parts = [f"pid {self.pid}" if self.pid else "pid ?"]
        if self.started:
            parts.append("since " + self.started.replace("T", " ").replace("+00:00", " UTC"))
        if self.health_url:
            parts.append(f"health {self.health_url}: {self.health}")
        return f"service: running ({', '.join(parts)})"


def service_state(settings: Settings, *, timeout: float = 1.0) -> ServiceState:
    """Probe the lock without taking it from a running service: a non-blocking *shared* flock
    succeeds only when no service holds it exclusively (and is released at once). Never
    creates the lock file or its folder."""
    path = run_lock_path(settings)
    try:
        handle = open(path, encoding="utf-8")
    except OSError:
        return ServiceState(running=False)
    with handle:
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            record = _read_record(handle)
        else:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)
            return ServiceState(running=False)
    url = record.get("health")
    state = ServiceState(running=True, pid=record.get("pid"), started=record.get("started"),
                         health_url=url)
    if url:
        state.health = probe_health(url, timeout=timeout)
    return state


def probe_health(url: str, *, timeout: float) -> str:
    """GET the service's /healthz on loopback only; its ``status`` or "not answering"."""
    import urllib.error
    import urllib.parse
    import urllib.request
    parts = urllib.parse.urlsplit(url)
    if parts.scheme != "http" or (parts.hostname or "") not in LOOPBACK_HOSTS:
        return "not checked (not a loopback address)"
    host = "127.0.0.1" if parts.hostname in ("0.0.0.0", "", "localhost") else parts.hostname
    netloc = f"[{host}]:{parts.port}" if ":" in host else f"{host}:{parts.port}"
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(f"http://{netloc}/healthz", timeout=timeout) as resp:
            body = resp.read()
    except urllib.error.HTTPError as exc:
        body = exc.read()
    except (OSError, ValueError):
        return "not answering"
    try:
        return str(json.loads(body).get("status") or "unknown")
    except (ValueError, AttributeError):
        return "unknown"
