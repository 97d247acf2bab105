"""The first day with Chavder (issue 16), the operator's side, driven as a user would
(``chavder …`` as a subprocess, configured by ``CHAVDER_CONFIG``):

* ``chavder status`` says whether the service is running on this store (pid, since when, its
  health endpoint and what it answers), in text and in ``--json``, and "not running" after it
  stopped — without disturbing the running service.
"""
from __future__ import annotations

import json
import os
import re
import socket
import textwrap
from pathlib import Path

from testsupport.config import write_config
from testsupport.polling import wait_for
from testsupport.processes import ServiceProcess, run_chavder


def dead_port() -> int:
    """A loopback port nothing listens on (bound once, then released)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def one_source_config(tmp_path: Path, *, health_port: int) -> Path:
    sources = tmp_path / "sources.yaml"
    sources.write_text(textwrap.dedent(f"""\
        sources:
          - id: desk
            name: Desk
            kind: feed
            start_urls: ["http://127.0.0.1:{dead_port()}/feed.xml"]
            allow_private: true
            allowed_domains: [127.0.0.1]
            interval: 1h
        """), encoding="utf-8")
    return write_config(tmp_path, sources=sources, alerts=tmp_path / "alerts.yaml",
                        health_port=health_port)


# ------------------------------------------------------------------ 1. is the service running?

def test_status_says_whether_the_service_runs_on_this_store(tmp_path):
    port = dead_port()
    config = one_source_config(tmp_path, health_port=port)
    service = ServiceProcess(config, tmp_path / "service.log").start()
    try:
        assert wait_for(service.started, 60), service.text()
        done = run_chavder(config, "status", timeout=120, pipes=True)
        assert done.returncode == 0, done.output
        line = done.stdout.splitlines()[0]
        assert line.startswith("service: running ("), done.stdout
        assert f"pid {service.proc.pid}" in line, line
        assert re.search(r"since 20\d\d-\d\d-\d\d \d\d:\d\d:\d\d UTC", line), line
        assert f"health http://127.0.0.1:{port}/healthz: ok" in line, line

        as_json = run_chavder(config, "status", "--json", timeout=120, pipes=True)
        assert as_json.returncode == 0, as_json.output
        state = json.loads(as_json.stdout)["service"]
        assert state["running"] is True and state["pid"] == service.proc.pid, state
        assert state["health_url"] == f"http://127.0.0.1:{port}/healthz", state
        assert state["health"] == "ok" and state["since"].startswith("20"), state
        assert service.alive(), "status must not disturb the running service"
    finally:
        assert service.stop() == 0, service.text()

    after = run_chavder(config, "status", timeout=120, pipes=True)
    assert after.returncode == 0, after.output
    assert after.stdout.splitlines()[0] == "service: not running", after.stdout
    stopped = json.loads(run_chavder(config, "status", "--json", timeout=120,
                                     pipes=True).stdout)["service"]
    assert stopped["running"] is False and stopped["pid"] is None, stopped
    # status reads; it must not be what keeps the next service from starting
    again = ServiceProcess(config, tmp_path / "again.log").start()
    try:
        assert wait_for(lambda: again.started() or not again.alive(), 60), again.text()
        assert again.started(), again.text()
    finally:
        assert again.stop() == 0, again.text()


def test_status_on_a_store_whose_service_was_killed_says_not_running(tmp_path):
    config = one_source_config(tmp_path, health_port=0)
    service = ServiceProcess(config, tmp_path / "service.log").start()
    try:
        assert wait_for(service.started, 60), service.text()
    finally:
        service.kill9()
    lock = tmp_path / "data" / "chavder.db.run.lock"
    assert lock.exists() and str(service.proc.pid) in lock.read_text(), "pid not recorded"
    done = run_chavder(config, "status", timeout=120, pipes=True)
    assert done.returncode == 0, done.output
    assert done.stdout.splitlines()[0] == "service: not running", done.stdout
    assert os.path.exists(lock)


# ------------------------------------------------------------------ 2. alerts check warns

def test_alerts_check_warns_about_placeholders_and_rules_that_cannot_fire(tmp_path):
    config = one_source_config(tmp_path, health_port=-1)
    sources = tmp_path / "sources.yaml"
    sources.write_text(sources.read_text(encoding="utf-8").replace(
        "    interval: 1h\n", "    interval: 1h\n    languages: [ar, ckb]\n"), encoding="utf-8")
    alerts = tmp_path / "alerts.yaml"
    alerts.write_text(textwrap.dedent("""\
        rules:
          - name: raqqa
            any: [[الرقة, ڕەققە]]
            languages: [ar, ckb]
            recipients:
              - desk@newsroom.krd
              - syria-desk@example.org
              - email: analyst@mail.example.com
              - ops@localhost
              - root@127.0.0.1
              - qa@example.test
          - name: self-vetoing
            any: ["داعش في الرقة"]
            none: [داعش]
            recipients: [desk@newsroom.krd]
          - name: persian
            any: [رقه]
            languages: [fa]
            recipients: [desk@newsroom.krd]
        """), encoding="utf-8")
    done = run_chavder(config, "alerts", "check", timeout=120, pipes=True)
    assert done.returncode == 0, done.output
    assert "3 rules OK" in done.stdout, done.stdout
    assert "Traceback" not in done.stderr, done.stderr
    warnings = [line for line in done.stderr.splitlines() if line.startswith("warning: ")]
    by_line = {int(w.split(":")[2]): w for w in warnings}
    for line, address in ((7, "syria-desk@example.org"), (8, "analyst@mail.example.com"),
                          (9, "ops@localhost"), (10, "root@127.0.0.1"),
                          (11, "qa@example.test")):
        assert f"{alerts}:{line}:" in by_line.get(line, ""), (line, done.stderr)
        assert address in by_line[line] and " — " in by_line[line], by_line[line]
    assert "newsroom.krd" not in done.stderr, "a real address was flagged"
    vetoed = [w for w in warnings if "'self-vetoing'" in w]
    assert any("'داعش في الرقة'" in w and "'داعش'" in w for w in vetoed), done.stderr
    assert any("can never fire" in w for w in vetoed), done.stderr
    persian = [w for w in warnings if "'persian'" in w]
    assert len(persian) == 1 and "'fa'" in persian[0] and "ar, ckb" in persian[0], done.stderr
    assert f"{alerts}:16:" in persian[0], persian
    assert not [w for w in warnings if "'raqqa'" in w and "language" in w], done.stderr
    assert len(warnings) == 8, done.stderr
