"""Elasticsearch backend: faults a real node cannot be made to produce on demand, the
client/server compatibility header, configuration and secrets, and the ``kibana`` command.

Everything a real engine can show runs on the real OpenSearch node instead
(``tests/test_store_engine.py``, ``tests/test_store_contract.py``). The protocol fake
``testsupport/fake_es.py`` stays for these tests only, and why:

* connection refused / timeouts / 429 / 503, per request and per bulk item
  (``test_connection_refused_…``, ``test_timeout_…``, ``test_bulk_rejected_with_429_or_503_…``,
  ``test_item_level_429_…``, ``test_updates_while_down_…``, ``test_background_writer_…``,
  ``test_spool_survives_a_restart``): a real node cannot be told to answer 429 for one item
  or to hang a socket, and refusing at will in milliseconds keeps the write-latency bound
  measurable without restarting a JVM (the real kill is in test_store_engine.py);
* a mapping rejection for one document (``test_rejected_mapping_…``) and the replay lock
  (``test_only_one_process_…``), which need to see every bulk item in order;
* ``compatible-with=9`` refused as Elasticsearch 8 refuses it (``test_requests_pinned_…``):
  no Elasticsearch 8 server can be assembled from Maven Central (testsupport/engine_node.py);
* the password on the wire but never in logs (``test_password_is_sent_…``): the fake records
  the Authorization header.
"""
from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from crawler.models import Article
from crawler.store.elasticsearch import (ElasticsearchStore, EsConfig, doc_id,
                                         make_client)
from crawler.store.elasticsearch.spool import Spool
from crawler.store.sqlite import SQLiteStore
from testsupport.articles import numbered_article as art
from testsupport.fake_es import FakeElasticsearch

ALIAS = "chavder-articles"


@pytest.fixture
def fake():
    server = FakeElasticsearch().start()
    yield server
    server.stop()


def make_store(fake: FakeElasticsearch, tmp_path: Path, *, background: bool = False,
               timeout: float = 0.5, **params: str) -> ElasticsearchStore:
    query = "&".join(f"{k}={v}" for k, v in {"timeout": timeout, **params}.items())
    cfg = EsConfig.from_url(f"{fake.url}/?{query}", tmp_path)
    return ElasticsearchStore(cfg, sidecar=SQLiteStore(tmp_path / "sidecar.db"),
                              spool=tmp_path / "es-spool.db", background=background)


def accepted_ids(fake: FakeElasticsearch, index_prefix: str = ALIAS) -> list[str]:
    return [i for index, i, _ in fake.accepted if index.startswith(index_prefix)]


def expected_ids(articles: list[Article]) -> list[str]:
    return [doc_id(a.url) for a in articles]


# ---------------------------------------------------------------------- outage and replay

def test_connection_refused_spools_then_replays_each_document_once_in_order(fake, tmp_path):
    store = make_store(fake, tmp_path)
    assert store.flush().ok                       # template, index and alias installed
    fake.stop()
    articles = [art(n) for n in range(1, 31)]
    started = time.perf_counter()
    for a in articles:
        store.upsert(a, a.url)
    per_write = (time.perf_counter() - started) / len(articles)
    assert per_write < 0.05, f"a write waited {per_write:.3f} s for a stopped Elasticsearch"
    report = store.flush()
    assert not report.ok and "Connection" in report.error
    assert store.spool_size() == 30 and fake.accepted == []
    fake.start()                                  # same port
    report = store.flush()
    assert report.ok and report.sent == 30 and store.spool_size() == 0
    assert accepted_ids(fake) == expected_ids(articles)       # once each, in order
    assert set(fake.documents(ALIAS)) == set(expected_ids(articles))
    store.close()


def test_timeout_keeps_documents_and_replays_after_recovery(fake, tmp_path):
    store = make_store(fake, tmp_path, timeout=0.3)
    assert store.flush().ok
    articles = [art(n) for n in range(1, 11)]
    for a in articles:
        store.upsert(a, a.url)
    fake.hang(30)
    started = time.perf_counter()
    report = store.flush()
    took = time.perf_counter() - started
    assert not report.ok and "Timeout" in report.error
    assert took < 2.0, f"replay against a hung server took {took:.1f} s (timeout 0.3 s)"
    assert store.spool_size() == 10 and accepted_ids(fake) == []
    fake.recover()
    assert store.flush().ok
    assert accepted_ids(fake) == expected_ids(articles)
    store.close()


@pytest.mark.parametrize("status", [429, 503])
def test_bulk_rejected_with_429_or_503_is_retried_not_lost(fake, tmp_path, status):
    store = make_store(fake, tmp_path)
    assert store.flush().ok
    articles = [art(n) for n in range(1, 6)]
    for a in articles:
        store.upsert(a, a.url)
    fake.fail_bulk(status, times=2)
    for _ in range(2):
        report = store.flush()
        assert not report.ok and str(status) in report.error and report.retrying == 5
    attempts = {e.attempts for e in store.spool.peek(100)}
    assert attempts == {2}
    assert store.flush().ok
    assert accepted_ids(fake) == expected_ids(articles)
    store.close()


def test_item_level_429_retries_only_that_document(fake, tmp_path):
    store = make_store(fake, tmp_path)
    assert store.flush().ok
    articles = [art(n) for n in range(1, 6)]
    for a in articles:
        store.upsert(a, a.url)
    failing = doc_id(articles[2].url)
    fake.fail_items({failing: 429})
    report = store.flush()
    assert (report.sent, report.retrying) == (4, 1)
    assert store.flush().ok
    ids = accepted_ids(fake)
    # every document exactly once; only the rejected one moved behind the others
    assert sorted(ids) == sorted(expected_ids(articles)) and len(ids) == len(set(ids))
    assert [i for i in ids if i != failing] == [i for i in expected_ids(articles) if i != failing]
    store.close()


def test_updates_while_down_replay_the_newest_version_once(fake, tmp_path):
    store = make_store(fake, tmp_path)
    assert store.flush().ok
    fake.stop()
    first = art(1)
    store.upsert(first, first.url)
    for k in range(2, 4):
        edited = art(1, body=f"نسخة معدلة رقم {k} عن الرقة.")
        assert store.upsert(edited, first.url).kind == "updated"
    assert store.spool_size() == 3
    fake.start()
    assert store.flush().ok and store.spool_size() == 0
    assert accepted_ids(fake) == [doc_id(first.url)]              # coalesced: sent once
    doc = fake.documents(ALIAS)[doc_id(first.url)]
    assert doc["revision"] == 3 and "رقم 3" in doc["body"]
    store.close()



def test_only_one_process_replays_a_spool_at_a_time(fake, tmp_path):
    store = make_store(fake, tmp_path)
    store.upsert(art(1), art(1).url)
    other = Spool(tmp_path / "es-spool.db")        # another process's handle on the file
    with other.replay_lock() as mine:
        assert mine
        report = store.flush()
        assert (report.sent, report.remaining) == (0, 1) and accepted_ids(fake) == []
    assert store.flush().sent == 1
    other.close()
    store.close()


def test_rejected_mapping_becomes_dead_letter_and_does_not_block(fake, tmp_path):
    store = make_store(fake, tmp_path)
    assert store.flush().ok
    articles = [art(n) for n in range(1, 4)]
    for a in articles:
        store.upsert(a, a.url)
    bad = doc_id(articles[0].url)
    fake.fail_items({bad: 400})
    report = store.flush()
    assert report.ok and (report.sent, report.dead) == (2, 1)
    assert store.spool_size() == 0
    [dead] = store.spool.dead_letters()
    assert dead["doc_id"] == bad and "mapper_parsing_exception" in dead["last_error"]
    assert store.status()["spool_dead"] == 1
    assert store.spool.requeue_dead() == 1 and store.flush().ok
    assert bad in fake.documents(ALIAS) and store.spool.dead_letters() == []
    store.close()


def test_background_writer_never_blocks_crawling_and_drains_after_outage(fake, tmp_path):
    store = make_store(fake, tmp_path, background=True, timeout=0.5, flush_interval=0.05)
    store.min_backoff = 0.1
    fake.hang(60)
    articles = [art(n) for n in range(1, 41)]
    slowest = 0.0
    for a in articles:
        started = time.perf_counter()
        store.upsert(a, a.url)
        slowest = max(slowest, time.perf_counter() - started)
        time.sleep(0.01)
    # blocked would be the 0.5 s client timeout or more; `make test` runs two test processes on
    # two cores, so a write may also wait its turn for the CPU
    assert slowest < 0.3, f"slowest write {slowest:.3f} s while Elasticsearch hung"
    assert store.spool_size() == 40
    fake.recover()
    deadline = time.monotonic() + 10
    while store.spool_size() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert store.spool_size() == 0
    ids = accepted_ids(fake)
    assert ids == expected_ids(articles), "replayed out of order or more than once"
    store.close()


def test_spool_survives_a_restart(fake, tmp_path):
    fake.stop()
    store = make_store(fake, tmp_path)
    articles = [art(n) for n in range(1, 8)]
    for a in articles:
        store.upsert(a, a.url)
    store.close(timeout=1)                        # Elasticsearch still down
    assert Spool(tmp_path / "es-spool.db").size() == 7
    fake.start()
    again = make_store(fake, tmp_path, background=True, flush_interval=0.05)
    deadline = time.monotonic() + 5
    while again.spool_size() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert again.spool_size() == 0
    assert accepted_ids(fake) == expected_ids(articles)
    again.close()


def test_requests_pinned_to_rest_compatibility_8(fake, tmp_path):
    pinned = make_store(fake, tmp_path / "a", compat="8")
    assert pinned.flush().ok and fake.rejected_compat == []
    pinned.close()
    unpinned = make_store(fake, tmp_path / "b", compat="9")
    unpinned.upsert(art(1), art(1).url)
    report = unpinned.flush()
    assert not report.ok and "media_type_header_exception" in report.error
    assert fake.rejected_compat and unpinned.spool_size() == 1
    unpinned.close(timeout=0)


# ---------------------------------------------------------------------- search



# ---------------------------------------------------------------------- alerts mirror


# ---------------------------------------------------------------------- configuration

def test_url_forms_and_secrets_from_environment(tmp_path):
    key_file = tmp_path / "key"
    key_file.write_text("c2VjcmV0LWtleQ==\n")
    cfg = EsConfig.from_url("https://chavder@es.example.org:9200", "/srv/data",
                            env={"CHAVDER_ES_PASSWORD": "pa55word"})
    assert cfg.hosts == ["https://es.example.org:9200"] and cfg.username == "chavder"
    assert cfg.password == "pa55word" and cfg.sidecar == "/srv/data/chavder.db"
    assert cfg.spool == "/srv/data/es-spool.db" and cfg.alias == "chavder-articles"
    assert "pa55word" not in repr(cfg) and "pa55word" not in cfg.safe_url
    multi = EsConfig.from_url(f"elasticsearch+http://h1,h2:9201/news?api_key_file={key_file}",
                              env={})
    assert multi.hosts == ["http://h1:9200", "http://h2:9201"] and multi.alias == "news"
    assert multi.api_key == "c2VjcmV0LWtleQ==" and "c2VjcmV0" not in repr(multi)
    assert EsConfig.from_url("elasticsearch://h", env={}).hosts == ["https://h:9200"]
    store_repr = repr(EsConfig.from_url("https://u:inline-secret@h:9200", env={}))
    assert "inline-secret" not in store_repr
    with pytest.raises(ValueError, match="CHAVDER_ES_PASSWORD"):
        EsConfig.from_url("https://elastic@h:9200", env={})
    with pytest.raises(ValueError, match="secret"):
        EsConfig.from_url("https://h:9200/?api_key=abc", env={})
    with pytest.raises(ValueError, match="unknown Elasticsearch store parameter"):
        EsConfig.from_url("https://h:9200/?shards=3", env={})


def test_password_is_sent_but_never_logged(fake, tmp_path, caplog, monkeypatch):
    monkeypatch.setenv("CHAVDER_ES_PASSWORD", "s3cret-pw")
    seen: list[str] = []
    original = fake.handle

    def spy(method, path, params, body, handler):
        seen.append(handler.headers.get("Authorization") or "")
        return original(method, path, params, body, handler)

    fake.handle = spy
    caplog.set_level("DEBUG")
    url = fake.url.replace("http://", "http://chavder@")
    store = ElasticsearchStore(EsConfig.from_url(url + "/?sync=true", tmp_path),
                               sidecar=SQLiteStore(tmp_path / "s.db"),
                               spool=tmp_path / "sp.db", background=False)
    store.upsert(art(1), art(1).url)
    assert store.spool_size() == 0
    assert seen and all(h.startswith("Basic ") for h in seen)
    assert "s3cret-pw" not in caplog.text and "s3cret-pw" not in repr(store)
    store.close()


# ---------------------------------------------------------------------- reindex


# ---------------------------------------------------------------------- commands

def _run(*argv: str) -> int:
    """``chavder ARGV`` in this process; exceptions propagate (``main`` would print them)."""
    from crawler.cli import cli
    return int(cli.main(list(argv), prog_name="chavder", standalone_mode=False) or 0)




def test_opensearch_urls_select_the_opensearch_engine(tmp_path):
    cfg = EsConfig.from_url("opensearch://search.example.org", tmp_path)
    assert (cfg.engine, cfg.hosts) == ("opensearch", ["https://search.example.org:9200"])
    cfg = EsConfig.from_url("opensearch+http://127.0.0.1:9201/news", tmp_path)
    assert (cfg.engine, cfg.hosts, cfg.alias) == ("opensearch", ["http://127.0.0.1:9201"],
                                                  "news")
    assert EsConfig.from_url("https://h:9200/?engine=opensearch", tmp_path).engine == \
        "opensearch"
    assert EsConfig.from_url("https://h:9200", tmp_path).engine == "elasticsearch"
    with pytest.raises(ValueError, match="engine='solr'"):
        EsConfig.from_url("https://h:9200/?engine=solr", tmp_path)
    client = make_client(EsConfig.from_url("opensearch+http://127.0.0.1:9", tmp_path))
    assert type(client).__module__.startswith("opensearchpy")
    client.close()


def test_es_command_refuses_a_sqlite_store(tmp_path, monkeypatch):
    from crawler.config import ConfigError
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ConfigError, match="not Elasticsearch"):
        _run("es", "setup", "--store", "sqlite:///data/chavder.db")


class _FakeKibana(BaseHTTPRequestHandler):
    received: list[dict] = []

    def log_message(self, *args):
        pass

    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        type(self).received.append({"path": self.path, "headers": self.headers,
                                    "body": body})
        lines = [ln for ln in body.split(b"\n") if ln.strip().startswith(b"{")]
        answer = json.dumps({"success": True, "successCount": len(lines), "errors": []})
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer.encode())


def test_kibana_import_posts_the_saved_objects(tmp_path, capsys, monkeypatch):
    _FakeKibana.received = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), _FakeKibana)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    monkeypatch.setenv("CHAVDER_KIBANA_PASSWORD", "kibana-pw")
    monkeypatch.delenv("CHAVDER_KIBANA_API_KEY", raising=False)
    monkeypatch.delenv("CHAVDER_ES_API_KEY", raising=False)
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}"
        assert _run("kibana", "import", "--url", url, "--user", "elastic") == 0
    finally:
        server.shutdown()
        server.server_close()
    [request] = _FakeKibana.received
    shipped = (Path(__file__).parent.parent / "deploy/kibana/chavder.ndjson").read_bytes()
    assert request["path"] == "/api/saved_objects/_import?overwrite=true"
    assert request["headers"]["kbn-xsrf"] and request["headers"]["Authorization"].startswith(
        "Basic ")
    assert request["headers"]["Content-Type"].startswith("multipart/form-data; boundary=")
    assert b'name="file"; filename="chavder.ndjson"' in request["body"]
    assert shipped in request["body"]
    n = len(shipped.splitlines())
    assert f"imported {n} saved object(s)" in capsys.readouterr().out





