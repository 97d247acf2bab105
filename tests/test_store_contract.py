"""Store contract: what every backend must do (SQLite always; more backends plug in here)."""
from __future__ import annotations

from datetime import datetime, timezone

import pytest

from crawler.models import Article
from crawler.store import SearchQuery, open_store


@pytest.fixture(params=["sqlite"])
def store(request, tmp_path):
    s = open_store(f"sqlite:///{tmp_path / 'contract.db'}")
    yield s
    s.close()


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
