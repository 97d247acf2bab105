"""A scale-out installation as a user runs it: one ``chavder run`` (controller) and N
``chavder worker`` subprocesses on one config with ``redis_url`` set, each logging to its own
file — for the scale-out tests and bench/scale_out.py.

Also what those compare: :func:`snapshot` of a store (articles by URL key with their content
hashes, stories as sets of URL keys — story numbers may differ between two crawls, their
grouping may not).
"""
from __future__ import annotations

import re
import signal
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

from testsupport.polling import wait_for
from testsupport.processes import spawn


class ChavderProc:
    """``chavder ARGS`` in the background, output appended to ``log``."""

    def __init__(self, config: Path, log: Path, *args: str, prelude: str | None = None):
        self.config, self.log, self.args = config, log, args
        self.prelude = prelude   # Python run first in the child (testsupport.netns)
        self.proc: subprocess.Popen | None = None
        self._offset = 0
        self._handle = None

    def start(self, wait_for_line: str | None = None, timeout: float = 60) -> "ChavderProc":
        self._offset = self.log.stat().st_size if self.log.exists() else 0
        self._handle = open(self.log, "ab")
        self.proc = spawn(self.config, *self.args, stdout=self._handle,
                          stderr=subprocess.STDOUT, python_prelude=self.prelude)
        if wait_for_line:
            assert wait_for(lambda: wait_for_line in self.text() or not self.alive(),
                            timeout), self.text()
            assert self.alive(), f"chavder {' '.join(self.args)} exited:\n{self.text()}"
        return self

    def text(self) -> str:
        """Output of this run only."""
        if not self.log.exists():
            return ""
        with open(self.log, "rb") as fh:
            fh.seek(self._offset)
            return fh.read().decode("utf-8", "replace")

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def kill9(self) -> int:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        return self._wait(30)

    def stop(self, timeout: float = 30) -> int:
        assert self.proc is not None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        return self._wait(timeout)

    def _wait(self, timeout: float) -> int:
        assert self.proc is not None
        try:
            code = self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            code = self.proc.wait()
        if self._handle is not None:
            self._handle.close()
            self._handle = None
        return code


@dataclass
class Cluster:
    """A controller and ``workers`` workers on ``config`` (logs under ``logs``)."""

    config: Path
    logs: Path
    workers: int = 2
    worker_args: tuple[str, ...] = ()    # e.g. ("--prefetch", "4"): small outlets shared out
    #: one config per worker (its own data dir: workers that share nothing but Redis);
    #: empty: every worker runs on ``config``
    worker_configs: list[Path] = field(default_factory=list)
    worker_prelude: str | None = None    # e.g. a network namespace of its own (netns.py)
    controller: ChavderProc | None = None
    crew: list[ChavderProc] = field(default_factory=list)

    def start(self) -> "Cluster":
        configs = self.worker_configs or [self.config] * self.workers
        self.crew = [ChavderProc(configs[i], self.logs / f"worker{i + 1}.log", "worker",
                                 *self.worker_args, prelude=self.worker_prelude)
                     for i in range(self.workers)]
        try:
            for worker in self.crew:
                worker.start()
            self.controller = self.start_controller()
            for worker in self.crew:
                assert wait_for(lambda: "started: frontier" in worker.text()
                                or not worker.alive(), 60), worker.text()
                assert worker.alive(), worker.text()
        except BaseException:
            self.stop()   # a failed start leaves no process behind
            raise
        return self

    def start_controller(self, *extra: str) -> ChavderProc:
        proc = ChavderProc(self.config, self.logs / "controller.log", "run", *extra)
        try:
            return proc.start("service started")
        except BaseException:
            if proc.proc is not None:
                proc.stop()
            raise

    def done_sources(self) -> set[str]:
        """Sources the controller logged a finished crawl of."""
        text = self.controller.text() if self.controller else ""
        return set(re.findall(r"source=(\S+) crawl done", text))

    def stop(self) -> dict[str, int]:
        codes = {}
        for name, proc in [("controller", self.controller)] + [
                (f"worker{i + 1}", w) for i, w in enumerate(self.crew)]:
            if proc is not None and proc.proc is not None:
                codes[name] = proc.stop()
        return codes


def worker_counts(proc: ChavderProc) -> tuple[int, int]:
    """``(articles, jobs)`` a stopped worker said it handled."""
    found = re.findall(r"worker stopped \(\w+\): (\d+) article\(s\) and (\d+) job", proc.text())
    return (int(found[-1][0]), int(found[-1][1])) if found else (0, 0)


def snapshot(store_url: str, data_dir: Path | str = "data") -> dict:
    """What two crawls must agree on: articles (URL key → content hash, source, title), the
    grouping of URL keys into stories, and the counts. ``data_dir``: where an Elasticsearch
    store keeps its sidecar."""
    from crawler.store import open_store
    store = open_store(store_url, data_dir)
    try:
        rows = list(store.iter_articles())
        stories: dict[int, set[str]] = {}
        for row in rows:
            stories.setdefault(row["story_id"], set()).add(row["url_key"])
        return {"articles": {r["url_key"]: (r["content_hash"], r["source"], r["title"])
                             for r in rows},
                "rows": len(rows),
                "stories": {frozenset(keys) for keys in stories.values()},
                "count_articles": store.count_articles(), "count_stories": store.count_stories()}
    finally:
        store.close()


def mails(sink: object) -> list[tuple[tuple[str, ...], str]]:
    """The messages an SMTP sink received: (recipients, subject), sorted."""
    return sorted((tuple(m.rcpt_tos), m.subject) for m in sink.messages)  # type: ignore[attr-defined]


def settle(check: object, timeout: float, still: float = 1.0) -> bool:
    """``check()`` became true and stayed so for ``still`` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():   # type: ignore[operator]
            time.sleep(still)
            if check():   # type: ignore[operator]
                return True
        time.sleep(0.2)
    return False
