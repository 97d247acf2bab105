"""The digest ledger over the SQLite tables (the ``DigestLedger`` role).

Uses the store's connection (autocommit mode; BEGIN IMMEDIATE/COMMIT for multi-statement
writes) and its lock (see ``tables.Tables``). Tables (schema v2): ``digest_items`` and
``digests`` — see crawler/store/sqlite/schema.py.

The ledger (see crawler/digests/ for the design):

* ``digests`` holds at most one row per (recipient, period_key); the unique key is what makes a
  digest exactly-once across restarts and across processes (``chavder run`` and
  ``chavder digest send`` may race; ``INSERT OR IGNORE`` under ``BEGIN IMMEDIATE`` decides).
* Opening a digest *claims* its items (``digest_items.digest_id``) in the same transaction, so
  every matched story is in exactly one digest: a period that was skipped or missed leaves its
  items unclaimed and the next digest carries them; a digest that fails for good releases them.
* Delivery claims the row (``state='sending'``, the owner in ``claimed_by`` and a lease in
  ``next_attempt_at``) with a compare-and-set, so two processes never send the same digest
  concurrently; a crash while sending leaves ``sending`` with an expiring lease (taken over at
  once when the owner is known dead, see crawler/delivery/lease.py), and the retry reuses the
  Message-ID.

States: ``pending`` (opened, waiting to be sent or to retry), ``sending``, ``sent``,
``skipped`` (empty period with ``digest_empty_policy: skip``), ``missed`` (the service was down
past the grace period), ``failed`` (permanent failure or retries exhausted).
"""
from __future__ import annotations

import json
from typing import Iterable

from crawler.store import claims
from crawler.store.sqlite.tables import Tables

DIGEST_STATES = ("pending", "sending", "sent", "skipped", "missed", "failed")
_OPEN_AGAIN = ("missed", "failed", "skipped")
_BODY_CHARS = 3000     # the digest shows the first lines only: don't load whole bodies
# entries (rule × story) and distinct stories a digest holds
_COUNTS = ("(SELECT COUNT(*) FROM digest_items i WHERE i.digest_id = d.id) AS items, "
           "(SELECT COUNT(DISTINCT i.story_id) FROM digest_items i WHERE i.digest_id = d.id) "
           "AS stories")


class DigestTables(Tables):
    """Digest ledger: periods per recipient, the stories each digest contains, delivery state."""

    # ------------------------------------------------------------------ reads
    def digest_row(self, recipient: str, period_key: str) -> dict | None:
        with self._lock:
            row = self._db.execute(
                f"SELECT d.*, {_COUNTS} FROM digests d WHERE d.recipient=? AND d.period_key=?",
                (recipient, period_key)).fetchone()
        return dict(row) if row else None

    def digest_by_id(self, digest_id: int) -> dict | None:
        with self._lock:
            row = self._db.execute(
                f"SELECT d.*, {_COUNTS} FROM digests d WHERE d.id=?", (digest_id,)).fetchone()
        return dict(row) if row else None

    def latest_digest_key(self, recipient: str) -> str | None:
        """The newest period key in the ledger for this recipient (any state), or None."""
        with self._lock:
            row = self._db.execute("SELECT MAX(period_key) FROM digests WHERE recipient=?",
                                   (recipient,)).fetchone()
        return row[0] if row else None

    def digest_rows(self, recipient: str | None = None, limit: int | None = None) -> list[dict]:
        """Ledger rows, newest period first, each with its number of items."""
        sql = f"SELECT d.*, {_COUNTS} FROM digests d"
        params: list = []
        if recipient:
            sql += " WHERE d.recipient=?"
            params.append(recipient)
        sql += " ORDER BY d.period_key DESC, d.recipient"
        if limit:
            sql += " LIMIT ?"
            params.append(int(limit))
        with self._lock:
            return [dict(r) for r in self._db.execute(sql, params)]

    def digest_counts(self) -> dict[str, int]:
        with self._lock:
            return {r[0]: r[1] for r in self._db.execute(
                "SELECT state, COUNT(*) FROM digests GROUP BY state")}

    def due_digests(self, now: str, limit: int = 100, reclaim_from: Iterable[str] = ()
                    ) -> list[dict]:
        """Rows to (re)try now: pending whose retry time has come, and ``sending`` rows whose
        lease expired or whose owner died (a crash or kill while sending)."""
        dead = list(reclaim_from)
        with self._lock:
            return [dict(r) for r in self._db.execute(
                f"SELECT * FROM digests WHERE {claims.due(dead)} ORDER BY period_end, id "
                "LIMIT :limit", {"now": now, "limit": limit, **claims.params(dead)})]

    def digest_claim_owners(self, now: str) -> list[str]:
        """Owners holding an unexpired digest claim (the caller checks which are dead)."""
        with self._lock:
            return claims.claim_owners(self._db, "digests", now)

    _ITEM_COLUMNS = (
        "i.id AS item_id, i.rule, i.story_id, i.article_id, i.matched_terms, i.matched_at, "
        "a.title, substr(a.body, 1, %d) AS body, a.canonical_url, a.source, a.language, "
        "COALESCE(a.published_at, a.first_seen) AS published_at, "
        "COALESCE(a.published_utc, a.first_seen) AS sort_time" % _BODY_CHARS)

    def digest_entries(self, digest_id: int) -> list[dict]:
        """The items a digest claimed, with what the e-mail shows of their article."""
        with self._lock:
            rows = self._db.execute(
                f"SELECT {self._ITEM_COLUMNS} FROM digest_items i LEFT JOIN articles a "
                "ON a.id = i.article_id WHERE i.digest_id=? ORDER BY i.id",
                (digest_id,)).fetchall()
        return [_entry(r) for r in rows]

    def unclaimed_digest_entries(self, recipient: str, rules: Iterable[str],
                                 until: str) -> list[dict]:
        """Items not yet in any digest, matched no later than ``until`` (for previews)."""
        rules = list(rules)
        if not rules:
            return []
        marks = ",".join("?" * len(rules))
        with self._lock:
            rows = self._db.execute(
                f"SELECT {self._ITEM_COLUMNS} FROM digest_items i LEFT JOIN articles a "
                f"ON a.id = i.article_id WHERE i.recipient=? AND i.digest_id IS NULL AND "
                f"i.matched_at <= ? AND i.rule IN ({marks}) ORDER BY i.id",
                (recipient, until, *rules)).fetchall()
        return [_entry(r) for r in rows]

    # ------------------------------------------------------------------ writes
    def open_digest(self, recipient: str, period_key: str, period_start: str, period_end: str,
                    rules: Iterable[str], now: str, *, skip_if_empty: bool,
                    reopen: bool = False) -> tuple[dict, bool]:
        """Create the ledger row of (recipient, period) and claim its items, atomically.

        Items claimed: this recipient's, of ``rules``, matched at or before ``period_end`` and
        not in any digest yet. An empty period is recorded as ``skipped`` when
        ``skip_if_empty``. ``reopen`` (``chavder digest send --now``) turns a ``missed``,
        ``failed`` or ``skipped`` row of the period back into a pending one.

        Returns (row, opened): ``opened`` is False when the row already existed (sent,
        being sent, or opened by another process) and nothing changed.
        """
        rules = list(dict.fromkeys(rules))
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                row = self._db.execute("SELECT * FROM digests WHERE recipient=? AND "
                                       "period_key=?", (recipient, period_key)).fetchone()
                if row is None:
                    digest_id = self._db.execute(
                        "INSERT INTO digests(recipient, period_key, period_start, period_end, "
                        "state, attempts, next_attempt_at, created_at) "
                        "VALUES (?,?,?,?, 'pending', 0, ?, ?)",
                        (recipient, period_key, period_start, period_end, now, now)).lastrowid
                elif reopen and row["state"] in _OPEN_AGAIN:
                    digest_id = row["id"]
                    self._db.execute(
                        "UPDATE digests SET state='pending', period_end=?, attempts=0, "
                        "next_attempt_at=?, last_error=NULL WHERE id=?",
                        (period_end, now, digest_id))
                else:
                    self._db.execute("COMMIT")
                    return self.digest_by_id(row["id"]) or dict(row), False
                if rules:
                    marks = ",".join("?" * len(rules))
                    self._db.execute(
                        f"UPDATE digest_items SET digest_id=? WHERE recipient=? AND "
                        f"digest_id IS NULL AND matched_at <= ? AND rule IN ({marks})",
                        (digest_id, recipient, period_end, *rules))
                count = self._db.execute("SELECT COUNT(*) FROM digest_items WHERE digest_id=?",
                                         (digest_id,)).fetchone()[0]
                if count == 0 and skip_if_empty:
                    self._db.execute("UPDATE digests SET state='skipped', last_error=? "
                                     "WHERE id=?", ("no new stories in this period",
                                                    digest_id))
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
        return self.digest_by_id(digest_id) or {}, True

    def record_missed_digest(self, recipient: str, period_key: str, period_start: str,
                             period_end: str, now: str, reason: str) -> bool:
        """Record that a period's digest was not sent (past the grace period). Its items stay
        unclaimed, so the next digest carries them. False if the period already had a row."""
        with self._lock:
            cur = self._db.execute(
                "INSERT OR IGNORE INTO digests(recipient, period_key, period_start, period_end, "
                "state, attempts, next_attempt_at, last_error, created_at) "
                "VALUES (?,?,?,?, 'missed', 0, ?, ?, ?)",
                (recipient, period_key, period_start, period_end, now, reason[:500], now))
        return cur.rowcount == 1

    def claim_digest_delivery(self, digest_id: int, now: str, lease_until: str,
                              message_id: str | None, *, force: bool = False,
                              owner: str | None = None, reclaim_from: Iterable[str] = ()
                              ) -> int | None:
        """Compare-and-set ``pending``/reclaimable ``sending`` → ``sending`` by ``owner``
        (attempts + 1, lease until ``lease_until``). Returns the attempt number, or None if
        another process holds the row or it is no longer due. ``force``: ignore a pending
        row's retry time. ``reclaim_from``: owners known dead, whose claims may be taken."""
        with self._lock:
            return claims.claim(self._db, "digests", digest_id, owner, now, lease_until,
                                message_id, reclaim_from, force=force)

    def mark_digest(self, digest_id: int, state: str, *, now: str,
                    error: str | None = None, next_attempt_at: str | None = None,
                    owner: str | None = None) -> None:
        """Move a ledger row to ``sent`` / ``pending`` (retry at ``next_attempt_at``) /
        ``skipped`` / ``failed``. A failed digest releases its items to the next digest.
        With ``owner``, anything but ``sent`` applies only while that owner holds the claim
        (a sender whose lease was taken over must not undo the new sender's work)."""
        if state not in DIGEST_STATES:
            raise ValueError(f"unknown digest state {state!r}")
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                changed = claims.mark(self._db, "digests", digest_id, state, now, error=error,
                                      next_attempt_at=next_attempt_at, owner=owner)
                if state == "failed" and changed:
                    self._db.execute("UPDATE digest_items SET digest_id=NULL WHERE digest_id=?",
                                     (digest_id,))
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise


def _entry(row) -> dict:
    entry = dict(row)
    try:
        entry["matched_terms"] = json.loads(entry.get("matched_terms") or "[]")
    except ValueError:
        entry["matched_terms"] = []
    return entry
