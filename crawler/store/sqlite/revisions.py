"""Earlier revisions of an article and their text, bounded (the ``Revisions`` role).

An update (``upsert`` finding a changed content hash) copies the row's previous title, body
and hash into ``article_revisions`` in the same transaction, then drops the text of revisions
older than the ``revision_text_keep`` most recent earlier ones: the table grows by one small
row per change, the text it holds by at most ``keep`` bodies per article.
"""
from __future__ import annotations

import sqlite3

from crawler.store.roles import ArticleRevision
from crawler.store.sqlite.tables import Tables


def record_revision(db: sqlite3.Connection, article_id: int, keep: int) -> None:
    """Keep the current version of ``article_id`` before an update overwrites it (inside the
    update's write transaction); a revision already kept is left as it is."""
    db.execute(
        "INSERT OR IGNORE INTO article_revisions(article_id, revision, seen_at, title, body, "
        "content_hash) SELECT id, revision, COALESCE(revised_at, first_seen), title, "
        "CASE WHEN ? > 0 THEN body END, content_hash FROM articles WHERE id=?",
        (keep, article_id))
    db.execute(
        "UPDATE article_revisions SET body=NULL WHERE article_id=? AND body IS NOT NULL AND "
        "revision <= (SELECT MAX(revision) FROM article_revisions WHERE article_id=?) - ?",
        (article_id, article_id, max(0, keep)))


class RevisionTables(Tables):
    """``article_revisions``: what an article said before."""

    revision_text_keep: int

    def article_revisions(self, article_id: int) -> list[ArticleRevision]:
        """Every stored version of an article, newest (the current one) first; earlier
        versions' ``body`` is None past ``revision_text_keep``. Empty for an unknown id."""
        with self._lock:
            current = self._db.execute(
                "SELECT revision, COALESCE(revised_at, first_seen), title, body, content_hash "
                "FROM articles WHERE id=?", (article_id,)).fetchone()
            if current is None:
                return []
            older = self._db.execute(
                "SELECT revision, seen_at, title, body, content_hash FROM article_revisions "
                "WHERE article_id=? AND revision < ? ORDER BY revision DESC",
                (article_id, current[0])).fetchall()
        return [ArticleRevision(int(r[0]), r[1], r[2], r[3], r[4]) for r in [current, *older]]
