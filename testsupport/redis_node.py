"""A real Redis server (Debian's ``redis-server``) on a loopback port, for the scale-out tests.

Started once per test session; ``stop()``/``start()`` keep the same port and data folder (the
append-only file), so a test can take Redis away for a while and bring it back as an operator
restarting it would — workers must wait and resume, nothing queued may be lost.
"""
from __future__ import annotations

import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

from testsupport.smtp_sink import free_port

#: where Debian installs it (`make dev` apt-gets `redis-server` when it is missing)
REDIS_SERVER = "redis-server"


class RedisError(RuntimeError):
    """The Redis test server could not be found or did not answer."""


class RedisNode:
    """One ``redis-server`` process bound to 127.0.0.1 with its own data folder."""

    def __init__(self, port: int | None = None, home: Path | None = None) -> None:
        self.port = port or free_port()
        self._own_home = home is None
        self.home = home or Path(tempfile.mkdtemp(prefix="chavder-redis-"))
        self.proc: subprocess.Popen | None = None
        self.startup_seconds: list[float] = []

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self, timeout: float = 20.0) -> "RedisNode":
        binary = shutil.which(REDIS_SERVER) or (
            "/usr/bin/redis-server" if Path("/usr/bin/redis-server").exists() else None)
        if binary is None:
            raise RedisError("redis-server is not installed: run `make dev` (it apt-gets the "
                             "Debian package redis-server)")
        started = time.monotonic()
        log = open(self.home / "redis.log", "ab")
        self.proc = subprocess.Popen(
            [binary, "--bind", "127.0.0.1", "--port", str(self.port), "--dir", str(self.home),
             "--appendonly", "yes", "--appendfsync", "always", "--save", "",
             "--protected-mode", "yes", "--daemonize", "no", "--loglevel", "notice"],
            stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        log.close()
        deadline = started + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RedisError(f"redis-server exited with {self.proc.returncode}:\n"
                                 f"{self.log_tail()}")
            if self.ping():
                self.startup_seconds.append(time.monotonic() - started)
                return self
            time.sleep(0.05)
        self.kill()
        raise RedisError(f"redis-server did not answer PING on port {self.port} within "
                         f"{timeout:.0f} s:\n{self.log_tail()}")

    def ping(self) -> bool:
        """True when the server answers PING (raw RESP: no client library needed)."""
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=0.5) as conn:
                conn.sendall(b"*1\r\n$4\r\nPING\r\n")
                return conn.recv(16).startswith(b"+PONG")
        except OSError:
            return False

    def command(self, *args: str) -> bytes:
        """One raw RESP command, the reply's first bytes (e.g. FLUSHALL between tests)."""
        payload = f"*{len(args)}\r\n".encode() + b"".join(
            f"${len(a.encode())}\r\n".encode() + a.encode() + b"\r\n" for a in args)
        with socket.create_connection(("127.0.0.1", self.port), timeout=2) as conn:
            conn.sendall(payload)
            return conn.recv(65536)

    def log_tail(self, lines: int = 20) -> str:
        path = self.home / "redis.log"
        if not path.exists():
            return "(no log)"
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])

    def stop(self, timeout: float = 10.0) -> None:
        """A clean stop (SIGTERM: Redis flushes its append-only file); start() resumes it."""
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.kill()
        self.proc = None

    def kill(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        self.proc = None

    def close(self) -> None:
        self.stop()
        if self._own_home:
            shutil.rmtree(self.home, ignore_errors=True)
