"""Elasticsearch backend: the outage path through the REAL client transport, configuration,
search details, alerts mirroring, reindex and the ``es``/``kibana`` commands.

Elasticsearch is ``tests/support/fake_es.py`` on 127.0.0.1: it refuses connections when
stopped, hangs, or answers 429/503, and records every bulk item it applied, in order.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from crawler.models import Article
from crawler.store import SearchQuery
from crawler.store.elasticsearch import (ElasticsearchStore, EsConfig, doc_id,
                                         reindex_from_sqlite, make_client)
from crawler.store.spool import Spool
from crawler.store.sqlite import SQLiteStore
from tests.support.fake_es import FakeElasticsearch

ALIAS = "chavder-articles"


def art(n: int, *, body: str | None = None, source: str = "rok", lang: str = "ar",
        title: str | None = None) -> Article:
    text = body or f"خبر رقم {n} عن مدينة الرقة والقوات."
    return Article(source=source, url=f"https://example.org/{n}",
                   canonical_url=f"https://example.org/{n}", title=title or f"عنوان {n}",
                   body=text, language=lang, published_at="2017-06-01T10:00:00+03:00",
                   content_hash=hashlib.sha1(text.encode()).hexdigest(),
                   fetched_at="2017-06-01T08:00:00+00:00")


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


def test_a_late_older_revision_never_overwrites_a_newer_one(fake, tmp_path):
    store = make_store(fake, tmp_path)
    first = art(1)
    store.upsert(first, first.url)
    assert store.flush().ok
    old_body = dict(fake.documents(ALIAS)[doc_id(first.url)])
    store.upsert(art(1, body="نسخة ثانية عن الرقة."), first.url)
    assert store.flush().ok
    # e.g. a second replayer or a reindex racing with live indexing delivers revision 1 late
    store.spool.enqueue(doc_id(first.url), ALIAS, old_body)
    report = store.flush()
    assert report.ok and store.spool_size() == 0
    doc = fake.documents(ALIAS)[doc_id(first.url)]
    assert doc["revision"] == 2 and "نسخة ثانية" in doc["body"]
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
    assert slowest < 0.1, f"slowest write {slowest:.3f} s while Elasticsearch hung"
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

def test_one_row_per_story_with_other_outlets(fake, tmp_path):
    store = make_store(fake, tmp_path, sync="true")
    first = store.upsert(art(1, source="rudaw"), art(1).url)
    copy = art(2, source="anf", body=art(1).body)
    joined = store.upsert(copy, copy.url, story_id=first.story_id)
    assert joined.story_id == first.story_id
    store.upsert(art(3, source="enab", body="خبر آخر عن الرقة لا علاقة له."), art(3).url)
    hits = store.search(SearchQuery("الرقة"))
    assert store.last_search_backend == "elasticsearch"
    by_story = {h.story_id: h for h in hits}
    assert len(hits) == 2 and len(by_story) == 2
    assert sorted([by_story[first.story_id].source]
                  + by_story[first.story_id].also_reported_by) == ["anf", "rudaw"]
    every = store.search(SearchQuery("الرقة", all_copies=True))
    assert len(every) == 3
    store.close()


def test_search_falls_back_to_the_local_store_when_elasticsearch_is_down(fake, tmp_path):
    store = make_store(fake, tmp_path, sync="true")
    for n in range(1, 4):
        store.upsert(art(n), art(n).url)
    online = [h.url for h in store.search(SearchQuery("الرقة"))]
    fake.stop()
    offline = [h.url for h in store.search(SearchQuery("الرقة"))]
    assert store.last_search_backend == "sqlite-fallback"
    assert sorted(offline) == sorted(online) and len(online) == 3
    store.close(timeout=0)


# ---------------------------------------------------------------------- alerts mirror

def test_alert_ledger_changes_reach_the_alerts_index(fake, tmp_path):
    store = make_store(fake, tmp_path, sync="true")
    result = store.upsert(art(1), art(1).url)
    queued = store.record_matches(result.article_id, 1, result.story_id,
                                  [("raqqa", "desk@example.org", ["الرقة"])], [])
    assert queued == 1
    docs = fake.documents("chavder-alerts")
    [doc] = docs.values()
    assert (doc["rule"], doc["state"], doc["title"]) == ("raqqa", "pending", "عنوان 1")
    [row] = store.alert_rows()
    store.mark_alert(row["id"], "sent")
    [doc] = fake.documents("chavder-alerts").values()
    assert doc["state"] == "sent" and doc["sent_at"]
    store.close()


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

def test_reindex_from_sqlite_is_complete_and_idempotent(fake, tmp_path):
    db = tmp_path / "chavder.db"
    sqlite = SQLiteStore(db)
    articles = [art(n) for n in range(1, 26)]
    for a in articles:
        sqlite.upsert(a, a.url)
    sqlite.close()
    cfg = EsConfig.from_url(fake.url, tmp_path)
    client = make_client(cfg)
    from crawler.store.elasticsearch import setup_indices
    setup_indices(client, cfg.alias, cfg.alerts_alias)
    calls: list[tuple[int, int]] = []
    report = reindex_from_sqlite(client, db, cfg, batch_size=10,
                                 progress=lambda d, t: calls.append((d, t)))
    assert (report.articles, report.failed) == (25, 0)
    assert calls[0] == (0, 25) and calls[-1] == (25, 25) and len(calls) >= 3
    again = reindex_from_sqlite(client, db, cfg, batch_size=10)
    assert again.articles == 25
    assert set(fake.documents(ALIAS)) == set(expected_ids(articles))
    client.close()


# ---------------------------------------------------------------------- commands

def _parser() -> argparse.ArgumentParser:
    from crawler.es_cli import register_commands
    parser = argparse.ArgumentParser(prog="chavder")
    parser.add_argument("--config")
    register_commands(parser.add_subparsers(dest="command", required=True))
    return parser


def _run(*argv: str) -> int:
    args = _parser().parse_args(list(argv))
    return int(args.func(args))


def test_es_setup_command_is_idempotent(fake, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert _run("es", "setup", "--store", fake.url) == 0
    first = capsys.readouterr().out
    assert "index chavder-articles-000001 with write alias chavder-articles: created" in first
    assert _run("es", "setup", "--store", fake.url) == 0
    second = capsys.readouterr().out
    assert "created" not in second and "alias chavder-articles: exists" in second
    assert list(fake.indices) == ["chavder-articles-000001", "chavder-alerts-000001"]


def test_es_reindex_and_status_commands(fake, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    sqlite = SQLiteStore(tmp_path / "old.db")
    for n in range(1, 6):
        sqlite.upsert(art(n), art(n).url)
    sqlite.close()
    url = f"{fake.url}/?sidecar={tmp_path / 'side.db'}&spool={tmp_path / 'spool.db'}"
    assert _run("es", "reindex", "--store", url, "--from",
                f"sqlite:///{tmp_path / 'old.db'}", "--json") == 0
    out = capsys.readouterr()
    assert json.loads(out.out)["articles"] == 5 and "reindex: 5/5" in out.err
    assert _run("es", "status", "--store", url, "--json") == 0
    status = json.loads(capsys.readouterr().out)
    assert status["reachable"] and status["indexed_articles"] == 5
    assert status["spool_pending"] == 0


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


# ---------------------------------------------------------------------- crawl end to end

_CRAWL_SCRIPT = """
import json, sys
from crawler.config import Settings, load_sources
from crawler.crawl import run_crawl
from crawler.store.elasticsearch import ElasticsearchStore, EsConfig
es_url, sources, data = sys.argv[1:4]
store = ElasticsearchStore(EsConfig.from_url(es_url, data))
settings = Settings(data_dir=data, store=es_url, sources=sources, download_timeout=3.0,
                    contact_url="https://example.org/chavder-tests")
picked = [s for s in load_sources(sources) if s.id in ("rok", "sorani", "kurmanji")]
summary = run_crawl(settings, store, picked, {"CHAVDER_PROGRESS_INTERVAL": 0})
store.close(timeout=10)
print(json.dumps(summary.totals))
"""


def test_crawl_into_elasticsearch_matches_the_local_store(fake, fixture_web, tmp_path):
    import subprocess
    import sys
    sources = fixture_web.write_sources(tmp_path / "sources.yaml")
    es_url = f"{fake.url}/?flush_interval=0.1"
    proc = subprocess.run([sys.executable, "-c", _CRAWL_SCRIPT, es_url, str(sources),
                           str(tmp_path)], capture_output=True, text=True, timeout=120,
                          cwd=Path(__file__).resolve().parent.parent)
    assert proc.returncode == 0, proc.stderr[-3000:]
    totals = json.loads(proc.stdout.strip().splitlines()[-1])
    assert totals["new"] >= 5 and totals["errors"] == 0
    store = ElasticsearchStore(EsConfig.from_url(f"{fake.url}/?sync=true", tmp_path),
                               background=False)          # the crawl's sidecar and spool
    rows = store.iter_articles()
    assert store.spool_size() == 0 and len(rows) == totals["new"]
    assert set(fake.documents(ALIAS)) == {doc_id(r["url_key"]) for r in rows}
    for text in ("الرقة", "ڕەققە", "Reqa", "داعش"):
        via_es = store.search(SearchQuery(text))
        assert store.last_search_backend == "elasticsearch"
        local = store.sidecar.search(SearchQuery(text))
        assert sorted(h.url for h in via_es) == sorted(h.url for h in local), text
    assert store.search(SearchQuery("الرقة")), "the fixture outlets report on Raqqa"
    store.close()
