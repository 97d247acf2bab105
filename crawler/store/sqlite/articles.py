"""Articles, stories and the dedup lookups (``ArticleWriter``, ``ArticleReader``,
``SharedStoryLookup`` in crawler.store.roles) over the SQLite tables."""
from __future__ import annotations

import json
import sqlite3
from datetime import datetime
from typing import Iterable, Iterator

from crawler.models import Article
from crawler.store.base import KnownArticle, UpsertResult, to_utc_iso, utc_iso, utc_now_iso
from crawler.store.roles import StoredCopy
from crawler.store.sqlite.revisions import record_revision
from crawler.store.sqlite.tables import Tables
from crawler.text import index_terms


class ArticleTables(Tables):
    """Article rows, their URL aliases, stories and the FTS index they feed."""

    revision_text_keep: int     # earlier revisions whose text an update keeps

    # ------------------------------------------------------------------ articles
    def known(self, url_keys: Iterable[str]) -> dict[str, KnownArticle]:
        keys = list(dict.fromkeys(url_keys))
        found: dict[str, KnownArticle] = {}
        with self._lock:
            for start in range(0, len(keys), 500):
                chunk = keys[start:start + 500]
                marks = ",".join("?" * len(chunk))
                for row in self._db.execute(
                        f"SELECT url_key, content_hash, index_updated_at, fetched_at "
                        f"FROM articles WHERE url_key IN ({marks})", chunk):
                    found[row[0]] = KnownArticle(row[0], row[1], row[2], row[3])
                for row in self._db.execute(
                        f"SELECT u.alias_key, a.content_hash, a.index_updated_at, a.fetched_at "
                        f"FROM url_aliases u JOIN articles a ON a.id = u.article_id "
                        f"WHERE u.alias_key IN ({marks})", chunk):
                    found.setdefault(row[0], KnownArticle(row[0], row[1], row[2], row[3]))
        return found

    def known_since(self, since: str) -> Iterator[KnownArticle]:
        """Every URL key (canonical and alias) of articles fetched at or after ``since`` (an
        ISO time), as ``known`` answers it — to seed a record of what is known elsewhere."""
        with self._lock:
            rows = self._db.execute(
                "SELECT url_key, content_hash, index_updated_at, fetched_at FROM articles "
                "WHERE fetched_at >= ? UNION ALL "
                "SELECT u.alias_key, a.content_hash, a.index_updated_at, a.fetched_at "
                "FROM url_aliases u JOIN articles a ON a.id = u.article_id "
                "WHERE a.fetched_at >= ?", (since, since)).fetchall()
        for row in rows:
            yield KnownArticle(row[0], row[1], row[2], row[3])

    def get_article(self, url_key: str) -> Article | None:
        with self._lock:
            row = self._db.execute("SELECT * FROM articles WHERE url_key=?",
                                   (url_key,)).fetchone()
        return _row_to_article(row) if row else None

    def article_row(self, url_key: str) -> dict | None:
        """The stored row as a dict (revision, story_id, … included), for tools and tests."""
        with self._lock:
            row = self._db.execute("SELECT * FROM articles WHERE url_key=?",
                                   (url_key,)).fetchone()
        return dict(row) if row else None

    def upsert(self, article: Article, url_key: str, aliases: Iterable[str] = (),
               index_updated_at: str | None = None, *, story_id: int | None = None,
               fingerprint: str | None = None, signature: bytes | None = None,
               published_ts: float | None = None) -> UpsertResult:
        """Insert, update in place (content changed) or touch (unchanged) one article.

        ``aliases`` are other URL keys of the same article (the requested URL, redirects):
        they are remembered so the spiders can skip them before any request.
        """
        now = utc_now_iso()
        fields = article_columns(article)
        if fingerprint is not None:
            fields.update(body_fingerprint=fingerprint, signature=signature,
                          published_ts=published_ts)
        alias_keys = [k for k in dict.fromkeys(aliases) if k and k != url_key]
        with self._write():
            row = self._find_row(url_key, alias_keys)
            if row is None:
                result = self._insert(fields, url_key, index_updated_at, now, story_id)
            elif row["content_hash"] == article.content_hash:
                self._db.execute(
                    "UPDATE articles SET fetched_at=?, index_updated_at=COALESCE(?, "
                    "index_updated_at) WHERE id=?",
                    (fields["fetched_at"] or now, index_updated_at, row["id"]))
                result = UpsertResult("unchanged", row["id"], row["story_id"], row["revision"])
            else:
                previous = json.loads(row["previous_hashes"]) + [row["content_hash"]]
                seq = self._next_change()
                record_revision(self._db, row["id"], self.revision_text_keep)
                assignments = ", ".join(f"{k}=:{k}" for k in fields)
                self._db.execute(
                    f"UPDATE articles SET {assignments}, revision=revision+1, "
                    f"previous_hashes=:previous, index_updated_at=COALESCE(:iua, "
                    f"index_updated_at), change_seq=:seq, revised_at=:now WHERE id=:id",
                    {**fields, "previous": json.dumps(previous[-20:]),
                     "iua": index_updated_at, "id": row["id"], "seq": seq, "now": now})
                self._index(row["id"], article.title, article.body, article.language,
                            replace=True)
                self._db.execute("UPDATE stories SET last_seen=? WHERE id=?",
                                 (now, row["story_id"]))
                result = UpsertResult("updated", row["id"], row["story_id"],
                                      row["revision"] + 1, seq)
            for alias in alias_keys:
                self._db.execute("INSERT OR IGNORE INTO url_aliases(alias_key, article_id) "
                                 "VALUES (?, ?)", (alias, result.article_id))
        return result

    def _next_change(self) -> int:
        """The next change number (inside a write transaction, so no other writer can take
        the same one)."""
        return int(self._db.execute("SELECT COALESCE(MAX(change_seq), 0) + 1 FROM articles"
                                    ).fetchone()[0])

    def _find_row(self, url_key: str, alias_keys: list[str]) -> sqlite3.Row | None:
        columns = "id, content_hash, revision, previous_hashes, story_id"
        row = self._db.execute(f"SELECT {columns} FROM articles WHERE url_key=?",
                               (url_key,)).fetchone()
        if row is not None:
            return row
        for key in [url_key, *alias_keys]:
            row = self._db.execute(
                f"SELECT {columns} FROM articles WHERE id=(SELECT article_id FROM url_aliases "
                f"WHERE alias_key=?)", (key,)).fetchone()
            if row is not None:
                return row
        return None

    def _insert(self, fields: dict, url_key: str, index_updated_at: str | None,
                now: str, join_story: int | None) -> UpsertResult:
        ts = fields.get("published_ts")
        story_id = None
        if join_story is not None and self._db.execute(
                "SELECT 1 FROM stories WHERE id=?", (join_story,)).fetchone():
            story_id = join_story
            self._db.execute("UPDATE stories SET last_seen=? WHERE id=?", (now, story_id))
        else:
            cur = self._db.execute(
                "INSERT INTO stories(representative_id, first_seen, last_seen, "
                "representative_ts) VALUES (0, ?, ?, ?)", (now, now, ts))
            story_id = cur.lastrowid
        seq = self._next_change()
        columns = list(fields) + ["url_key", "first_seen", "index_updated_at", "story_id",
                                  "change_seq"]
        values = {**fields, "url_key": url_key, "first_seen": now,
                  "index_updated_at": index_updated_at, "story_id": story_id, "change_seq": seq}
        cur = self._db.execute(
            f"INSERT INTO articles({', '.join(columns)}) VALUES "
            f"({', '.join(':' + c for c in columns)})", values)
        article_id = cur.lastrowid
        # the representative is the first-published article of the story
        self._db.execute(
            "UPDATE stories SET representative_id=?, representative_ts=? WHERE id=? AND "
            "(representative_id=0 OR (? IS NOT NULL AND (representative_ts IS NULL OR "
            "? < representative_ts)))", (article_id, ts, story_id, ts, ts))
        self._index(article_id, fields["title"], fields["body"], fields["language"])
        return UpsertResult("new", article_id, story_id, 1, seq)

    def prepare_terms(self, articles: Iterable[Article]) -> None:
        """Analyse the title and body of articles about to be upserted for the FTS index now,
        before the write lock is taken: the analysis is a third of an upsert's CPU, and
        inside the lock it kept every other process waiting. Unused terms are dropped when
        the next write transaction ends."""
        for a in articles:
            self._terms[(a.title, a.body, a.language)] = (index_terms(a.title, a.language),
                                                         index_terms(a.body, a.language))

    def _index(self, article_id: int, title: str, body: str, language: str | None,
               replace: bool = False) -> None:
        if replace:
            self._db.execute("DELETE FROM articles_fts WHERE rowid=?", (article_id,))
        terms = self._terms.pop((title, body, language), None) or (
            index_terms(title, language), index_terms(body, language))
        self._db.execute("INSERT INTO articles_fts(rowid, title, body) VALUES (?, ?, ?)",
                         (article_id, *terms))

    # ------------------------------------------------------------------ dedup lookups
    def by_url_key(self, url_key: str) -> StoredCopy | None:
        """StoryLookup: the article stored under this key or one of its aliases."""
        with self._lock:
            row = self._find_row(url_key, [])
            if row is None:
                return None
            extra = self._db.execute("SELECT body_fingerprint, published_ts FROM articles "
                                     "WHERE id=?", (row["id"],)).fetchone()
        return StoredCopy(row["id"], row["story_id"], extra[0] or "", row["content_hash"],
                          extra[1])

    def by_fingerprint(self, fingerprint: str, since_ts: float) -> StoredCopy | None:
        with self._lock:
            row = self._db.execute(
                "SELECT id, story_id, body_fingerprint, content_hash, published_ts FROM articles "
                "WHERE body_fingerprint=? AND published_ts>=? ORDER BY published_ts, id LIMIT 1",
                (fingerprint, since_ts)).fetchone()
        return StoredCopy(row[0], row[1], row[2], row[3], row[4]) if row else None

    def body_of(self, article_id: int) -> tuple[str, str | None] | None:
        with self._lock:
            row = self._db.execute("SELECT body, language FROM articles WHERE id=?",
                                   (article_id,)).fetchone()
        return (row[0], row[1]) if row else None

    def signature_rows(self, since_ts: float) -> list[tuple[int, int, bytes, float]]:
        """(article_id, story_id, signature, published_ts) for rebuilding the LSH index."""
        with self._lock:
            return [tuple(r) for r in self._db.execute(
                "SELECT id, story_id, signature, published_ts FROM articles WHERE "
                "signature IS NOT NULL AND published_ts >= ?", (since_ts,))]

    def story_seq(self) -> int:
        """The latest change number: take it *before* ``signature_rows`` when rebuilding, then
        ``story_changes`` from it misses nothing."""
        with self._lock:
            return int(self._db.execute("SELECT COALESCE(MAX(change_seq), 0) FROM articles"
                                        ).fetchone()[0])

    def story_changes(self, after_seq: int) -> tuple[list[tuple[int, int, bytes | None, float]],
                                                     int]:
        """Articles stored or changed after change ``after_seq`` (by any process), as
        (article_id, story_id, signature, published_ts), and the latest change number. Inside
        ``story_transaction`` nothing can be added before this process's own write."""
        with self._lock:
            rows = [tuple(r) for r in self._db.execute(
                "SELECT id, story_id, signature, published_ts FROM articles WHERE change_seq > ? "
                "ORDER BY change_seq", (after_seq,))]
            latest = self.story_seq() if rows else after_seq
        return rows, latest

    def story(self, story_id: int) -> dict | None:
        """A story with its representative and every copy (for ``chavder story``)."""
        with self._lock:
            story = self._db.execute("SELECT * FROM stories WHERE id=?", (story_id,)).fetchone()
            if story is None:
                return None
            copies = [dict(r) for r in self._db.execute(
                "SELECT id, source, title, canonical_url, published_at, language, revision, "
                "first_seen FROM articles WHERE story_id=? ORDER BY "
                "COALESCE(published_utc, first_seen), id", (story_id,))]
        return {**dict(story), "articles": copies,
                "outlets": list(dict.fromkeys(c["source"] for c in copies))}

    def count_articles(self, source: str | None = None) -> int:
        with self._lock:
            if source:
                return self._db.execute("SELECT COUNT(*) FROM articles WHERE source=?",
                                        (source,)).fetchone()[0]
            return self._db.execute("SELECT COUNT(*) FROM articles").fetchone()[0]

    def count_stories(self) -> int:
        with self._lock:
            return self._db.execute(
                "SELECT COUNT(DISTINCT story_id) FROM articles").fetchone()[0]

    def iter_articles(self, source: str | None = None, *, after_id: int = 0,
                      limit: int | None = None) -> list[dict]:
        """Article rows in id order; ``after_id``/``limit`` read one page (an export walks
        a large store page by page instead of holding it all)."""
        sql = "SELECT * FROM articles WHERE id > ?" + (" AND source=?" if source else "") + \
            " ORDER BY id" + (" LIMIT ?" if limit is not None else "")
        args = (after_id, *((source,) if source else ()), *((limit,) if limit is not None else ()))
        with self._lock:
            rows = self._db.execute(sql, args).fetchall()
        return [dict(r) for r in rows]

    def article_row_by_id(self, article_id: int) -> dict | None:
        """The stored row of an article id (the Elasticsearch store indexes it)."""
        with self._lock:
            row = self._db.execute("SELECT * FROM articles WHERE id=?",
                                   (article_id,)).fetchone()
        return dict(row) if row else None

    def articles_since(self, since: datetime) -> list[dict]:
        with self._lock:
            rows = self._db.execute(
                "SELECT id, story_id, revision, source, title, body, language, canonical_url, "
                "published_at FROM articles WHERE COALESCE(published_utc, first_seen) >= ? "
                "ORDER BY id", (utc_iso(since),)).fetchall()
        return [dict(r) for r in rows]

    def story_sources(self, story_id: int) -> list[str]:
        with self._lock:
            return [r[0] for r in self._db.execute(
                "SELECT source FROM articles WHERE story_id=? GROUP BY source "
                "ORDER BY MIN(COALESCE(published_utc, first_seen))", (story_id,))]


def article_columns(article: Article) -> dict:
    return {
        "url": article.url, "canonical_url": article.canonical_url or article.url,
        "source": article.source, "title": article.title, "body": article.body,
        "summary": article.summary or "", "authors": json.dumps(article.authors or [],
                                                                  ensure_ascii=False),
        "published_at": article.published_at, "published_utc": to_utc_iso(article.published_at),
        "updated_at": article.updated_at, "updated_utc": to_utc_iso(article.updated_at),
        "language": article.language, "image_url": article.image_url, "section": article.section,
        "tags": json.dumps(article.tags or [], ensure_ascii=False),
        "fetched_at": article.fetched_at or utc_now_iso(), "content_hash": article.content_hash,
        "extracted_from": article.extracted_from or "page",
    }


def _row_to_article(row: sqlite3.Row) -> Article:
    return Article(
        source=row["source"], url=row["url"], canonical_url=row["canonical_url"],
        title=row["title"], body=row["body"], summary=row["summary"],
        authors=json.loads(row["authors"]), published_at=row["published_at"],
        updated_at=row["updated_at"], language=row["language"], image_url=row["image_url"],
        section=row["section"], tags=json.loads(row["tags"]), fetched_at=row["fetched_at"],
        content_hash=row["content_hash"], extracted_from=row["extracted_from"])
