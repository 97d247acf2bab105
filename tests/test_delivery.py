"""The one delivery state machine (crawler/delivery) over both real SQLite ledgers: instant
alerts and digests claim, retry, give up and take over a dead sender's claim the same way."""
from __future__ import annotations

import logging
import socket
import subprocess
import sys
from datetime import datetime, timedelta, timezone

import pytest

from crawler.delivery import (SEND_LEASE, AlertClaims, DeliveryError, DigestClaims, RetryPolicy,
                              dead_claimants, deliver, iso)
from crawler.store import SQLiteStore

log = logging.getLogger("chavder.test.delivery")


class Ledger:
    """One ledger table of a real store, with a fresh row in it."""

    def __init__(self, kind: str, store: SQLiteStore):
        self.kind, self.store = kind, store
        # a minute ahead of the real clock: a new alert row is due from the moment it is queued
        self.now = datetime.now(timezone.utc).replace(microsecond=0) + timedelta(minutes=1)
        if kind == "alerts":
            store.record_matches(1, 1, 7, [("raqqa", "desk@example.org", ["الرقة"])], [])
            self.claims = AlertClaims(store)
            self.row_id = store.alert_rows()[0]["id"]
        else:
            start, end = iso(self.now - timedelta(days=1)), iso(self.now)
            row, _ = store.open_digest("desk@example.org", "2024-03-10", start, end, ["raqqa"],
                                       end, skip_if_empty=False)
            self.claims = DigestClaims(store)
            self.row_id = row["id"]

    def row(self) -> dict:
        if self.kind == "alerts":
            return next(r for r in self.store.alert_rows() if r["id"] == self.row_id)
        return self.store.digest_by_id(self.row_id)


@pytest.fixture(params=["alerts", "digests"])
def ledger(request, tmp_path):
    store = SQLiteStore(tmp_path / "ledger.db")
    yield Ledger(request.param, store)
    store.close()


def attempt(ledger: Ledger, now: datetime, send, *, compose=lambda: "message", dead=()):
    return deliver(ledger.claims, ledger.row(), now=now, message_id="<id@chavder.test>",
                   compose=compose, send=send, policy=RetryPolicy(3, 30, 3600),
                   reclaim_from=list(dead), log=log, subject="test row")


def smtp_down(message):
    raise DeliveryError(True, "SMTP down")


def test_temporary_failures_back_off_doubling_then_fail_for_good(ledger):
    now = ledger.now
    first = attempt(ledger, now, smtp_down)
    assert (first.state, first.attempt, first.delay) == ("retrying", 1, 30)
    row = ledger.row()
    assert row["state"] == "pending" and row["next_attempt_at"] == iso(now + timedelta(seconds=30))
    assert "SMTP down" in row["last_error"]
    # not due before its retry time: a sender that comes early finds it someone else's
    assert attempt(ledger, now + timedelta(seconds=10), smtp_down).state == "busy"
    second = attempt(ledger, now + timedelta(seconds=30), smtp_down)
    assert (second.state, second.delay) == ("retrying", 60)
    third = attempt(ledger, now + timedelta(seconds=90), smtp_down)
    assert third.state == "failed" and ledger.row()["state"] == "failed"
    assert ledger.row()["attempts"] == 3


def test_a_permanent_failure_or_an_unbuildable_message_fails_at_once(ledger):
    now = ledger.now
    sent = []
    outcome = attempt(ledger, now, sent.append,
                      compose=lambda: (_ for _ in ()).throw(ValueError("no such recipient")))
    assert outcome.state == "failed" and sent == []
    assert ledger.row()["state"] == "failed"
    assert ledger.row()["last_error"] == "no such recipient"


def test_a_row_claimed_by_a_live_sender_is_left_to_it(ledger):
    now = ledger.now
    other = "another-host:4242:99"          # another host: trusted until its lease runs out
    assert ledger.claims.claim(ledger.row_id, other, now, now + SEND_LEASE, "<id@x>",
                               force=False, reclaim_from=[]) == 1
    assert dead_claimants(ledger.claims, now) == []
    composed = []
    outcome = attempt(ledger, now + timedelta(minutes=1), lambda m: None,
                      compose=lambda: composed.append(1))
    assert outcome.state == "busy" and composed == []
    assert ledger.row()["claimed_by"] == other and ledger.row()["state"] == "sending"


def test_a_dead_senders_claim_is_taken_over_at_once(ledger, caplog):
    now = ledger.now
    child = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                           capture_output=True, text=True, check=True)
    dead_owner = f"{socket.gethostname()}:{child.stdout.strip()}:1"
    ledger.claims.claim(ledger.row_id, dead_owner, now, now + SEND_LEASE, "<id@x>",
                        force=False, reclaim_from=[])
    dead = dead_claimants(ledger.claims, now + timedelta(seconds=5))
    assert dead == [dead_owner]
    sent = []
    with caplog.at_level(logging.WARNING, logger=log.name):
        outcome = attempt(ledger, now + timedelta(seconds=5), sent.append, dead=dead)
    assert outcome.state == "sent" and sent == ["message"] and outcome.attempt == 2
    assert ledger.row()["state"] == "sent" and ledger.row()["message_id"] == "<id@chavder.test>"
    assert "died while sending" in caplog.text


def test_retry_policy():
    policy = RetryPolicy(max_attempts=4, backoff_seconds=30, max_backoff_seconds=100)
    assert [policy.delay(n, True) for n in (1, 2, 3, 4)] == [30, 60, 100, None]
    assert policy.delay(1, False) is None
