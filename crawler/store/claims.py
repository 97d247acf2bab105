"""SQL shared by the alert and digest ledgers: the claim and mark steps of the delivery state
machine (crawler/delivery/machine.py), written once for both tables.

A ``sending`` row may be taken over when its lease (``next_attempt_at``) has expired — a row
from before schema v6 has no owner and its old retry time as lease — or when its owner
(``claimed_by``) is known dead (crawler/delivery/lease.py): the caller passes those owners in.
Callers hold the store's lock; :func:`claim` runs its own ``BEGIN IMMEDIATE`` transaction,
:func:`mark` is one statement (wrap it when more must change with it).
"""
from __future__ import annotations

import sqlite3
from typing import Iterable

LEDGERS = ("alert_ledger", "digests")
MARKS = ("sent", "pending", "failed", "skipped")


def reclaimable(dead: list[str], alias: str = "") -> str:
    """The condition, with named parameters ``:now`` and ``:d0 … :dN`` (see :func:`params`)."""
    col = f"{alias}." if alias else ""
    marks = ", ".join(f":d{i}" for i in range(len(dead))) or "NULL"
    return f"({col}next_attempt_at <= :now OR {col}claimed_by IN ({marks}))"


def due(dead: list[str], alias: str = "", *, forced: bool = False) -> str:
    """Which rows a sender may claim now: ``pending`` whose retry time has come (any
    ``pending`` when the named parameter ``:force`` is true, with ``forced``), and reclaimable
    ``sending`` rows. Named parameters as :func:`reclaimable`."""
    col = f"{alias}." if alias else ""
    ready = f"{col}next_attempt_at <= :now"
    if forced:
        ready = f"(:force OR {ready})"
    return (f"(({col}state='pending' AND {ready}) OR "
            f"({col}state='sending' AND {reclaimable(dead, alias)}))")


def params(dead: list[str]) -> dict[str, str]:
    return {f"d{i}": owner for i, owner in enumerate(dead)}


def _table(table: str) -> str:
    if table not in LEDGERS:
        raise ValueError(f"not a delivery ledger: {table!r}")
    return table


def claim_owners(db: sqlite3.Connection, table: str, now: str) -> list[str]:
    """Owners holding an unexpired claim (the caller checks which of them are dead)."""
    return [r[0] for r in db.execute(
        f"SELECT DISTINCT claimed_by FROM {_table(table)} WHERE state='sending' AND "
        "next_attempt_at > ? AND claimed_by IS NOT NULL", (now,))]


def claim(db: sqlite3.Connection, table: str, row_id: int, owner: str | None, now: str,
          lease_until: str, message_id: str | None, reclaim_from: Iterable[str] = (), *,
          force: bool = False, stamp: bool = False) -> int | None:
    """Compare-and-set a due ``pending`` (any ``pending`` with ``force``) or reclaimable
    ``sending`` row → ``sending`` by ``owner`` until ``lease_until``, attempts + 1 (``stamp``:
    and ``last_attempt_at`` = now). Returns the attempt number, or None when another sender
    holds the row or it is no longer due."""
    dead = list(reclaim_from)
    table = _table(table)
    db.execute("BEGIN IMMEDIATE")
    try:
        cur = db.execute(
            f"UPDATE {table} SET state='sending', claimed_by=:owner, attempts=attempts+1, "
            "message_id=COALESCE(:mid, message_id), next_attempt_at=:lease"
            + (", last_attempt_at=:now" if stamp else "")
            + f" WHERE id=:id AND {due(dead, forced=True)}",
            {"owner": owner, "mid": message_id, "lease": lease_until, "now": now,
             "id": row_id, "force": 1 if force else 0, **params(dead)})
        attempts = None
        if cur.rowcount == 1:
            attempts = int(db.execute(f"SELECT attempts FROM {table} WHERE id=?",
                                      (row_id,)).fetchone()[0])
        db.execute("COMMIT")
    except BaseException:
        db.execute("ROLLBACK")
        raise
    return attempts


def mark(db: sqlite3.Connection, table: str, row_id: int, state: str, now: str, *,
         error: str | None = None, next_attempt_at: str | None = None,
         owner: str | None = None) -> bool:
    """Move a row to ``sent`` (always: a delivered message is a fact) or to ``pending`` (retry at
    ``next_attempt_at``) / ``failed`` / ``skipped`` — with ``owner``, only while that owner
    still holds the claim (a sender whose lease was taken over must not undo the new sender's
    work). Returns whether the row changed."""
    table = _table(table)
    if state not in MARKS:
        raise ValueError(f"unknown or unmarkable ledger state {state!r} (a row becomes "
                         "'sending' only through a claim)")
    if state == "sent":
        cur = db.execute(f"UPDATE {table} SET state='sent', sent_at=?, last_error=NULL "
                         "WHERE id=?", (now, row_id))
        return cur.rowcount == 1
    held = " AND state='sending' AND claimed_by=?" if owner else ""
    cur = db.execute(
        f"UPDATE {table} SET state=?, last_error=?, "
        f"next_attempt_at=COALESCE(?, next_attempt_at) WHERE id=?{held}",
        (state, (error or "")[:500] or None, next_attempt_at, row_id,
         *((owner,) if owner else ())))
    return cur.rowcount == 1
