"""Store contract for the web interface's pages: search pagination (``offset`` and
``search_total``) and article revisions with their text, on every backend for real (SQLite,
the Elasticsearch and OpenSearch nodes — see tests/test_store_contract.py)."""
from __future__ import annotations

from crawler.models import Article
from crawler.store import SearchQuery, open_store
from tests.test_store_contract import article, store  # noqa: F401 - the backend fixture

SOURCES = ("rok", "enab", "sorani")


def fill_stories(store) -> dict[int, list[str]]:  # noqa: F811
    """Seven Raqqa stories (1–3 outlets each, one day apart) and one that does not match;
    returns each story's outlets by story id."""
    stories: dict[int, list[str]] = {}
    n = 0
    for k in range(7):
        story_id = None
        for copy in range(1 + k % 3):
            n += 1
            a = article(n, title=f"خبر {k} عن الرقة", source=SOURCES[copy],
                        body=f"تقرير رقم {k} من مدينة الرقة، النسخة {copy}.",
                        published=f"2017-06-{10 + k:02d}T{10 + copy:02d}:00:00+00:00")
            result = store.upsert(a, f"example.org/{n}", story_id=story_id)
            story_id = result.story_id
            stories.setdefault(story_id, []).append(a.source)
    n += 1
    store.upsert(article(n, title="أمطار في برقة", body="أمطار غزيرة في برقة."), f"example.org/{n}")
    return stories


def test_pages_do_not_overlap_and_add_up_to_the_whole_result(store):  # noqa: F811
    stories = fill_stories(store)
    for sort in ("relevance", "newest"):
        whole = store.search(SearchQuery("الرقة", limit=100, sort=sort))
        assert sorted(h.story_id for h in whole) == sorted(stories)
        pages = [store.search(SearchQuery("الرقة", limit=3, offset=o, sort=sort))
                 for o in (0, 3, 6, 9)]
        assert [len(p) for p in pages] == [3, 3, 1, 0], sort
        ids = [h.story_id for p in pages for h in p]
        assert len(ids) == len(set(ids)) == 7, "pages overlap"
        assert set(ids) == set(stories)
        if sort == "newest":   # one order across pages: each story's latest copy first
            times = [h.published_at for p in pages for h in p]
            assert times == sorted(times, reverse=True)
            assert [h.story_id for h in whole] == ids
        for hit in (h for p in pages for h in p):
            assert sorted([hit.source, *hit.also_reported_by]) == sorted(stories[hit.story_id])
    assert store.search_total(SearchQuery("الرقة")) == 7
    assert store.search_total(SearchQuery("الرقة", limit=2, offset=4)) == 7
    assert store.search_total(SearchQuery("الرقة", all_copies=True)) == 13
    copies = [store.search(SearchQuery("الرقة", all_copies=True, limit=5, offset=o))
              for o in (0, 5, 10)]
    assert [len(p) for p in copies] == [5, 5, 3]
    assert len({h.article_id for p in copies for h in p}) == 13
    assert store.search_total(SearchQuery("الرقة", source="sorani")) == 2     # stories 2 and 5
    assert store.search_total(SearchQuery("برقة")) == 1
    assert store.search_total(SearchQuery("لاشيء")) == 0
    assert store.search_total(SearchQuery("   ")) == 0


def test_revisions_keep_earlier_text_bounded_and_never_duplicated(store):  # noqa: F811
    base = article(1, title="اشتباكات في الرقة", body="النسخة الأولى من الخبر.")
    first = store.upsert(base, "example.org/1")
    assert [(r.revision, r.body) for r in store.article_revisions(first.article_id)] == [
        (1, base.body)]
    bodies = [base.body]
    for n in range(2, 9):       # seven edits: revisions 2…8
        body = f"النسخة {n} من الخبر: وصلت تعزيزات."
        edited = Article(**{**base.to_dict(), "title": f"{base.title} ({n})", "body": body,
                            "content_hash": f"hash-v{n}"})
        assert store.upsert(edited, "example.org/1").kind == "updated"
        store.upsert(edited, "example.org/1")            # unchanged: no new revision
        bodies.append(body)
    revisions = store.article_revisions(first.article_id)
    assert [r.revision for r in revisions] == [8, 7, 6, 5, 4, 3, 2, 1], "newest first, once each"
    assert revisions[0].body == bodies[7] and revisions[0].content_hash == "hash-v8"
    # the default revision_text_keep (5): the five latest earlier revisions keep their text
    assert [r.body for r in revisions[1:6]] == bodies[6:1:-1]
    assert [r.body for r in revisions[6:]] == [None, None]
    assert [r.content_hash for r in revisions[6:]] == ["hash-v2", base.content_hash]
    assert revisions[-1].title == base.title and revisions[1].title.endswith("(7)")
    assert all(r.seen_at for r in revisions)
    assert [r.seen_at for r in revisions] == sorted((r.seen_at for r in revisions), reverse=True)
    assert store.article_revisions(first.article_id + 999) == []
    assert store.count_articles() == 1


def test_revision_text_keep_is_a_validated_setting(tmp_path):
    from crawler.config import load_settings
    from crawler.yamlconf import ConfigError
    import pytest
    path = tmp_path / "chavder.yaml"
    path.write_text("revision_text_keep: 0\n", "utf-8")
    assert load_settings(path).revision_text_keep == 0
    path.write_text("data_dir: x\nrevision_text_keep: -1\n", "utf-8")
    with pytest.raises(ConfigError, match=r"chavder.yaml:2: 'revision_text_keep' must be 0 or more"):
        load_settings(path)
    s = open_store(f"sqlite:///{tmp_path / 'k.db'}", revision_text_keep=0)
    try:
        a = article(1, title="t", body="أول")
        s.upsert(a, "k/1")
        s.upsert(Article(**{**a.to_dict(), "body": "ثاني", "content_hash": "h2"}), "k/1")
        assert [(r.revision, r.body) for r in s.article_revisions(1)] == [(2, "ثاني"), (1, None)]
    finally:
        s.close()


def test_sqlite_pages_from_the_top_matches_equal_the_full_grouping(tmp_path):
    """An unfiltered relevance search pages from the best-scored matches only, newest first
    from the newest matches only; a filter that keeps everything takes the grouping over every
    match. They must give the same pages, also when a few stories have so many copies that
    the top matches hold too few stories."""
    from datetime import datetime
    s = open_store(f"sqlite:///{tmp_path / 'top.db'}")
    try:
        n = 0
        for k in range(12):
            story = None
            for copy in range(1 if k % 3 else 30):     # every third story has 30 copies
                n += 1
                filler = " ".join(["تقرير"] * ((n * 7) % 23))
                a = article(n, title=f"خبر {k}", body=f"مدينة الرقة {filler} نسخة {copy}",
                            source=SOURCES[copy % 3], lang="ckb" if n % 4 == 0 else "ar",
                            published=f"2017-06-{1 + (n * 5) % 28:02d}T10:00:00+00:00")
                story = s.upsert(a, f"example.org/{n}", story_id=story).story_id
        everything = datetime(1900, 1, 1)
        for all_copies in (False, True):
            for offset in (0, 3, 10, 11, 40, 200):
                for lang in (None, "ar", "ckb"):
                    q = SearchQuery("الرقة", limit=5, offset=offset, all_copies=all_copies,
                                    language=lang)
                    full = SearchQuery("الرقة", limit=5, offset=offset, language=lang,
                                       all_copies=all_copies, since=everything)
                    assert [h.article_id for h in s.search(q)] == \
                           [h.article_id for h in s.search(full)], (all_copies, offset, lang)
        assert s.search_total(SearchQuery("الرقة")) == 12
        assert len(s.search(SearchQuery("الرقة", limit=20))) == 12
        # newest first pages from the newest copies only: each story at its newest copy
        newest: dict[int, tuple[str, int]] = {}
        for row in s.iter_articles():
            key = (row["published_utc"] or row["first_seen"], row["id"])
            newest[row["story_id"]] = max(newest.get(row["story_id"], key), key)
        order = [i for _, i in sorted(newest.values(), reverse=True)]
        for offset in (0, 3, 10, 11):
            q = SearchQuery("الرقة", limit=5, offset=offset, sort="newest")
            assert [h.article_id for h in s.search(q)] == order[offset:offset + 5], offset
    finally:
        s.close()
