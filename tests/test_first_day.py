"""The first day with Chavder (issue 16): commands do what a user means, driven as a user would
(``chavder …`` as a subprocess, configured by ``CHAVDER_CONFIG``).

* a read-only command on a store that does not exist says so and creates nothing;
* ``chavder run`` with its health port taken, or a second ``chavder run`` on the same store,
  refuses in one line (and a kill -9 leaves no stale lock behind);
* output piped into ``head`` ends quietly, without a traceback;
* a crawl in which every source failed exits non-zero.
"""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from testsupport.config import write_config as write_chavder_yaml
from testsupport.fixtureweb import FixtureWeb
from crawler.store import SQLiteStore
from testsupport.processes import ServiceProcess, chavder_env, run_chavder
from testsupport.pages import article_page, rss_feed
from testsupport.polling import wait_for


def dead_port() -> int:
    """A loopback port nothing listens on (bound once, then released)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def write_config(tmp_path: Path, data: Path, sources_yaml: str, *, health_port: int = 0,
                 name: str = "chavder.yaml") -> Path:
    sources = tmp_path / "sources.yaml"
    sources.write_text(sources_yaml, encoding="utf-8")
    return write_chavder_yaml(tmp_path, name=name, data_dir=data, sources=sources,
                              alerts=tmp_path / "alerts.yaml", health_port=health_port)


def dead_source(sid: str, port: int, interval: str = "1h") -> str:
    return textwrap.dedent(f"""\
          - id: {sid}
            name: {sid}
            kind: feed
            start_urls: ["http://127.0.0.1:{port}/feed.xml"]
            allow_private: true
            allowed_domains: [127.0.0.1]
            interval: {interval}
        """)


def assert_one_clean_line(stderr: str, *needles: str) -> str:
    assert "Traceback" not in stderr, stderr
    lines = [line for line in stderr.splitlines() if all(n in line for n in needles)]
    assert len(lines) == 1, f"expected one line with {needles}:\n{stderr}"
    return lines[0]


# ------------------------------------------------------------------ 1. no store, no side effects

@pytest.mark.parametrize("command", [["search", "الرقة"], ["story", "1"], ["status"],
                                     ["status", "--json"], ["digest", "list"]],
                         ids=lambda c: " ".join(c))
def test_read_only_command_on_missing_store_says_so_and_creates_nothing(tmp_path, command):
    data = tmp_path / "not-yet" / "data"
    config = write_config(tmp_path, data, "sources:\n" + dead_source("desk", dead_port()))
    done = run_chavder(config, *command, timeout=120, pipes=True)
    assert done.returncode != 0, done.output
    line = assert_one_clean_line(done.stderr, "no store at", str(data / "chavder.db"))
    assert "chavder crawl" in line and "CHAVDER_CONFIG" in line, line
    assert not (data / "chavder.db").exists()
    assert not data.exists() and not data.parent.exists(), "a reader created the store's folders"


def test_missing_store_given_with_store_option_is_not_created(tmp_path):
    config = write_config(tmp_path, tmp_path / "data", "sources:\n" + dead_source("d", 9))
    wrong = tmp_path / "typo" / "chavdr.db"
    done = run_chavder(config, "search", "--store", f"sqlite:///{wrong}", "داعش", timeout=120,
                       pipes=True)
    assert done.returncode != 0, done.output
    assert_one_clean_line(done.stderr, "no store at", str(wrong))
    assert not wrong.parent.exists()


# ------------------------------------------------------------------ 2. health port taken

def test_run_with_health_port_taken_names_port_and_setting(tmp_path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        config = write_config(tmp_path, tmp_path / "data",
                              "sources:\n" + dead_source("desk", dead_port()), health_port=port)
        done = run_chavder(config, "run", timeout=120)   # files: a hang is killed
    assert done.returncode not in (0, None) and done.killed_by is None, done.output
    line = assert_one_clean_line(done.stderr, str(port), "health_port")
    assert "--health-port" in line and "chavder.yaml" in line, line
    assert "service started" not in done.output


# ------------------------------------------------------------------ 3. one service per store

def test_second_run_on_same_store_refuses_and_kill9_leaves_no_stale_lock(tmp_path):
    data = tmp_path / "data"
    config = write_config(tmp_path, data, "sources:\n" + dead_source("desk", dead_port()))
    # another config file (as a second operator would write) pointing at the same database
    other = tmp_path / "other.yaml"
    other.write_text(config.read_text(encoding="utf-8").replace(
        f"data_dir: {data}", f"data_dir: {tmp_path / 'data2'}"), encoding="utf-8")
    first = ServiceProcess(config, tmp_path / "first.log").start()
    try:
        assert wait_for(first.started, 60), first.text()
        for cfg in (config, other):
            done = run_chavder(cfg, "run", timeout=120)   # files: a hang is killed
            assert done.returncode not in (0, None) and done.killed_by is None, done.output
            line = assert_one_clean_line(done.stderr, "already running")
            assert str(first.proc.pid) in line and "chavder.db" in line, line
            assert "service started" not in done.output
        assert first.alive(), "the refused second service must not disturb the first"
        assert first.kill9() == -signal.SIGKILL
        again = ServiceProcess(config, tmp_path / "again.log").start()
        try:
            assert wait_for(lambda: again.started() or not again.alive(), 60), again.text()
            assert again.started(), f"restart after kill -9 was refused:\n{again.text()}"
        finally:
            assert again.stop() == 0, again.text()
    finally:
        if first.alive():
            first.kill9()


# ------------------------------------------------------------------ 4. | head

@pytest.mark.parametrize("command", [["search", "داعش"], ["status"], ["sources", "list"]],
                         ids=lambda c: " ".join(c))
def test_output_into_a_closed_pipe_ends_quietly(tmp_path, command):
    data = tmp_path / "data"
    config = write_config(tmp_path, data, "sources:\n" + "".join(
        dead_source(f"s{n}", 9) for n in range(3)))
    data.mkdir()
    SQLiteStore(data / "chavder.db").close()
    read_end, write_end = os.pipe()
    os.close(read_end)              # `head` already left: every write meets EPIPE
    try:
        proc = subprocess.Popen([sys.executable, "-m", "crawler.cli", *command],
                                cwd=tmp_path, env=chavder_env(config), stdout=write_end,
                                stderr=subprocess.PIPE)
    finally:
        os.close(write_end)
    _, err = proc.communicate(timeout=120)
    stderr = err.decode("utf-8", "replace")
    assert "Traceback" not in stderr and "BrokenPipe" not in stderr, stderr
    assert "Exception ignored" not in stderr, stderr
    assert proc.returncode in (0, 141), (proc.returncode, stderr)


# ------------------------------------------------------------------ 5. crawl where all failed

def test_crawl_where_every_source_failed_exits_non_zero(tmp_path):
    config = write_config(tmp_path, tmp_path / "data", "sources:\n" + dead_source(
        "north", dead_port()) + dead_source("south", dead_port()))
    done = run_chavder(config, "crawl", "--progress-interval", "0", timeout=180, pipes=True)
    assert done.returncode == 1, done.output
    line = assert_one_clean_line(done.stderr, "every source failed")
    assert "2 of 2" in line, line


def test_crawl_with_one_working_source_still_exits_zero(tmp_path):
    root = tmp_path / "web"
    (root / "desk").mkdir(parents=True)
    (root / "desk" / "feed.xml").write_text(rss_feed("desk", []), "utf-8")
    web = FixtureWeb(root).start()
    try:
        web.publish("desk", "/a1.html", article_page(
            "هجوم في ريف الرقة", ["أفادت مصادر محلية بأن اشتباكات اندلعت في ريف الرقة الشرقي "
                                 "فجر اليوم واستمرت أكثر من ساعتين قبل وصول التعزيزات."] * 3,
            "شاركها", "2017-06-01T10:00:00+03:00", lang="ar"))
        web.publish("desk", "/feed.xml", rss_feed("desk", [("هجوم في ريف الرقة", "/a1.html")]))
        good = textwrap.dedent("""\
              - id: desk
                name: Desk
                kind: feed
                start_urls: ["http://desk.fixture/feed.xml"]
                allow_private: true
                allowed_domains: [127.0.0.1]
                interval: 1h
            """)
        config = write_config(tmp_path, tmp_path / "data", web.substitute(
            "sources:\n" + good + dead_source("south", dead_port())))
        done = run_chavder(config, "crawl", "--progress-interval", "0", timeout=180, pipes=True)
    finally:
        web.stop()
    assert done.returncode == 0, done.output
    assert "every source failed" not in done.output
