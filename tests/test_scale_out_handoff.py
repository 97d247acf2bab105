"""Workers that share nothing but Redis (issue 21, ``store_writer: controller``): each worker
has its own configuration and data directory, opens no store, and hands every article to the
controller — the store's only writer — through the frontier. That is how workers on several
machines crawl into one SQLite file or one Elasticsearch index (whose sidecar is on the
controller's disk).

What a user checks: the store holds exactly what a single-process crawl stores (articles,
content hashes, stories, counts), the alert mails arrive once each, the workers' data
directories stay empty of any store, and a controller killed with handed-over articles in
hand loses none and stores none twice.
"""
from __future__ import annotations

import json
import re
from datetime import datetime, timezone
import signal
import time
from pathlib import Path

import pytest

from crawler.models import Article
from crawler.scaleout.frontier import Frontier
from crawler.scaleout.handoff import HandOffStore
from crawler.scaleout.ingest import Ingester
from crawler.storing import StoreRequest
from tests.conftest import ChavderEnv
from tests.test_scale_out import (GOOD_SITES, assert_indexed_once, assert_same_as_single,
                                  es_store, good_sources, make_env,
                                  single)  # noqa: F401 - the module fixture is used
from testsupport.netns import HostBridge, isolate_prelude, net_namespace, reachable_from
from testsupport.cluster import ChavderProc, Cluster, mails, settle, snapshot, worker_counts
from testsupport.smtp_sink import SMTPSink


def worker_env(root: Path, sources: Path, redis_url: str, store: str) -> ChavderEnv:
    """A worker's own installation: same sources and frontier, its own data directory."""
    root.mkdir()
    return ChavderEnv.create(root, sources, redis_url=redis_url, store=store,
                             store_writer="controller")


def store_files(data_dir: Path) -> list[str]:
    return sorted(p.name for p in data_dir.rglob("*") if p.suffix in (".db", ".db-wal"))


def run_handoff(tmp: Path, fixture_web, redis_node, single, *, store: str | None = None,
                worker_store: str | None = None, during=None,
                worker_prelude: str | None = None) -> dict:
    redis_node.command("FLUSHALL")
    sink = SMTPSink().start()
    try:
        sources = good_sources(fixture_web, tmp / "sources.yaml")
        settings: dict = {"store": store} if store else {}
        # the controller needs no setting: it stores whatever workers hand over
        env = make_env(tmp / "controller", sources, sink, redis_url=redis_node.url,
                       health_port=0, **settings)
        crew = [worker_env(tmp / f"w{i}", sources, redis_node.url,
                           worker_store or env.store_url) for i in (1, 2)]
        cluster = Cluster(env.config, tmp, workers=2, worker_args=("--prefetch", "4"),
                          worker_configs=[w.config for w in crew],
                          worker_prelude=worker_prelude).start()
        try:
            want = single["snapshot"]["rows"]
            if during is not None:
                during(cluster, env)
            assert settle(lambda: snapshot(env.store_url, env.root / "data")["rows"] >= want
                          and cluster.done_sources() >= set(GOOD_SITES)
                          and len(sink.messages) >= len(single["mails"]), 120, still=2.0), (
                cluster.controller.text()[-3000:], cluster.crew[0].text()[-2000:])
        finally:
            codes = cluster.stop()
        return {"env": env, "crew": crew, "cluster": cluster, "codes": codes,
                "snapshot": snapshot(env.store_url, env.root / "data"), "mails": mails(sink)}
    finally:
        sink.stop()


def assert_workers_kept_nothing(result: dict) -> None:
    for worker_env_, proc in zip(result["crew"], result["cluster"].crew):
        assert store_files(worker_env_.root / "data") == [], worker_env_.root
        assert "written by the controller (store_writer: controller)" in proc.text()
    counts = [worker_counts(w) for w in result["cluster"].crew]
    assert all(articles > 0 for articles, _jobs in counts), counts   # the work was shared


def test_workers_sharing_only_redis_store_what_one_process_stores(tmp_path, fixture_web,
                                                                  redis_node, single):
    # the workers are told a store URL of their own: they must never open it
    result = run_handoff(tmp_path, fixture_web, redis_node, single,
                         worker_store=f"sqlite:///{tmp_path}/nowhere/never.db")
    assert_same_as_single(result, single)
    assert result["codes"] == {"controller": 0, "worker1": 0, "worker2": 0}, result["codes"]
    assert_workers_kept_nothing(result)
    assert not (tmp_path / "nowhere").exists()
    controller = result["cluster"].controller.text()
    assert "storing the articles workers hand over (store_writer: controller)" in controller
    # the workers' index crawls were recorded in the controller's store
    status = result["env"].run("status", "--json").stdout
    for sid in GOOD_SITES:
        assert f'"{sid}"' in status


def test_workers_sharing_only_redis_into_elasticsearch(tmp_path, fixture_web, redis_node,
                                                       elasticsearch_node, single):
    store, alias = es_store(elasticsearch_node, "handoff")
    result = run_handoff(tmp_path, fixture_web, redis_node, single, store=store)
    assert_same_as_single(result, single)
    assert_workers_kept_nothing(result)   # no sidecar, no spool on the workers' side
    assert_indexed_once(elasticsearch_node, alias, single["snapshot"]["rows"])


def test_workers_on_networks_of_their_own(tmp_path, fixture_web, redis_node, single):
    """Each worker in a network namespace of its own (as on another machine): it reaches Redis
    and the outlets, nothing else — not the store, not the controller, not the SMTP server —
    and the result is the single crawl's."""
    ports = [redis_node.port] + [int(fixture_web.base(s).rsplit(":", 1)[1].strip("/"))
                                 for s in GOOD_SITES]
    seen: dict = {}

    def look(cluster: Cluster, env: ChavderEnv) -> None:
        health = int(re.findall(r"health http://127\.0\.0\.1:(\d+)/healthz",
                                cluster.controller.text())[-1])
        for worker in cluster.crew:
            pid = worker.proc.pid
            seen[pid] = {"netns": net_namespace(pid), "redis": reachable_from(pid, ports[0]),
                         "health": reachable_from(pid, health)}

    with HostBridge(tmp_path / "bridge", ports):
        result = run_handoff(tmp_path, fixture_web, redis_node, single, during=look,
                             worker_prelude=isolate_prelude(tmp_path / "bridge", ports))
    assert_same_as_single(result, single)
    assert_workers_kept_nothing(result)
    mine = net_namespace()
    assert len(seen) == 2 and len({v["netns"] for v in seen.values()} | {mine}) == 3, seen
    assert all(v["redis"] and not v["health"] for v in seen.values()), seen


def test_a_controller_killed_with_handed_over_articles_loses_none(tmp_path, fixture_web,
                                                                  redis_node, single):
    """The controller is paused while the workers hand articles over, killed with -9 (what it
    had read is unacknowledged), and started again: everything is stored once."""
    def pause_then_kill(cluster: Cluster, env: ChavderEnv) -> None:
        frontier = Frontier.from_url(redis_node.url)
        assert settle(lambda: frontier.sizes()["ingest"] > 0
                      or "job" in cluster.controller.text(), 30, still=0.0)
        cluster.controller.proc.send_signal(signal.SIGSTOP)
        # the workers go on fetching: their articles wait in Redis for the store's writer
        assert settle(lambda: frontier.sizes()["ingest"] >= 3, 60, still=0.0), \
            frontier.sizes()
        line = next(ln for ln in env.run("status").stdout.splitlines()
                    if ln.startswith("frontier: "))
        assert re.search(r"\d+ handed-over article\(s\) waiting for the controller's store",
                         line), line
        cluster.controller.proc.send_signal(signal.SIGKILL)
        cluster.controller._wait(30)
        time.sleep(0.5)
        cluster.controller = cluster.start_controller()

    result = run_handoff(tmp_path, fixture_web, redis_node, single, during=pause_then_kill)
    assert_same_as_single(result, single)   # nothing lost, nothing twice, mails once
    assert_workers_kept_nothing(result)


def test_known_articles_come_from_what_the_controller_stored(tmp_path, redis_node, chavder):
    """An index crawl on a worker skips what the controller stored (any alias of it), with the
    content hash and index time it stored; what it did not store is unknown."""
    redis_node.command("FLUSHALL")
    frontier = Frontier.from_url(redis_node.url)
    from crawler.app import Chavder
    with Chavder.from_config(chavder.config) as app:
        article = Article(source="rok", url="https://rok.example/a?utm=x",
                          canonical_url="https://rok.example/a", title="الرقة",
                          body="اشتباكات في الرقة بين الفصائل. " * 20, language="ar",
                          fetched_at="2026-12-02T10:00:00+00:00", content_hash="h1")
        request = StoreRequest.of(article, "rok.example/a-queued", article.url,
                                  "2026-12-02T09:00:00+00:00")
        back = StoreRequest.from_dict(request.to_dict())   # the hand-over's wire format
        assert back == request
        frontier.ensure_groups()
        frontier.r.xadd(frontier.ingest, {"kind": "article", "job": "1",
                                          "key": "rok.example/a-queued",
                                          "data": json.dumps(request.to_dict())})
        ingester = Ingester(app, frontier, redis_node.url)
        assert ingester.step() == 0       # first what an earlier controller left: none
        assert ingester.step() == 1       # then the new entry
        assert ingester.counts["new"] == 1
        assert app.store.count_articles() == 1
        assert frontier.sizes()["ingest"] == 0
    known = HandOffStore(frontier, worker=None).known(
        [request.key, "rok.example/a-queued", "rok.example/other"])
    assert set(known) == {request.key, "rok.example/a-queued"}
    assert known[request.key].fetched_at == "2026-12-02T10:00:00+00:00"
    assert known[request.key].index_updated_at == "2026-12-02T09:00:00+00:00"

    # a controller starting on a store its workers' Redis knows nothing of (Redis replaced,
    # or workers switched to store_writer: controller) seeds the record from the store once
    for key in frontier.r.scan_iter(match=frontier.known_key("*")):
        frontier.r.delete(key)
    assert HandOffStore(frontier, worker=None).known([request.key]) == {}
    with Chavder.from_config(chavder.config) as app:
        article.fetched_at = datetime.now(timezone.utc).isoformat(timespec="seconds")
        app.store.upsert(article, request.key, aliases=request.aliases,
                         index_updated_at=request.index_updated_at)   # fetched today
        seeding = Ingester(app, frontier, redis_node.url)
        assert seeding.seed_known() == 3          # the canonical key and its two aliases
        assert seeding.seed_known() == 0          # once per window
    again = HandOffStore(frontier, worker=None).known([request.key, "rok.example/a-queued"])
    assert set(again) == {request.key, "rok.example/a-queued"}


@pytest.mark.parametrize("value", ["controler", "both"])
def test_store_writer_is_checked(tmp_path, value):
    from crawler.config import ConfigError, load_settings
    from testsupport.config import write_config
    config = write_config(tmp_path, extra=f"store_writer: {value}\n")
    with pytest.raises(ConfigError) as exc:
        load_settings(config)
    assert f"'store_writer' is '{value}' — use one of: workers, controller" in str(exc.value)


def test_an_outage_is_one_line_each_way_and_a_blip_none(caplog):
    """Redis dropping one connection while it shuts down must not log unreachable/answers
    again/unreachable: one line when it is really away, one when it is back."""
    import logging

    from crawler.scaleout.connection import Reachability
    now = [100.0]
    reach = Reachability("redis://127.0.0.1:1/0", "the worker", clock=lambda: now[0])
    with caplog.at_level(logging.WARNING, logger="chavder.scaleout"):
        reach.failed(ConnectionError("Connection closed by server."))
        now[0] += 0.1
        reach.ok()                                   # a blip: nothing said
        assert caplog.messages == [] and reach.up
        reach.failed(ConnectionError("refused"))
        assert not reach.up                          # callers buffer at once
        now[0] += 1.0
        reach.failed(ConnectionError("refused"))     # still away a second later: said once
        now[0] += 4.0
        reach.failed(ConnectionError("refused"))
        reach.ok()
    assert len(caplog.messages) == 2, caplog.messages
    assert "is unreachable (refused); the worker waits" in caplog.messages[0]
    assert "answers again after 5.0 s; the worker resumes" in caplog.messages[1]
