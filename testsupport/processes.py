"""Running `chavder` as a user would (a subprocess), for tests and benchmarks: measure its peak
memory, kill and restart the service.
"""
from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from testsupport.polling import wait_for


@dataclass
class Finished:
    """A finished `chavder` subprocess: exit status, output and resource use."""

    args: list[str]
    returncode: int
    stdout: str
    stderr: str
    peak_rss_mb: float       # the child's own peak resident set (VmHWM; wait4 if killed)
    seconds: float
    killed_by: int | None = None  # signal number when it died of a signal

    @property
    def output(self) -> str:
        return self.stdout + self.stderr


def chavder_env(config: Path, extra: dict[str, str] | None = None) -> dict[str, str]:
    env = {**os.environ, "CHAVDER_CONFIG": str(config), "PYTHONUNBUFFERED": "1"}
    env.update(extra or {})
    return env


def spawn(config: Path, *args: str, stdout: object, stderr: object,
          env: dict[str, str] | None = None, preexec_fn: Callable[[], None] | None = None,
          python_prelude: str | None = None) -> subprocess.Popen:
    """Start ``chavder ARGS`` (``python -m crawler.cli``). ``python_prelude`` runs first in the
    child (used to inject a fault, e.g. a SQLite page limit, without touching product code)."""
    if python_prelude:
        cmd = [sys.executable, "-c",
               python_prelude + "\nimport runpy, sys\nsys.argv = ['chavder'] + sys.argv[1:]\n"
               "runpy.run_module('crawler.cli', run_name='__main__')", *args]
    else:
        cmd = [sys.executable, "-m", "crawler.cli", *args]
    return subprocess.Popen(cmd, cwd=config.parent, env=env or chavder_env(config),
                            stdout=stdout, stderr=stderr, preexec_fn=preexec_fn)


def reap(proc: subprocess.Popen, timeout: float) -> tuple[int, float, int | None]:
    """Wait for ``proc`` with ``os.wait4`` so its own rusage (peak RSS) is known.
    Returns (exit code, peak RSS in MB, fatal signal or None); kills it after ``timeout``."""
    deadline = time.monotonic() + timeout
    while True:
        pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
        if pid:
            break
        if time.monotonic() > deadline:
            proc.kill()
            pid, status, usage = os.wait4(proc.pid, 0)
            break
        time.sleep(0.02)
    code = os.waitstatus_to_exitcode(status)
    proc.returncode = code  # keep Popen consistent: it must not wait again
    sig = -code if code < 0 else None
    return code, usage.ru_maxrss / 1024.0, sig


def _own_peak_prelude(path: Path) -> str:
    """Code that makes the child write its own peak RSS (``VmHWM``) to ``path`` at exit.

    wait4's ``ru_maxrss`` also counts the parent's pages at fork/exec — pytest's own size, which
    grows over a full run (300 MB late in a session) — so it over-states a small child. A
    child killed by a signal writes nothing, and the wait4 figure is used instead."""
    return ("import atexit as _a\n"
            "def _peak():\n"
            "    for _l in open('/proc/self/status'):\n"
            "        if _l.startswith('VmHWM:'):\n"
            f"            open({str(path)!r}, 'w').write(_l.split()[1])\n"
            "_a.register(_peak)\n")


def run_chavder(config: Path, *args: str, timeout: float = 240, tmp: Path | None = None,
                env: dict[str, str] | None = None,
                preexec_fn: Callable[[], None] | None = None,
                python_prelude: str | None = None, pipes: bool = False) -> Finished:
    """Run ``chavder ARGS`` to completion. Output goes through files under ``tmp`` (default:
    next to the config), so big logs cannot dead-lock a pipe; ``pipes=True`` uses pipes
    instead (needed when the child's file-size limit must not hit its own log), and then
    no peak RSS is measured (``peak_rss_mb`` is 0)."""
    if pipes:
        started = time.monotonic()
        proc = spawn(config, *args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env,
                     preexec_fn=preexec_fn, python_prelude=python_prelude)
        out, err = proc.communicate(timeout=timeout)
        code = proc.returncode
        return Finished(list(args), code, out.decode("utf-8", "replace"),
                        err.decode("utf-8", "replace"), 0.0, time.monotonic() - started,
                        -code if code < 0 else None)
    where = tmp or config.parent
    stamp = f"{time.monotonic_ns()}"
    out_path, err_path = where / f"out-{stamp}.log", where / f"err-{stamp}.log"
    peak_path = where / f"peak-{stamp}.kb"
    started = time.monotonic()
    with open(out_path, "wb") as out, open(err_path, "wb") as err:
        proc = spawn(config, *args, stdout=out, stderr=err, env=env, preexec_fn=preexec_fn,
                     python_prelude=_own_peak_prelude(peak_path) + (python_prelude or ""))
        code, rss, sig = reap(proc, timeout)
    took = time.monotonic() - started
    if peak_path.exists():   # the child's own high-water mark, when it exited normally
        rss = int(peak_path.read_text() or 0) / 1024.0
        peak_path.unlink()
    return Finished(list(args), code, out_path.read_text("utf-8", "replace"),
                    err_path.read_text("utf-8", "replace"), rss, took, sig)


class ServiceProcess:
    """``chavder run`` as a child process whose output is appended to one log file.

    ``wait_started``: ``start()`` returns once this run logged "service started" (failing with
    its log after that many seconds); 0 returns at once (tests that kill it during start-up)."""

    def __init__(self, config: Path, log: Path, env: dict[str, str] | None = None, *,
                 wait_started: float = 0):
        self.config, self.log, self.env = config, log, env
        self.wait_started = wait_started
        self.proc: subprocess.Popen | None = None
        self._offset = 0
        self._handle = None

    def start(self) -> "ServiceProcess":
        self._offset = self.log.stat().st_size if self.log.exists() else 0
        self._handle = open(self.log, "ab")
        self.proc = spawn(self.config, "run", stdout=self._handle, stderr=subprocess.STDOUT,
                          env=self.env)
        if self.wait_started:
            assert wait_for(self.started, self.wait_started), self.text()
        return self

    def text(self) -> str:
        """Output of this run only."""
        if not self.log.exists():
            return ""
        with open(self.log, "rb") as f:
            f.seek(self._offset)
            return f.read().decode("utf-8", "replace")

    def started(self) -> bool:
        return "service started" in self.text()

    def health_url(self) -> str:
        """The health endpoint's base URL this run logged (``health_port: 0`` picks a port)."""
        return re.findall(r"health (http://127\.0\.0\.1:\d+)/healthz", self.text())[-1]

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def kill9(self) -> int:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        code = self.proc.wait(timeout=30)
        self._close()
        return code

    def stop(self, timeout: float = 30) -> int:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGTERM)
        code = self.proc.wait(timeout=timeout)
        self._close()
        return code

    def _close(self) -> None:
        if self._handle is not None:
            self._handle.close()
            self._handle = None
