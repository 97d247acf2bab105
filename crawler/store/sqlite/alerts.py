"""The alert ledger over the SQLite tables (the ``AlertLedger`` role).

Matching is an outbox: ``record_matches`` queues a revision's alerts (and digest items) in the
same transaction that marks it checked. Delivery is claim → send → mark (see
crawler/alerting.py): ``claim_alert`` is the one compare-and-set that decides which process
sends a row; marks after it are conditional on still holding the claim, except ``sent`` (a
delivered message is a fact).
"""
from __future__ import annotations

import json
from typing import Iterable, Sequence

from crawler.store.base import utc_now_iso
from crawler.store import claims
from crawler.store.sqlite.tables import Tables

#: Ledger rows (``l``) with the title, URL, source and language of their article (``a``).
ALERTS_WITH_ARTICLE = ("SELECT l.*, a.title, a.canonical_url, a.source, a.language "
                       "FROM alert_ledger l LEFT JOIN articles a ON a.id = l.article_id")


class AlertTables(Tables):
    """``alert_ledger`` rows: one per (rule, story, recipient), ever."""

    def articles_to_check(self, limit: int = 500) -> list[dict]:
        """Article revisions not yet matched against the alert rules (the outbox sweep)."""
        with self._lock:
            rows = self._db.execute(
                "SELECT id, story_id, revision, source, title, body, language, canonical_url, "
                "published_at FROM articles WHERE alerts_checked_revision < revision "
                "ORDER BY id LIMIT ?", (limit,)).fetchall()
        return [dict(r) for r in rows]

    def record_matches(self, article_id: int, revision: int, story_id: int,
                       instant: Iterable[tuple[str, str, list[str]]],
                       digest: Iterable[tuple[str, str, list[str]]]) -> int:
        """Queue alerts for one checked article revision, atomically with marking it checked.

        ``instant``/``digest``: (rule, recipient key, matched terms). A (rule, story, recipient)
        is queued at most once ever: syndicated copies and updates of an alerted story don't
        alert again. Returns how many new instant alerts were queued.
        """
        return self.record_matches_many([(article_id, revision, story_id, instant, digest)])[0]

    def record_matches_many(self, checked: Sequence[tuple[int, int, int, Iterable[tuple[str, str,
                            list[str]]], Iterable[tuple[str, str, list[str]]]]]) -> list[int]:
        """``record_matches`` for several checked revisions — (article id, revision, story id,
        instant, digest) each — in ONE transaction (the sweep's: a commit per article was
        most of its cost). Returns the instant alerts queued per revision."""
        now = utc_now_iso()
        counts: list[int] = []
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                for article_id, revision, story_id, instant, digest in checked:
                    queued = 0
                    for rule, recipient, terms in instant:
                        cur = self._db.execute(
                            "INSERT OR IGNORE INTO alert_ledger(rule, story_id, recipient, "
                            "article_id, matched_terms, next_attempt_at, created_at) "
                            "VALUES (?,?,?,?,?,?,?)",
                            (rule, story_id, recipient, article_id,
                             json.dumps(terms, ensure_ascii=False), now, now))
                        queued += cur.rowcount
                    for rule, recipient, terms in digest:
                        self._db.execute(
                            "INSERT OR IGNORE INTO digest_items(rule, story_id, recipient, "
                            "article_id, matched_terms, matched_at) VALUES (?,?,?,?,?,?)",
                            (rule, story_id, recipient, article_id,
                             json.dumps(terms, ensure_ascii=False), now))
                    self._db.execute("UPDATE articles SET alerts_checked_revision=? WHERE id=? "
                                     "AND alerts_checked_revision < ?",
                                     (revision, article_id, revision))
                    counts.append(queued)
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
        return counts

    def due_alerts(self, now: str, limit: int = 100, reclaim_from: Iterable[str] = ()
                   ) -> list[dict]:
        """Rows to deliver now: pending and due, or ``sending`` and reclaimable."""
        dead = list(reclaim_from)
        with self._lock:
            rows = self._db.execute(
                "SELECT l.*, a.title, a.body, a.canonical_url, a.source, a.language, "
                "a.published_at FROM alert_ledger l JOIN articles a ON a.id = l.article_id "
                f"WHERE {claims.due(dead, 'l')} ORDER BY l.id LIMIT :limit",
                {"now": now, "limit": limit, **claims.params(dead)}).fetchall()
        return [dict(r) for r in rows]

    def alert_claim_owners(self, now: str) -> list[str]:
        """Owners holding an unexpired claim (the caller checks which of them are dead)."""
        with self._lock:
            return claims.claim_owners(self._db, "alert_ledger", now)

    def claim_alert(self, alert_id: int, owner: str, now: str, lease_until: str,
                    message_id: str | None = None, reclaim_from: Iterable[str] = ()
                    ) -> int | None:
        """Compare-and-set a due ``pending`` or reclaimable ``sending`` row → ``sending`` by
        ``owner`` until ``lease_until`` (attempts + 1). Returns the attempt number, or None
        when another sender holds the row or it is no longer due."""
        with self._lock:
            return claims.claim(self._db, "alert_ledger", alert_id, owner, now, lease_until,
                                message_id, reclaim_from, stamp=True)

    def mark_alert(self, alert_id: int, state: str, *, error: str | None = None,
                   next_attempt_at: str | None = None, owner: str | None = None) -> bool:
        """Move a ledger row to ``sent`` / ``pending`` (retry) / ``failed`` (``sending`` is
        :meth:`claim_alert`'s). With ``owner``, a ``pending``/``failed`` mark applies only
        while that owner still holds the claim. Returns whether the row changed."""
        if state not in ("sent", "pending", "failed"):
            raise ValueError(f"mark_alert: unknown or unmarkable state {state!r} (a row becomes "
                             "'sending' only through claim_alert)")
        with self._lock:
            return claims.mark(self._db, "alert_ledger", alert_id, state, utc_now_iso(),
                               error=error, next_attempt_at=next_attempt_at, owner=owner)

    def requeue_alerts(self, now: str, *, failed: bool = False) -> dict[str, int]:
        """``chavder alerts retry``: rows waiting for a retry become due now; with ``failed``,
        failed rows too, with a fresh attempt budget. Returns counts per former state."""
        states = ["pending", "failed"] if failed else ["pending"]
        out: dict[str, int] = {}
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                for state in states:
                    cur = self._db.execute(
                        "UPDATE alert_ledger SET state='pending', next_attempt_at=?, "
                        "attempts=CASE WHEN state='failed' THEN 0 ELSE attempts END "
                        "WHERE state=? AND (state='failed' OR next_attempt_at > ?)",
                        (now, state, now))
                    out[state] = cur.rowcount
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
        return out

    def failed_alerts(self, limit: int = 20) -> list[dict]:
        """Failed rows, newest first, with their reason and article title (``status``)."""
        with self._lock:
            return [dict(r) for r in self._db.execute(
                "SELECT l.id, l.rule, l.recipient, l.story_id, l.attempts, l.last_error, "
                "COALESCE(l.last_attempt_at, l.created_at) AS failed_at, a.title, "
                "a.canonical_url FROM alert_ledger l LEFT JOIN articles a ON "
                "a.id = l.article_id WHERE l.state='failed' ORDER BY l.id DESC LIMIT ?",
                (limit,))]

    def alert_counts(self) -> dict[str, int]:
        with self._lock:
            return {r[0]: r[1] for r in self._db.execute(
                "SELECT state, COUNT(*) FROM alert_ledger GROUP BY state")}

    def alert_rows(self) -> list[dict]:
        with self._lock:
            return [dict(r) for r in self._db.execute("SELECT * FROM alert_ledger ORDER BY id")]

    def recent_alerts(self, limit: int = 20) -> list[dict]:
        """The newest ledger rows with their article's title (the web interface's alerts
        page), newest first."""
        with self._lock:
            return [dict(r) for r in self._db.execute(
                "SELECT l.*, a.title FROM alert_ledger l LEFT JOIN articles a ON "
                "a.id = l.article_id ORDER BY l.id DESC LIMIT ?", (limit,))]

    def alert_rows_with_article(self, *, alert_id: int | None = None,
                                article_id: int | None = None, story_id: int | None = None,
                                pending_at: str | None = None) -> list[dict]:
        """Ledger rows with their article's title, URL, source and language, selected by id,
        by article and story, or pending and due at ``pending_at`` (what ``requeue_alerts``
        just made due); for mirroring the ledger to a search index."""
        where: list[str] = []
        args: list[int | str] = []
        for column, value in (("l.id", alert_id), ("l.article_id", article_id),
                              ("l.story_id", story_id)):
            if value is not None:
                where.append(f"{column}=?")
                args.append(value)
        if pending_at is not None:
            where.append("l.state='pending' AND l.next_attempt_at=?")
            args.append(pending_at)
        if not where:
            raise ValueError("alert_rows_with_article: select by id, article, story or time")
        with self._lock:
            return [dict(r) for r in self._db.execute(
                f"{ALERTS_WITH_ARTICLE} WHERE {' AND '.join(where)}", args)]
