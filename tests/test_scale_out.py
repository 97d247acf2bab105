"""Scale-out end to end (issue 21): one controller (`chavder run` with redis_url) and two
`chavder worker` processes on a real Redis (Debian's redis-server), crawling the fixture news
web into SQLite and into the real Elasticsearch node.

What a user checks: the store holds exactly what a single-process `chavder crawl` stores (the
same articles by URL key and content hash, the same stories, no duplicates), the same alert
mails arrive exactly once, both workers did part of the work, and a second controller on the
same frontier is refused with one line naming the one that runs.
"""
from __future__ import annotations

import json
import re
import urllib.request
import uuid
from pathlib import Path

import pytest
import yaml

from tests.conftest import CONTACT_URL, ChavderEnv
from tests.test_store_contract import with_params
from testsupport.cluster import ChavderProc, Cluster, mails, settle, snapshot, worker_counts
from testsupport.polling import wait_for
from testsupport.smtp_sink import SMTPSink

GOOD_SITES = ["rok", "sorani", "kurmanji", "legacy"]
ALERTS = """\
rules:
  - name: raqqa
    any: [[الرقة, ڕەققە, رەققە, Reqa, Raqqa]]
    recipients: [desk@example.org]
  - name: isis
    any: [[داعش, DAIŞ, داعشی, ISIS]]
    recipients: [desk@example.org, analyst@example.org]
"""


def good_sources(fixture_web, path: Path, interval: str = "3s") -> Path:
    """The fixture web's well-behaved outlets, polled every ``interval``."""
    fixture_web.write_sources(path)
    doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    doc["sources"] = [s for s in doc["sources"] if s["id"] in GOOD_SITES]
    doc.setdefault("defaults", {})["interval"] = interval
    path.write_text(yaml.safe_dump(doc, allow_unicode=True), encoding="utf-8")
    return path


def make_env(root: Path, sources: Path, sink: SMTPSink, **settings: object) -> ChavderEnv:
    root.mkdir()
    alerts = root / "alerts.yaml"
    alerts.write_text(ALERTS, encoding="utf-8")
    return ChavderEnv.create(root, sources, contact_url=CONTACT_URL, alerts=alerts,
                             smtp_port=sink.port, alert_dispatch_seconds=1,
                             alert_retry_seconds=0.5, **settings)


@pytest.fixture(scope="module")
def single(tmp_path_factory, fixture_web):
    """The reference: one `chavder crawl` process over the same outlets."""
    tmp = tmp_path_factory.mktemp("scale-single")
    sink = SMTPSink().start()
    try:
        env = make_env(tmp / "one", good_sources(fixture_web, tmp / "sources.yaml"), sink)
        env.crawl()
        assert settle(lambda: len(sink.messages) > 0, 10)
        yield {"snapshot": snapshot(env.store_url, env.root / "data"), "mails": mails(sink)}
    finally:
        sink.stop()


def run_cluster(tmp: Path, fixture_web, redis_node, single, during=None,
                **settings: object) -> dict:
    """Controller + 2 workers until the store and the mails match the single crawl."""
    redis_node.command("FLUSHALL")
    sink = SMTPSink().start()
    try:
        env = make_env(tmp / "scale", good_sources(fixture_web, tmp / "sources.yaml"), sink,
                       redis_url=redis_node.url, health_port=0, **settings)
        fixture_web.clear_log()
        cluster = Cluster(env.config, tmp, workers=2,
                          worker_args=("--prefetch", "4")).start()
        try:
            want = single["snapshot"]["rows"]
            assert settle(lambda: snapshot(env.store_url, env.root / "data")["rows"] >= want
                          and cluster.done_sources() >= set(GOOD_SITES)
                          and len(sink.messages) >= len(single["mails"]), 90, still=2.0), (
                cluster.controller.text()[-3000:], cluster.crew[0].text()[-2000:])
            second = env.run("run", check=False, timeout=60)
            metrics = urllib.request.urlopen(re.findall(
                r"health (http://127\.0\.0\.1:\d+)/healthz", cluster.controller.text())[-1]
                + "/metrics", timeout=10).read().decode()
            if during is not None:
                during(cluster, env)
        finally:
            codes = cluster.stop()
        # robots.txt holds for the workers' first, concurrent requests too (rok: /private/)
        assert [r for r in fixture_web.requests if r[2].startswith("/private/")] == []
        return {"env": env, "cluster": cluster, "codes": codes, "second": second,
                "metrics": metrics,
                "snapshot": snapshot(env.store_url, env.root / "data"), "mails": mails(sink)}
    finally:
        sink.stop()


def assert_same_as_single(result: dict, single: dict) -> None:
    got, want = result["snapshot"], single["snapshot"]
    assert got["rows"] == got["count_articles"] == len(got["articles"]) == want["rows"]
    assert got["articles"] == want["articles"]          # same URL keys, hashes, titles
    assert got["stories"] == want["stories"] and got["count_stories"] == want["count_stories"]
    assert result["mails"] == single["mails"]           # same mails, none twice
    assert len(set(result["mails"])) == len(result["mails"])


def standby_takes_over(cluster: Cluster, env: ChavderEnv) -> None:
    """`chavder status` names the controller and counts the workers; `chavder run --wait`
    waits while the controller runs, and takes over when it stops."""
    line = next(ln for ln in env.run("status").stdout.splitlines()
                if ln.startswith("frontier: "))
    assert (f"controller pid {cluster.controller.proc.pid} on host" in line
            and "2 worker(s) alive" in line), line
    standby = ChavderProc(env.config, env.root / "standby.log", "run", "--wait")
    try:
        standby.start("waiting for the controller lease")
        assert f"held by pid {cluster.controller.proc.pid} on host" in standby.text()
        assert cluster.controller.stop() == 0
        assert wait_for(lambda: "service started" in standby.text(), 30), standby.text()
    except BaseException:
        if standby.proc is not None:
            standby.stop()
        raise
    cluster.controller = standby   # stopped with the others


def test_controller_and_two_workers_store_what_one_process_stores(tmp_path, fixture_web,
                                                                  redis_node, single):
    result = run_cluster(tmp_path, fixture_web, redis_node, single, during=standby_takes_over)
    assert_same_as_single(result, single)
    cluster = result["cluster"]
    assert result["codes"] == {"controller": 0, "worker1": 0, "worker2": 0}, result["codes"]
    assert "controller lease taken" in cluster.controller.text()   # the stand-by's, at the end
    # the work was shared: both workers fetched articles
    counts = [worker_counts(w) for w in cluster.crew]
    assert all(articles > 0 for articles, _jobs in counts), counts
    assert sum(a for a, _ in counts) >= single["snapshot"]["rows"]
    # each warmed up before its first heartbeat (crawler.warmup)
    assert all("warmed up in" in w.text() and "objects frozen" in w.text()
               for w in cluster.crew)
    # the controller matched and sent; no worker did
    assert not any("alert sent" in w.text() or "alert queued" in w.text()
                   for w in cluster.crew)
    assert "alert sent" in (tmp_path / "controller.log").read_text(encoding="utf-8")
    # a second controller on the same frontier: refused, one line naming the running one
    second = result["second"]
    assert second.returncode == 2, second.stderr
    lines = [ln for ln in second.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1, second.stderr
    pid = int(re.findall(r"held by pid (\d+)", cluster.controller.text())[0])
    assert re.search(rf"another controller \(pid {pid} on host \S+ since .+\) already runs",
                     lines[0]), lines[0]
    assert "--wait" in lines[0]
    # status: every source crawled, recorded by the workers' index crawls, nothing else
    status = json.loads(result["env"].run("status", "--json").stdout)
    assert sorted(status["sources"]) == sorted(GOOD_SITES)
    assert status["frontier"]["reachable"] and status["frontier"]["controller"] is None
    assert status["frontier"]["workers"] == 0   # all stopped: their heartbeats went with them
    assert all(v.get("last_success") for v in status["sources"].values()), status["sources"]
    # /metrics shows the frontier's queues
    assert 'chavder_queue_length{queue="frontier_articles"}' in result["metrics"]


def es_store(node, name: str) -> tuple[str, str]:
    """A store URL on a fresh alias of the real engine node: ``(url, alias)``."""
    alias = f"chavder-{name}-{uuid.uuid4().hex[:8]}"
    return with_params(node.store_url, alias=alias, alerts_alias=f"{alias}-alerts"), alias


def assert_indexed_once(node, alias: str, want: int) -> None:
    """Every article reached the index, once (document id = sha1 of the URL key)."""
    def indexed() -> int:
        node.request("POST", f"/{alias}/_refresh")
        return int(node.request("GET", f"/{alias}/_count")["count"])

    assert settle(lambda: indexed() == want, 30), indexed()


def test_controller_and_two_workers_into_elasticsearch(tmp_path, fixture_web, redis_node,
                                                       elasticsearch_node, single):
    store, alias = es_store(elasticsearch_node, "scale")
    result = run_cluster(tmp_path, fixture_web, redis_node, single, store=store)
    assert_same_as_single(result, single)
    assert_indexed_once(elasticsearch_node, alias, single["snapshot"]["rows"])
    found = result["env"].run("search", "الرقة", "--json", check=False)
    assert found.returncode == 0, found.stderr


def test_redis_url_is_checked_and_a_worker_needs_it(tmp_path, chavder):
    from crawler.config import ConfigError, load_settings
    from testsupport.config import write_config
    for bad, says in (("http://127.0.0.1:6379", "use redis://HOST:PORT/DB"),
                      ("redis://", "names no host"), ("redis://h:x/0", "port is not a number"),
                      ("redis://h:6379/zero", "database after the port must be a number")):
        config = write_config(tmp_path, extra=f"redis_url: {bad}\n")
        try:
            load_settings(config)
        except ConfigError as exc:
            line = next(n for n, text in enumerate(config.read_text().splitlines(), 1)
                        if text.startswith("redis_url"))
            assert f"{config}:{line}: " in str(exc) and says in str(exc), str(exc)
        else:
            raise AssertionError(f"redis_url {bad!r} was accepted")
    assert load_settings(write_config(tmp_path, redis_url="redis://127.0.0.1:6379/2")
                         ).redis_url == "redis://127.0.0.1:6379/2"
    assert load_settings(write_config(tmp_path)).redis_url == ""   # embedded default: none
    worker = chavder.run("worker", check=False, timeout=60)
    assert worker.returncode == 2 and "set redis_url in" in worker.stderr, worker.stderr
