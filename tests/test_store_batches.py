"""Several articles stored in one store transaction (crawler.storing.store_batch), on the real
SQLite store: each article in a savepoint of its own, so what the outcomes say is exactly what
is stored — when one article fails, when the disk fills up mid-batch, when the batch is lost.
"""
from __future__ import annotations

import random
import sqlite3

import pytest

from crawler.app import build_resolver
from crawler.storing import StoreRequest, store_article, store_batch
from crawler.store import open_store
from crawler.urls import url_key
from testsupport.articles import RAQQA_CLASHES, numbered_article, story_page


def _request(article) -> StoreRequest:
    return StoreRequest(article, url_key(article.canonical_url), published_ts=1_496_300_000.0)


def _distinct(n: int) -> list:
    rng = random.Random(n)
    return [numbered_article(i, body=story_page(i, rng)[1]) for i in range(n)]


def _rows(path) -> list[tuple[str, int]]:
    con = sqlite3.connect(path)
    try:
        return con.execute("SELECT url_key, story_id FROM articles ORDER BY id").fetchall()
    finally:
        con.close()


def _store_one_by_one(path, articles) -> None:
    """The reference: each article stored on its own, in a store of its own."""
    alone = open_store(f"sqlite:///{path}")
    resolver = build_resolver(alone)
    for article in articles:
        store_article(alone, resolver, _request(article))
    alone.close()


@pytest.fixture
def store(tmp_path):
    store = open_store(f"sqlite:///{tmp_path / 'c.db'}")
    yield store
    store.close()


def test_a_batch_stores_like_one_by_one_copies_included(tmp_path, store):
    """Six articles, two of them copies of a third *within the batch*: the copies join its
    story as they do when stored one by one (the batch's own rows are visible inside it)."""
    copy = " ".join(RAQQA_CLASHES)
    articles = _distinct(3) + [numbered_article(10 + i, body=copy) for i in range(3)]
    outcomes, lost = store_batch(store, build_resolver(store), [_request(a) for a in articles])
    assert not lost and all(isinstance(o, tuple) for o in outcomes), outcomes
    assert [d.kind for d, _ in outcomes] == ["new"] * 4 + ["duplicate"] * 2
    _store_one_by_one(tmp_path / "alone.db", articles)
    assert _rows(tmp_path / "c.db") == _rows(tmp_path / "alone.db")
    assert len({story for _key, story in _rows(tmp_path / "c.db")}) == 4


def test_one_failing_article_leaves_the_rest_of_its_batch_stored(tmp_path, store):
    articles = _distinct(5)
    upsert = store.upsert
    deferred: list[str] = []

    def failing_on_the_third(article, key, **kw):
        result = upsert(article, key, **kw)            # written, then the article fails:
        store.after_commit(lambda: deferred.append(key))
        if article.url.endswith("/2"):                 # the savepoint must undo all of it
            raise sqlite3.IntegrityError("injected: this article's write failed")
        return result

    store.upsert = failing_on_the_third
    outcomes, lost = store_batch(store, build_resolver(store), [_request(a) for a in articles])
    assert not lost
    assert isinstance(outcomes[2], sqlite3.IntegrityError)
    assert all(isinstance(o, tuple) for i, o in enumerate(outcomes) if i != 2)
    stored = [key for key, _story in _rows(tmp_path / "c.db")]
    assert stored == [url_key(a.canonical_url) for i, a in enumerate(articles) if i != 2]
    assert deferred == stored                        # its after-commit action went with it
    del store.upsert
    again, _ = store_batch(store, build_resolver(store), [_request(articles[2])])
    assert again[0][1].kind == "new"                 # the next crawl stores it


def test_a_disk_filling_up_mid_batch_stores_exactly_what_the_outcomes_say(tmp_path, store):
    """SQLITE_FULL part-way (a page limit on the real file): whichever articles the batch
    reports stored are in the file, and no other — whether SQLite undid one statement or the
    whole transaction. A lost batch says so, for the caller to rebuild its resolver."""
    store.close()
    path = tmp_path / "c.db"
    articles = _distinct(40)
    con = sqlite3.connect(path)
    pages = con.execute("PRAGMA page_count").fetchone()[0]
    con.close()
    store = open_store(f"sqlite:///{path}")
    store._db.execute(f"PRAGMA max_page_count={pages + 12}")
    resolver = build_resolver(store)
    outcomes, lost = store_batch(store, resolver, [_request(a) for a in articles])
    failed = [o for o in outcomes if isinstance(o, Exception)]
    assert failed, "the page limit never bit: the test proves nothing"
    said_stored = [url_key(a.canonical_url) for a, o in zip(articles, outcomes)
                   if not isinstance(o, Exception)]
    assert [key for key, _story in _rows(path)] == said_stored
    assert not (lost and said_stored)            # a lost batch stored nothing
    store._db.execute("PRAGMA max_page_count=1073741823")
    resolver = build_resolver(store) if lost else resolver
    rest = [a for a, o in zip(articles, outcomes) if isinstance(o, Exception)]
    outcomes, lost = store_batch(store, resolver, [_request(a) for a in rest])
    assert not lost and all(o[1].kind == "new" for o in outcomes)
    assert len(_rows(path)) == 40 == len({story for _key, story in _rows(path)})
    store.close()


def _fts(path) -> list[tuple]:
    con = sqlite3.connect(path)
    try:
        return con.execute("SELECT a.url_key, f.title, f.body FROM articles a "
                           "JOIN articles_fts f ON f.rowid = a.id ORDER BY a.id").fetchall()
    finally:
        con.close()


def test_a_batch_analyses_its_articles_for_search_before_taking_the_write_lock(
        tmp_path, store, monkeypatch):
    """The FTS terms of a batch are computed before BEGIN IMMEDIATE (none inside the
    transaction, where other processes wait for the lock), and the index holds what
    one-by-one storing indexes; no prepared terms outlive the transaction."""
    import crawler.store.sqlite.articles as articles_module
    articles = _distinct(6)
    calls = {"inside": 0, "outside": 0}
    real = articles_module.index_terms

    def counting(text, lang=None):
        calls["inside" if store._in_write else "outside"] += 1
        return real(text, lang)

    monkeypatch.setattr(articles_module, "index_terms", counting)
    outcomes, lost = store_batch(store, build_resolver(store), [_request(a) for a in articles])
    assert not lost and all(isinstance(o, tuple) for o in outcomes), outcomes
    assert calls == {"inside": 0, "outside": 12}
    assert store._terms == {}
    monkeypatch.setattr(articles_module, "index_terms", real)
    _store_one_by_one(tmp_path / "alone.db", articles)
    assert _fts(tmp_path / "c.db") == _fts(tmp_path / "alone.db")


# ---------------------------------------------------------------------- the write lock

def test_begin_immediate_takes_the_lock_soon_after_another_process_frees_it(tmp_path):
    """Another process holds the write lock for 0.235 s: BEGIN IMMEDIATE waits, then gets it
    within a few milliseconds of the release (SQLite's own busy handler would sleep on in
    steps up to 100 ms); the busy timeout is back for every other statement."""
    import sqlite3
    import subprocess
    import sys
    import time

    from crawler.store.sqlite.tables import begin_immediate, connect
    path = tmp_path / "lock.db"
    db = connect(path)
    db.execute("CREATE TABLE t(x)")
    holder = subprocess.Popen(
        [sys.executable, "-c",
         "import sqlite3, sys, time\n"
         f"db = sqlite3.connect({str(path)!r}, isolation_level=None)\n"
         "db.execute('BEGIN IMMEDIATE'); db.execute('INSERT INTO t VALUES (1)')\n"
         "print('held', flush=True); time.sleep(0.235)\n"
         "db.execute('COMMIT'); print(repr(time.time()), flush=True)\n"],
        stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        begin_immediate(db)
        got = time.time()
        released = float(holder.stdout.readline())
        db.execute("INSERT INTO t VALUES (2)")
        db.execute("COMMIT")
    finally:
        holder.wait(10)
    # SQLite's handler tries at 228 and 328 ms: it would take the lock ~90 ms late
    assert 0 <= got - released < 0.05, got - released
    assert [r[0] for r in db.execute("SELECT x FROM t ORDER BY x")] == [1, 2]
    assert db.execute("PRAGMA busy_timeout").fetchone()[0] == 30_000
    db.close()


def test_begin_immediate_gives_up_after_the_busy_timeout(tmp_path, monkeypatch):
    import sqlite3

    import crawler.store.sqlite.tables as tables
    monkeypatch.setattr(tables, "_BUSY_SECONDS", 0.2)
    path = tmp_path / "lock.db"
    holder, waiter = tables.connect(path), tables.connect(path)
    holder.execute("BEGIN IMMEDIATE")
    with pytest.raises(sqlite3.OperationalError, match="locked"):
        tables.begin_immediate(waiter)
    holder.execute("ROLLBACK")
    tables.begin_immediate(waiter)          # free again: taken at once
    waiter.execute("ROLLBACK")
    holder.close(), waiter.close()
