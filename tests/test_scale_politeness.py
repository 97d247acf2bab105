"""Per-domain politeness across processes, against the real Redis server (issue 21).

The gate (``crawler/scaleout/gate.py``) is driven directly: slots, the delay, leases that lapse
when their holder dies (``kill -9``). Then whole crawls — several ``chavder crawl`` processes on
one outlet, each on its own store so that each fetches every page — and the fixture web's own
record of how many requests it was answering at once.
"""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from crawler.scaleout.gate import ACQUIRED, DELAYED, FULL, DomainGate
from testsupport.config import write_config

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture
def gate(redis_node):
    redis_node.command("FLUSHALL")
    gate = DomainGate.from_url(redis_node.url, prefix="test", lease_seconds=1.0)
    yield gate
    gate.client.close()


def test_slots_are_shared_and_given_back(gate):
    tokens = [gate.new_token() for _ in range(3)]
    assert gate.try_acquire("a.example", tokens[0], 2, 0).acquired
    assert gate.try_acquire("a.example", tokens[1], 2, 0).acquired
    full = gate.try_acquire("a.example", tokens[2], 2, 0)
    assert full.status == FULL and 0 < full.wait <= 1.0       # the soonest lease lapses in ≤ 1 s
    assert gate.in_flight("a.example") == 2
    assert gate.try_acquire("b.example", tokens[2], 2, 0).acquired   # other domains are apart
    gate.release("a.example", tokens[0])
    assert gate.try_acquire("a.example", tokens[2], 2, 0).acquired
    assert gate.in_flight("a.example") == 2


def test_a_worker_keeps_only_its_fair_share_while_another_asks(gate, redis_node):
    other = DomainGate.from_url(redis_node.url, prefix="test", lease_seconds=1.0)
    mine = [gate.new_token() for _ in range(3)]
    assert all(gate.try_acquire("f.example", t, 4, 0, held=i).acquired
               for i, t in enumerate(mine))                    # alone: all it wants
    gate.release("f.example", mine.pop())
    assert other.try_acquire("f.example", other.new_token(), 4, 0, held=0).acquired
    refused = gate.try_acquire("f.example", gate.new_token(), 4, 0, held=2)
    assert refused.status == FULL                              # 2 of 4 with 2 askers: its share
    assert other.try_acquire("f.example", other.new_token(), 4, 0, held=1).acquired
    other.client.close()


def test_the_delay_spaces_starts_across_holders(gate):
    first, second = gate.new_token(), gate.new_token()
    assert gate.try_acquire("slow.example", first, 4, 0.3).acquired
    answer = gate.try_acquire("slow.example", second, 4, 0.3)
    assert answer.status == DELAYED and 0.2 < answer.wait <= 0.3
    time.sleep(answer.wait + 0.01)
    assert gate.try_acquire("slow.example", second, 4, 0.3).acquired


def test_leases_lapse_unless_renewed(gate):
    kept, dropped = gate.new_token(), gate.new_token()
    assert gate.try_acquire("c.example", kept, 2, 0).acquired
    assert gate.try_acquire("c.example", dropped, 2, 0).acquired
    for _ in range(3):
        time.sleep(0.4)
        assert gate.renew([("c.example", kept)]) == 1
    assert gate.in_flight("c.example") == 1                   # 1.2 s: the other one lapsed
    assert gate.renew([("c.example", dropped)]) == 0          # and is not brought back
    assert gate.try_acquire("c.example", gate.new_token(), 2, 0).acquired


HOLDER = """
import sys, time
from crawler.scaleout.gate import DomainGate
gate = DomainGate.from_url(sys.argv[1], prefix="test", lease_seconds=1.0)
for _ in range(2):
    assert gate.try_acquire("k.example", gate.new_token(), 2, 0).acquired
print("holding", flush=True)
held = [("k.example", t.decode()) for t in gate.client.zrange(gate.leases_key("k.example"), 0, -1)]
while True:
    gate.renew(held)
    time.sleep(0.2)
"""


def test_a_killed_holder_frees_its_slots_by_itself(gate, redis_node):
    proc = subprocess.Popen([sys.executable, "-c", HOLDER, redis_node.url], cwd=REPO,
                            stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout.readline().strip() == "holding"
        time.sleep(1.3)                                        # renewed past its first lease
        assert gate.try_acquire("k.example", gate.new_token(), 2, 0).status == FULL
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(5)
        killed = time.monotonic()
        token = gate.new_token()
        while not gate.try_acquire("k.example", token, 2, 0).acquired:
            assert time.monotonic() - killed < 2.0, "slots of a dead worker never came back"
            time.sleep(0.05)
        assert 0.5 < time.monotonic() - killed < 1.5
    finally:
        proc.kill()


# ---------------------------------------------------------------------- whole crawls

def _crawler(tmp: Path, web, name: str, redis_url: str | None) -> subprocess.Popen:
    """One ``chavder crawl`` of the fixture outlets on its own store (it fetches every page)."""
    root = tmp / name
    root.mkdir(parents=True)
    sources = web.write_sources(root / "sources.yaml")
    extra = {"redis_url": redis_url} if redis_url else {}
    (root / "data").mkdir()
    config = write_config(root, data_dir=root / "data", store=f"sqlite:///{root}/data/c.db",
                          sources=sources, concurrent_per_domain=2, download_timeout=20,
                          **extra)
    env = {**os.environ, "CHAVDER_CONFIG": str(config), "PYTHONUNBUFFERED": "1"}
    return subprocess.Popen([sys.executable, "-m", "crawler.cli", "crawl", "--json",
                             "--progress-interval", "0", "--source", "rok", "--source",
                             "sorani"], cwd=root, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def _crawl_all(tmp: Path, web, redis_url: str | None, count: int = 3) -> list[dict]:
    procs = [_crawler(tmp, web, f"w{i}", redis_url) for i in range(count)]
    results = []
    for proc in procs:
        out, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err[-3000:]
        results.append(json.loads(out)["sources"])
    return results


def test_three_crawlers_never_exceed_the_domains_limit_together(tmp_path, fixture_web,
                                                                 redis_node):
    """3 processes, ``concurrent_per_domain: 2``: the server never answers more than 2 at once
    for its host; without Redis the same 3 processes overlap beyond it (the control)."""
    redis_node.command("FLUSHALL")
    fixture_web.latency = 0.08
    try:
        fixture_web.reset_concurrency()
        alone = _crawl_all(tmp_path / "apart", fixture_web, None)
        apart = fixture_web.max_in_flight("127.0.0.1")
        fixture_web.reset_concurrency()
        shared = _crawl_all(tmp_path / "shared", fixture_web, redis_node.url)
        together = fixture_web.max_in_flight("127.0.0.1")
    finally:
        fixture_web.latency = 0.0
    assert apart > 2, f"the control never overlapped ({apart}): the test would prove nothing"
    assert together == 2, f"{together} requests at once for one host across 3 crawlers"
    for result in shared:                                     # each crawl still complete
        assert result == alone[0], (result, alone[0])
        assert result["rok"]["new"] == 7 and result["rok"]["errors"] == 0
    assert redis_node.command("KEYS", "chavder:polite:*:leases").startswith(b"*0")  # all given back
