"""Store contract: what every backend must do, run on each backend for real.

* ``sqlite`` — the embedded default;
* ``elasticsearch`` — the ``elasticsearch://`` store on the real Elasticsearch 8 node the
  session starts (``testsupport/engine_node.py``), through the ``elasticsearch`` client;
* ``opensearch`` — the ``opensearch://`` store on the real OpenSearch 2 node, through
  opensearch-py;
* ``external-es`` — only when ``CHAVDER_TEST_ES_URL`` names another real cluster (e.g.
  ``http://elastic@localhost:9200`` with ``CHAVDER_ES_PASSWORD``).

Each search-engine test gets its own alias and index, removed afterwards.
"""
from __future__ import annotations

import os
import uuid
from datetime import datetime, timezone
from urllib.parse import urlsplit, urlunsplit

import pytest

from crawler.models import Article
from crawler.store import SearchQuery, open_store

EXTERNAL_ES = os.environ.get("CHAVDER_TEST_ES_URL")
BACKENDS = ["sqlite", "elasticsearch", "opensearch"] + (["external-es"] if EXTERNAL_ES else [])


def with_params(url: str, **params: str) -> str:
    parts = urlsplit(url)
    query = "&".join(filter(None, [parts.query, "&".join(f"{k}={v}" for k, v in params.items())]))
    return urlunsplit((parts.scheme, parts.netloc, parts.path, query, ""))


def engine_store(base_url: str, tmp_path):
    """An ElasticsearchStore on a fresh alias of a real cluster; ``drop()`` removes it."""
    from crawler.store.elasticsearch import ElasticsearchStore, EsConfig
    from crawler.store.sqlite import SQLiteStore
    alias = f"chavder-test-{uuid.uuid4().hex[:10]}"
    cfg = EsConfig.from_url(with_params(base_url, alias=alias, alerts_alias=f"{alias}-alerts",
                                        sync="true", timeout="30"), tmp_path)
    return ElasticsearchStore(cfg, sidecar=SQLiteStore(tmp_path / "sidecar.db"),
                              spool=tmp_path / "spool.db", background=False)


def drop_engine_store(s) -> None:
    """Close ``s`` and delete its indices and templates; every write must have been indexed."""
    from crawler.store.elasticsearch import make_client
    pending = s.spool_size()
    cfg = s.config
    s.close(timeout=5)
    client = make_client(cfg, timeout=30)
    try:
        for name in (cfg.alias, cfg.alerts_alias):
            for call, kw in ((client.indices.delete, {"index": f"{name}-*"}),
                             (client.indices.delete_index_template, {"name": name})):
                try:
                    call(**kw)
                except Exception:  # noqa: BLE001 - absent is fine
                    pass
    finally:
        client.close()
    assert pending == 0, "every contract write must have reached the search engine"


@pytest.fixture(params=BACKENDS)
def store(request, tmp_path):
    if request.param == "sqlite":
        s = open_store(f"sqlite:///{tmp_path / 'contract.db'}")
        yield s
        s.close()
        return
    base = (EXTERNAL_ES if request.param == "external-es"
            else request.getfixturevalue(f"{request.param}_node").store_url)
    s = engine_store(base, tmp_path)
    yield s
    drop_engine_store(s)


def article(n: int, *, title: str, body: str, lang: str = "ar", source: str = "rok",
            published: str | None = "2017-06-01T10:00:00+03:00", hash_: str | None = None) -> Article:
    return Article(source=source, url=f"https://example.org/{n}", canonical_url=f"https://example.org/{n}",
                   title=title, body=body, language=lang, published_at=published,
                   content_hash=hash_ or f"hash-{n}-{len(body)}",
                   fetched_at="2017-06-01T08:00:00+00:00")


RAQQA = article(1, title="روسيا: سنقصف عناصر داعش إذا حاولوا الفرار من الرقة",
                body="قالت وزارة الدفاع الروسية إنها ستقصف عناصر التنظيم.\n\nوتقترب القوات من مدينة الرقة.")
BARQA = article(2, title="أمطار غزيرة في برقة", body="شهدت مدينة برقة الليبية أمطاراً غزيرة اليوم.",
                published="2017-06-02T09:00:00+02:00")
SORANI = article(3, title="هێزەکان لە ڕەققە", body="هێزەکانی سووریای دیموکرات گەیشتنە ناو شاری ڕەققە.",
                 lang="ckb", source="sorani")


def test_upsert_new_unchanged_updated(store):
    first = store.upsert(RAQQA, "example.org/1")
    assert first.kind == "new" and first.revision == 1
    again = store.upsert(RAQQA, "example.org/1")
    assert (again.kind, again.article_id, again.revision) == ("unchanged", first.article_id, 1)
    edited = Article(**{**RAQQA.to_dict(), "body": RAQQA.body + "\n\nتحديث: وصلت تعزيزات.",
                        "content_hash": "edited"})
    updated = store.upsert(edited, "example.org/1")
    assert (updated.kind, updated.article_id, updated.revision) == ("updated", first.article_id, 2)
    assert store.count_articles() == 1
    row = store.article_row("example.org/1")
    assert row["revision"] == 2 and "تعزيزات" in row["body"]
    assert RAQQA.content_hash in row["previous_hashes"]


def test_aliases_make_other_urls_known(store):
    store.upsert(RAQQA, "example.org/1", aliases=["example.org/?p=1", "m.example.org/1"])
    known = store.known(["example.org/?p=1", "example.org/1", "example.org/unknown"])
    assert set(known) == {"example.org/?p=1", "example.org/1"}
    # storing through an alias updates the same row, never a second one
    store.upsert(Article(**{**RAQQA.to_dict(), "content_hash": "x"}), "example.org/other",
                 aliases=["example.org/?p=1"])
    assert store.count_articles() == 1


def test_search_normalised_with_clitics(store):
    for a in (RAQQA, BARQA, SORANI):
        store.upsert(a, a.url)
    titles = [h.title for h in store.search(SearchQuery("الرقة"))]
    assert titles == [RAQQA.title], "الرقة must not find برقة"
    # hamza/alef and tashkeel variants of the query find the same article
    assert [h.title for h in store.search(SearchQuery("الرَّقَّة"))] == [RAQQA.title]
    assert [h.title for h in store.search(SearchQuery("برقة"))] == [BARQA.title]
    assert [h.source for h in store.search(SearchQuery("ڕەققە"))] == ["sorani"]


def test_search_filters_and_json_contract(store):
    for a in (RAQQA, BARQA, SORANI):
        store.upsert(a, a.url)
    q = SearchQuery("مدينة", since=datetime(2017, 6, 2, tzinfo=timezone.utc))
    assert [h.title for h in store.search(q)] == [BARQA.title]
    assert store.search(SearchQuery("مدينة", source="sorani")) == []
    assert [h.language for h in store.search(SearchQuery("مدينة", language="ar", limit=1))] == ["ar"]
    hit = store.search(SearchQuery("الرقة"))[0]
    assert set(hit.to_json()) >= {"url", "title", "source", "language", "published_at",
                                  "snippet", "score"}
    assert "«الرقة»" in hit.snippet


def test_http_validators_and_errors_persist(store, tmp_path):
    store.save_http_validators("https://x/feed", '"abc"', "Wed, 01 Jun 2017 10:00:00 GMT")
    assert store.http_validators("https://x/feed") == ('"abc"', "Wed, 01 Jun 2017 10:00:00 GMT")
    assert store.http_validators("https://x/other") == (None, None)
    store.record_fetch_error("rok", "https://x/a", "HTTP 404")
    assert store.fetch_errors("rok")[0]["reason"] == "HTTP 404"


def test_reopen_keeps_data_and_schema(tmp_path):
    path = tmp_path / "re.db"
    s = open_store(f"sqlite:///{path}")
    s.upsert(RAQQA, "example.org/1")
    version = s.schema_version
    s.close()
    s = open_store(str(path))
    assert s.schema_version == version and s.count_articles() == 1
    assert s.integrity_check() == "ok"
    s.close()


def test_unknown_store_scheme_is_a_clear_error():
    with pytest.raises(ValueError, match="unknown store scheme"):
        open_store("mongodb://x")
