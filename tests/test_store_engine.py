"""The search backend on REAL engines: the Elasticsearch 8 and OpenSearch 2 nodes of
``testsupport/engine_node.py`` (each test runs on both).

What runs here needs the engine itself, not a protocol fake: the template and its analyzers,
index creation and aliases, bulk writes with external versions, ``collapse`` and
aggregations, the query DSL's relevance, the saved Kibana searches, and a JVM killed in the
middle of a crawl. The store URL is ``elasticsearch+http://127.0.0.1:<port>`` or
``opensearch+http://…``, exactly what a user writes in ``store:``.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import uuid
from datetime import datetime, timezone
from pathlib import Path

import pytest

from crawler.models import Article
from crawler.store import SearchQuery, open_store
from crawler.store.elasticsearch import (ElasticsearchStore, EsConfig, doc_id, make_client,
                                         reindex_from_sqlite, setup_indices)
from crawler.store.sqlite import SQLiteStore
from tests.conftest import CONTACT_URL
from tests.test_store_contract import drop_engine_store, engine_store, with_params
from testsupport.articles import numbered_article as art
from testsupport.config import write_config

REPO = Path(__file__).resolve().parent.parent
KIBANA = REPO / "deploy" / "kibana" / "chavder.ndjson"


@pytest.fixture
def estore(search_node, tmp_path):
    s = engine_store(search_node.store_url, tmp_path)
    yield s
    drop_engine_store(s)


def chavder(*args: str, cwd: Path, config: Path | None = None, timeout: float = 300,
            check: bool = True) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    if config:
        env["CHAVDER_CONFIG"] = str(config)
    proc = subprocess.run([sys.executable, "-m", "crawler.cli", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=timeout)
    if check and proc.returncode != 0:
        raise AssertionError(f"chavder {' '.join(args)} exited {proc.returncode}\n"
                             f"stdout:\n{proc.stdout[-3000:]}\nstderr:\n{proc.stderr[-3000:]}")
    return proc


def fresh_alias() -> str:
    return f"chavder-it-{uuid.uuid4().hex[:8]}"


def drop_alias(node, alias: str) -> None:
    for name in (alias, f"{alias}-alerts"):
        for path in (f"/{name}-0*", f"/_index_template/{name}"):
            try:
                node.request("DELETE", path)
            except AssertionError:
                pass


# ---------------------------------------------------------------------- setup and analysis

def test_es_setup_on_the_real_node_is_idempotent(search_node, tmp_path):
    alias = fresh_alias()
    url = with_params(search_node.store_url, alias=alias, alerts_alias=f"{alias}-alerts")
    try:
        first = chavder("es", "setup", "--store", url, cwd=tmp_path).stdout
        assert f"index {alias}-000001 with write alias {alias}: created" in first
        second = chavder("es", "setup", "--store", url, cwd=tmp_path).stdout
        assert "created" not in second and f"alias {alias}: exists, mapping up to date" in second
        aliases = search_node.request("GET", f"/_alias/{alias}")
        assert aliases == {f"{alias}-000001": {"aliases": {alias: {"is_write_index": True}}}}
        assert search_node.request("GET", f"/_alias/{alias}-alerts")
        [tpl] = search_node.request("GET", f"/_index_template/{alias}")["index_templates"]
        assert tpl["index_template"]["index_patterns"] == [f"{alias}-0*"]
        mapping = search_node.request("GET", f"/{alias}/_mapping")[f"{alias}-000001"]["mappings"]
        assert mapping["properties"]["title"]["fields"]["ar"]["analyzer"] == "arabic"
        assert mapping["properties"]["body_norm"]["analyzer"] == "whitespace"
        indices = search_node.request("GET", f"/_cat/indices/{alias}*?format=json")
        assert sorted(i["index"] for i in indices) == [f"{alias}-000001",
                                                      f"{alias}-alerts-000001"]
    finally:
        drop_alias(search_node, alias)


def _tokens(node, index: str, field: str, text: str) -> list[str]:
    out = node.request("POST", f"/{index}/_analyze", {"field": field, "text": text})
    return [t["token"] for t in out["tokens"]]


def test_analyzers_do_what_the_readme_claims(search_node, estore):
    from crawler.text import index_terms, query_terms
    assert estore.flush().ok
    index = f"{estore.config.alias}-000001"
    # Arabic: the built-in analyzer strips the article and the و/ب clitics: one stem for all
    ar = {w: _tokens(search_node, index, "title.ar", w) for w in ("الرقة", "والرقة", "بالرقة")}
    assert len({tuple(v) for v in ar.values()}) == 1 and len(ar["الرقة"]) == 1, ar
    assert _tokens(search_node, index, "title.ar", "برقة") != ar["الرقة"]
    # Sorani: the sorani analyzer gives the definite/locative forms one stem
    ckb = {w: _tokens(search_node, index, "title.ckb", w) for w in ("ڕەققە", "ڕەققەدا")}
    assert ckb["ڕەققە"] == ckb["ڕەققەدا"] and len(ckb["ڕەققە"]) == 1, ckb
    # Kurmanji/English: lowercase + asciifolding, so Kobanê = KOBANE = kobane
    kmr = [_tokens(search_node, index, "title.kmr", w) for w in ("Kobanê", "KOBANE", "kobane")]
    assert kmr == [["kobane"]] * 3, kmr
    # what Chavder actually searches on: its own keys under the whitespace analyzer; every
    # clitic form carries the query's key, برقة does not
    key = query_terms("الرقة", "ar")[0]
    for word in ("الرقة", "والرقة", "بالرقة", "للرقة"):
        assert key in _tokens(search_node, index, "title_norm", index_terms(word, "ar")), word
    assert key not in _tokens(search_node, index, "title_norm", index_terms("برقة", "ar"))
    assert key not in _tokens(search_node, index, "title_norm", index_terms("الرقابة", "ar"))


# ---------------------------------------------------------------------- search details

def test_one_row_per_story_with_other_outlets(search_node, estore):
    first = estore.upsert(art(1, source="rudaw"), art(1).url)
    copy = art(2, source="anf", body=art(1).body)
    joined = estore.upsert(copy, copy.url, story_id=first.story_id)
    assert joined.story_id == first.story_id
    estore.upsert(art(3, source="enab", body="خبر آخر عن الرقة لا علاقة له."), art(3).url)
    hits = estore.search(SearchQuery("الرقة"))
    assert estore.last_search_backend == search_node.engine
    by_story = {h.story_id: h for h in hits}
    assert len(hits) == 2 and len(by_story) == 2
    assert sorted([by_story[first.story_id].source]
                  + by_story[first.story_id].also_reported_by) == ["anf", "rudaw"]
    assert len(estore.search(SearchQuery("الرقة", all_copies=True))) == 3


def test_alert_ledger_changes_reach_the_alerts_index(search_node, estore):
    result = estore.upsert(art(1), art(1).url)
    assert estore.record_matches(result.article_id, 1, result.story_id,
                                 [("raqqa", "desk@example.org", ["الرقة"])], []) == 1
    alerts = estore.config.alerts_alias

    def docs() -> list[dict]:
        search_node.request("POST", f"/{alerts}/_refresh")
        return [h["_source"] for h in
                search_node.request("GET", f"/{alerts}/_search")["hits"]["hits"]]
    [doc] = docs()
    assert (doc["rule"], doc["state"], doc["title"]) == ("raqqa", "pending", "عنوان 1")
    [row] = estore.alert_rows()
    estore.mark_alert(row["id"], "sent")
    [doc] = docs()
    assert doc["state"] == "sent" and doc["sent_at"]


def test_a_late_older_revision_never_overwrites_a_newer_one(search_node, estore):
    """External versions on the real engine: revision 1 replayed after revision 2 is a 409."""
    from crawler.store.elasticsearch import article_document, replay
    a = art(1)
    estore.upsert(a, a.url)
    old = dict(estore.article_row(a.url))
    edited = Article(**{**a.to_dict(), "body": a.body + " تحديث.", "content_hash": "v2"})
    estore.upsert(edited, a.url)
    estore.spool.enqueue(doc_id(old["url_key"]), estore.config.alias,
                         article_document({**old, "revision": 1}))
    report = replay(estore.client, estore.spool, refresh=True)
    assert report.ok and estore.spool_size() == 0
    got = search_node.request("GET", f"/{estore.config.alias}/_doc/{doc_id(a.url)}")
    assert got["_version"] == 2 and got["_source"]["content_hash"] == "v2"


# ---------------------------------------------------------------------- reindex, status

def test_reindex_from_sqlite_is_complete_and_idempotent(search_node, tmp_path):
    db = tmp_path / "chavder.db"
    sqlite = SQLiteStore(db)
    articles = [art(n) for n in range(1, 26)]
    for a in articles:
        sqlite.upsert(a, a.url)
    sqlite.close()
    alias = fresh_alias()
    cfg = EsConfig.from_url(with_params(search_node.store_url, alias=alias,
                                        alerts_alias=f"{alias}-alerts"), tmp_path)
    client = make_client(cfg, timeout=30)
    try:
        setup_indices(client, cfg.alias, cfg.alerts_alias)
        calls: list[tuple[int, int]] = []
        report = reindex_from_sqlite(client, db, cfg, batch_size=10,
                                     progress=lambda d, t: calls.append((d, t)))
        assert (report.articles, report.failed) == (25, 0)
        assert calls[0] == (0, 25) and calls[-1] == (25, 25) and len(calls) >= 3
        assert reindex_from_sqlite(client, db, cfg, batch_size=10).articles == 25
        ids = search_node.request("POST", f"/{alias}/_search",
                                  {"size": 100, "_source": False})["hits"]["hits"]
        assert sorted(h["_id"] for h in ids) == sorted(doc_id(a.url) for a in articles)
    finally:
        client.close()
        drop_alias(search_node, alias)


def test_es_reindex_and_status_commands(search_node, tmp_path):
    sqlite = SQLiteStore(tmp_path / "old.db")
    for n in range(1, 6):
        sqlite.upsert(art(n), art(n).url)
    sqlite.close()
    alias = fresh_alias()
    url = with_params(search_node.store_url, alias=alias, alerts_alias=f"{alias}-alerts",
                      sidecar=tmp_path / "side.db", spool=tmp_path / "spool.db")
    try:
        out = chavder("es", "reindex", "--store", url, "--from",
                      f"sqlite:///{tmp_path / 'old.db'}", "--json", cwd=tmp_path)
        assert json.loads(out.stdout)["articles"] == 5 and "reindex: 5/5" in out.stderr
        status = json.loads(chavder("es", "status", "--store", url, "--json",
                                    cwd=tmp_path).stdout)
        assert status["reachable"] and status["indexed_articles"] == 5
        assert (status["engine"], status["distribution"]) == (search_node.engine,) * 2
        assert status["version"] == {"elasticsearch": "8.19.4", "opensearch": "2.19.1"}[
            search_node.engine] and status["spool_pending"] == 0
    finally:
        drop_alias(search_node, alias)


# ---------------------------------------------------------------------- Kibana assets

def _kibana_objects() -> list[dict]:
    return [json.loads(line) for line in KIBANA.read_text(encoding="utf-8").splitlines()
            if line.strip()]


def _fields_used(obj: dict) -> set[str]:
    attrs = obj.get("attributes", {})
    used = set(attrs.get("columns") or []) | {s[0] for s in attrs.get("sort") or []}
    if attrs.get("timeFieldName"):
        used.add(attrs["timeFieldName"])
    vis = attrs.get("visState")
    if vis:
        for agg in json.loads(vis).get("aggs", []):
            field = (agg.get("params") or {}).get("field")
            if field:
                used.add(field)
    return used


def test_kibana_fields_exist_in_the_real_mapping_and_saved_queries_parse(search_node,
                                                                          estore):
    """Every field the data views, saved searches and visualisations use exists in the live
    mapping with a usable type (``_field_caps``), and each saved Lucene query parses and runs
    as a ``query_string`` on the real node."""
    estore.upsert(art(1, title="روسيا تقصف داعش قرب الرقة"), art(1).url)
    alias, alerts = estore.config.alias, estore.config.alerts_alias
    objects = _kibana_objects()
    views = {o["id"]: o["attributes"]["title"] for o in objects if o["type"] == "index-pattern"}
    assert set(views.values()) == {"chavder-articles", "chavder-alerts"}
    target = {"chavder-articles": alias, "chavder-alerts": alerts}
    wanted = {"date": {"date"}, "keyword": {"keyword"}, "number": {"long", "integer"},
              "text": {"text"}}
    expected_type = {"timeline_at": "date", "created_at": "date", "sent_at": "date",
                     "source": "keyword", "language": "keyword", "canonical_url": "keyword",
                     "story_id": "number", "rule": "keyword", "state": "keyword",
                     "recipient": "keyword", "title": "text", "title.raw": "keyword"}
    checked = 0
    for obj in objects:
        refs = [r["id"] for r in obj.get("references", []) if r["type"] == "index-pattern"]
        view = views.get(obj["id"]) or (views[refs[0]] if refs else None)
        fields = _fields_used(obj)
        if not view or not fields:
            continue
        caps = search_node.request("GET", f"/{target[view]}/_field_caps?fields="
                                   + ",".join(sorted(fields)))["fields"]
        for field in fields:
            assert field in caps, f"{obj['id']} uses {field!r}, absent from {view}'s mapping"
            types = set(caps[field])
            kind = expected_type.get(field)
            if kind:
                assert types <= wanted[kind], f"{obj['id']}: {field} is {types}, not {kind}"
            if obj["type"] == "visualization":
                assert any(c.get("aggregatable") for c in caps[field].values()), field
            checked += 1
    assert checked >= 10
    searches = 0
    for obj in objects:
        source = json.loads(obj["attributes"].get("kibanaSavedObjectMeta", {})
                            .get("searchSourceJSON", "{}"))
        query = source.get("query", {})
        if query.get("language") != "lucene" or not query.get("query"):
            continue
        out = search_node.request("POST", f"/{alias}/_search", {"query": {"query_string": {
            "query": query["query"]}}})
        assert "hits" in out, obj["id"]
        searches += 1
    assert searches >= 2, "the shipped rules' saved searches were not found"
    raqqa = next(o for o in objects if o["id"] == "chavder-rule-raqqa")
    q = json.loads(raqqa["attributes"]["kibanaSavedObjectMeta"]["searchSourceJSON"])["query"]
    hits = search_node.request("POST", f"/{alias}/_search", {"query": {"query_string": {
        "query": q["query"]}}})["hits"]["hits"]
    assert [h["_id"] for h in hits] == [doc_id(art(1).url)], "the raqqa search finds الرقة"


def test_kibana_rule_search_finds_the_spellings_the_matcher_accepts(search_node, estore):
    """A rule's saved search carries the matcher's spelling variants of one-word terms, so
    Kibana and the alert agree on which articles are the rule's — run on the real node."""
    from crawler.alerts import Matcher, Rule
    from crawler.kibana import rule_query
    rule = Rule(name="watch", any=(("Raqqa", "داعش", "Daesh"),))
    texts = {1: ("Shelling near Rakkah overnight", "en"), 2: ("Fighting in Raqa again", "en"),
             3: ("Da’esh cells attacked a checkpoint", "en"), 4: ("قصف مواقع الداعش قرب القرية", "ar"),
             5: ("He broke his racket in the final", "en"), 6: ("تعزيز الرقابة والدعم", "ar"),
             7: ("The RAQQAH council met", "en")}
    for n, (text, lang) in texts.items():
        estore.upsert(art(n, title=f"t{n}", body=text, lang=lang), art(n).url)
    assert estore.flush().ok
    search_node.request("POST", f"/{estore.config.alias}/_refresh")
    hits = search_node.request("POST", f"/{estore.config.alias}/_search", {
        "size": 20, "query": {"query_string": {"query": rule_query(rule)}}})["hits"]["hits"]
    matcher = Matcher([rule])
    fired = {n for n, (text, lang) in texts.items() if matcher.match("", text, language=lang)}
    assert fired == {1, 2, 3, 4, 7}
    assert {h["_id"] for h in hits} == {doc_id(art(n).url) for n in fired}


# ---------------------------------------------------------------------- crawls

def crawl_setup(search_node, fixture_web, tmp_path: Path, **params: str) -> tuple[Path, str]:
    """A Chavder installation whose ``store:`` is the real node (fresh alias)."""
    data = tmp_path / "data"
    data.mkdir()
    alias = fresh_alias()
    url = with_params(search_node.store_url, alias=alias, alerts_alias=f"{alias}-alerts",
                      **params)
    sources = fixture_web.write_sources(tmp_path / "sources.yaml")
    return write_config(tmp_path, store=url, sources=sources, contact_url=CONTACT_URL), url


def _stories(store: ElasticsearchStore) -> tuple[dict[str, set[str]], dict[str, set[str]]]:
    """story → URLs, from the index (terms aggregation) and from the SQLite sidecar."""
    body = {"size": 0, "aggs": {"s": {"terms": {"field": "story_id", "size": 1000},
                                      "aggs": {"u": {"terms": {"field": "canonical_url",
                                                               "size": 100}}}}}}
    from crawler.store.elasticsearch import json_body as _body
    resp = _body(store.search_client.search(index=store.config.alias, body=body))
    index = {str(b["key"]): {u["key"] for u in b["u"]["buckets"]}
             for b in resp["aggregations"]["s"]["buckets"]}
    local: dict[str, set[str]] = {}
    for row in store.iter_articles():
        local.setdefault(str(row["story_id"]), set()).add(row["canonical_url"] or row["url"])
    return index, local


QUERIES = [
    SearchQuery("الرقة"), SearchQuery("والرقة"), SearchQuery("داعش"),
    SearchQuery('"قوات سوريا الديمقراطية"'), SearchQuery("الرقة OR كوباني"),
    SearchQuery("ڕەققە"), SearchQuery("Reqa"), SearchQuery("Kobanê"),
    SearchQuery("الرقة", language="ar"), SearchQuery("الرقة", language="ckb"),
    SearchQuery("ڕەققە", language="ckb"), SearchQuery("ڕەققە OR Reqa OR الرقة"),
    SearchQuery("الرقة", all_copies=True), SearchQuery("داعش", source="rok"),
]


def date_queries(rows: list[dict]) -> list[SearchQuery]:
    """since/until at the median publication time of the crawl: both halves non-empty."""
    times = sorted(r["published_utc"] for r in rows if r.get("published_utc"))
    middle = datetime.fromisoformat(times[len(times) // 2]).astimezone(timezone.utc)
    return [SearchQuery("داعش OR الرقة OR Reqa OR ڕەققە", since=middle),
            SearchQuery("داعش OR الرقة OR Reqa OR ڕەققە", until=middle),
            SearchQuery("داعش", since=middle, language="ar")]


def test_crawl_into_the_real_node_matches_sqlite(search_node, fixture_web, tmp_path):
    config, url = crawl_setup(search_node, fixture_web, tmp_path, flush_interval="0.1")
    try:
        out = chavder("crawl", "--json", "--progress-interval", "0", cwd=tmp_path,
                      config=config)
        totals = json.loads(out.stdout.strip().splitlines()[-1])["totals"] \
            if "totals" in out.stdout else None
        store = open_store(url, tmp_path / "data")
        assert isinstance(store, ElasticsearchStore)
        try:
            store.flush(refresh=True)
            assert store.spool_size() == 0
            rows = store.iter_articles()
            count = int(store.client.count(index=store.config.alias)["count"])
            assert count == len(rows) >= 10, (count, len(rows), totals)
            index_stories, local_stories = _stories(store)
            assert index_stories == local_stories
            nonempty = 0
            for q in QUERIES + date_queries(rows):
                via_engine = store.search(q)
                assert store.last_search_backend == search_node.engine
                local = store.sidecar.search(q)
                key = (q.text, q.language, q.since, q.until, q.all_copies)
                assert sorted(h.url for h in via_engine) == sorted(h.url for h in local), key
                assert {h.url: sorted(h.also_reported_by) for h in via_engine} == \
                    {h.url: sorted(h.also_reported_by) for h in local}, key
                nonempty += bool(local)
            assert nonempty >= 14, "the queries must find something in the fixture web"
        finally:
            store.close()
    finally:
        drop_alias(search_node, url.split("alias=")[1].split("&")[0])


def _indexed(node, alias: str) -> int:
    try:
        node.request("POST", f"/{alias}/_refresh")
        return int(node.request("GET", f"/{alias}/_count")["count"])
    except (AssertionError, OSError):
        return 0


def test_node_killed_mid_crawl_replays_everything_exactly_once(search_node, fixture_web,
                                                               tmp_path):
    """SIGKILL the engine's JVM while a crawl indexes into it, keep crawling into the spool,
    start the node again on the same data path: one document per article, versions equal to
    the sidecar's revisions, content hashes equal, written in spool order, nothing lost."""
    from crawler.store.elasticsearch.spool import Spool
    config, url = crawl_setup(search_node, fixture_web, tmp_path, flush_interval="0.05",
                              batch_size="2")
    alias = url.split("alias=")[1].split("&")[0]
    env = {**os.environ, "CHAVDER_CONFIG": str(config), "PYTHONUNBUFFERED": "1"}
    try:
        crawl = subprocess.Popen([sys.executable, "-m", "crawler.cli", "crawl", "--json",
                                  "--progress-interval", "0", "--source", "rok"], cwd=tmp_path,
                                 env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                 text=True)
        deadline = time.monotonic() + 120
        while _indexed(search_node, alias) == 0 and crawl.poll() is None \
                and time.monotonic() < deadline:
            time.sleep(0.05)
        assert _indexed(search_node, alias) > 0, "nothing reached the node before the kill"
        search_node.kill()                                  # mid-crawl: a crash, no flush
        out, err = crawl.communicate(timeout=240)
        assert crawl.returncode == 0, err[-3000:]
        # keep crawling while the node is down: everything goes to the spool
        chavder("crawl", "--json", "--progress-interval", "0", "--source", "sorani",
                "--source", "kurmanji", cwd=tmp_path, config=config)
        spool = Spool(tmp_path / "data" / "es-spool.db")
        pending = spool.size()
        spool.close()
        assert pending > 0
        # status tells the truth about a stopped node
        down = chavder("es", "status", "--json", cwd=tmp_path, config=config, check=False)
        status = json.loads(down.stdout)
        assert down.returncode == 1 and status["reachable"] is False and status["error"]
        assert status["spool_pending"] == pending
        # search still answers, from the local store
        store = open_store(url, tmp_path / "data")
        try:
            assert store.search(SearchQuery("داعش"))
            assert store.last_search_backend == "sqlite-fallback"
            # so do the web interface's totals and charts (the sidecar's own answers)
            q = SearchQuery("داعش", offset=1)
            assert store.search_total(q) == store.sidecar.search_total(q) > 0
            assert store.attention(q, split="source") == store.sidecar.attention(
                q, split="source") != []
        finally:
            store.close(timeout=0)
        search_node.start()                                 # same data path, same port
        flushed = chavder("es", "flush", cwd=tmp_path, config=config)
        assert "waiting 0, dead 0" in flushed.stdout, flushed.stdout
        store = open_store(url, tmp_path / "data")
        try:
            rows = {doc_id(r["url_key"]): r for r in store.iter_articles()}
            assert store.spool_size() == 0 and store.spool.dead_count() == 0
            search_node.request("POST", f"/{alias}/_refresh")
            hits = search_node.request("POST", f"/{alias}/_search", {
                "size": 1000, "version": True, "seq_no_primary_term": True,
                "_source": ["content_hash", "revision", "article_id"]})["hits"]["hits"]
            assert len(hits) == len(rows) == store.count_articles() >= 10
            assert {h["_id"] for h in hits} == set(rows)
            for h in hits:
                row = rows[h["_id"]]
                assert h["_source"]["content_hash"] == row["content_hash"]
                assert h["_version"] == h["_source"]["revision"] == row["revision"]
            # the replay after the restart wrote in spool order (= the order articles were
            # stored, i.e. article id order for a crawl of new articles)
            term = max(h["_primary_term"] for h in hits)
            replayed = sorted((h for h in hits if h["_primary_term"] == term),
                              key=lambda h: h["_seq_no"])
            ids = [h["_source"]["article_id"] for h in replayed]
            assert len(ids) >= pending and ids == sorted(ids)
            live = json.loads(chavder("es", "status", "--json", cwd=tmp_path,
                                      config=config).stdout)
            assert live["reachable"] and live["indexed_articles"] == len(rows)
        finally:
            store.close()
    finally:
        if search_node.proc is None or search_node.proc.poll() is not None:
            search_node.start()
        drop_alias(search_node, alias)
