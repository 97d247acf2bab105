"""The delivery state machine that instant alerts and digests share.

A ledger row (one alert, or one recipient's digest of one period) moves through::

    pending ──claim──▶ sending ──sent──▶ sent
       ▲                  │  ├─temporary failure, attempts left──▶ pending (retry at backoff)
       │                  │  └─permanent failure, or attempts spent──▶ failed (reason)
       └──requeue─────────┴── lease expired / owner dead: claimed again (same Message-ID)
    failed ──requeue(failed=True)──▶ pending, with a fresh attempt budget

* **Claim** is one compare-and-set in the store (``pending``/reclaimable ``sending`` →
  ``sending`` with an owner and a lease, attempts + 1): of any number of senders, one wins and
  the others see ``busy``. Only then is the message composed and handed to the transport.
* **Marks** after the claim apply only while the sender still holds it (a sender whose lease
  was taken over must not undo its successor's work), except ``sent``: a delivered message is a
  fact.
* **Retry** waits :func:`crawler.backoff.doubling` (``alert_retry_seconds`` doubling per attempt,
  at most an hour) while attempts remain (``alert_max_attempts``).

The one duplicate window is a crash after the server accepted and before ``sent``: the row is
taken over (at once when its owner is known dead, see :mod:`crawler.delivery.lease`) and sent
again with the same Message-ID. Framework-free: the store supplies a :class:`ClaimLedger`; the
transport raises :class:`DeliveryError`.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Callable, Generic, Protocol, TypeVar

from crawler.backoff import doubling
from crawler.delivery.lease import dead_owners, process_owner

PENDING, SENDING, SENT, FAILED = "pending", "sending", "sent", "failed"
#: How long a claimed row is reserved for its sender: longer than one delivery can take (SMTP
#: allows 30 s per step: connect, EHLO, STARTTLS, AUTH, MAIL, RCPT, DATA), so a slow send is
#: never taken over while it runs. A sender that died on this host is taken over at once
#: (crawler/delivery/lease.py); the lease only bounds the wait for one on another host.
SEND_LEASE = timedelta(minutes=10)

Clock = Callable[[], datetime]
M = TypeVar("M")


def utc_now() -> datetime:
    return datetime.now(timezone.utc).replace(microsecond=0)


class DeliveryError(Exception):
    """Delivery failed. ``temporary``: retry later with backoff; otherwise give up and report."""

    def __init__(self, temporary: bool, reason: str):
        super().__init__(temporary, reason)
        self.temporary = temporary
        self.reason = reason

    def __str__(self) -> str:
        return f"{'temporary' if self.temporary else 'permanent'} delivery failure: {self.reason}"


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how patiently a row is retried (settings ``alert_retry_seconds`` and
    ``alert_max_attempts`` for both alerts and digests)."""

    max_attempts: int = 10
    backoff_seconds: float = 30.0
    max_backoff_seconds: float = 3600.0

    def delay(self, attempt: int, temporary: bool) -> float | None:
        """Seconds until the next attempt after attempt number ``attempt`` failed, or None when
        it is failed for good (a permanent failure, or the attempts are spent)."""
        if not temporary or attempt >= max(1, self.max_attempts):
            return None
        return doubling(self.backoff_seconds, attempt, self.max_backoff_seconds)


class ClaimLedger(Protocol):
    """The delivery bookkeeping of one ledger table (alerts or digests), as the store does it."""

    def claim_owners(self, now: datetime) -> list[str]:
        """Owners holding an unexpired claim (:func:`deliver` checks which of them are dead)."""

    def claim(self, row_id: int, owner: str, now: datetime, lease_until: datetime,
              message_id: str | None, *, force: bool, reclaim_from: list[str]) -> int | None:
        """The compare-and-set to ``sending``: the attempt number, or None (someone else's)."""

    def mark(self, row_id: int, state: str, *, now: datetime, error: str | None = None,
             next_attempt_at: datetime | None = None, owner: str | None = None) -> None:
        """Move a row to ``sent`` / ``pending`` (retry at ``next_attempt_at``) / ``failed``."""


@dataclass
class Outcome(Generic[M]):
    """What one delivery attempt did: ``sent``, ``retrying``, ``failed`` or ``busy``."""

    state: str
    attempt: int = 0
    error: str | None = None
    delay: float | None = None       # retrying: seconds until the next attempt
    message: M | None = None


def dead_claimants(ledger: ClaimLedger, now: datetime) -> list[str]:
    """Owners of live-looking claims that are certainly dead: their rows may be taken now."""
    return dead_owners(ledger.claim_owners(now))


def deliver(ledger: ClaimLedger, row: dict, *, now: datetime, message_id: str | None,
            compose: Callable[[], M], send: Callable[[M], None], policy: RetryPolicy,
            reclaim_from: list[str], log: logging.Logger, subject: str,
            give_up_hint: Callable[[int], str] = lambda attempt: "",
            force: bool = False) -> Outcome[M]:
    """Claim ``row``, compose its message, send it, and record the result — the one place where
    a delivery changes state.

    ``compose`` runs only after the claim (of several senders, only the winner works) and may
    raise ``ValueError`` (the row then fails for good); ``send`` raises :class:`DeliveryError`.
    ``subject`` names the row in log lines (``alert R → X``, ``digest D → X``); ``force``
    ignores a pending row's retry time (``chavder digest send --now``)."""
    owner = process_owner()
    attempt = ledger.claim(row["id"], owner, now, now + SEND_LEASE, message_id, force=force,
                           reclaim_from=reclaim_from)
    if attempt is None:
        return Outcome("busy")
    if row.get("state") == SENDING and row.get("claimed_by") in reclaim_from:
        log.warning("%s: its sender %s died while sending; sending it again (same Message-ID)",
                    subject, row["claimed_by"])
    try:
        message = compose()
    except ValueError as exc:
        ledger.mark(row["id"], FAILED, now=now, error=str(exc), owner=owner)
        log.error("%s not sent: %s", subject, exc)
        return Outcome(FAILED, attempt, str(exc))
    try:
        send(message)
    except DeliveryError as exc:
        delay = policy.delay(attempt, exc.temporary)
        if delay is not None:
            ledger.mark(row["id"], PENDING, now=now, error=str(exc), owner=owner,
                        next_attempt_at=now + timedelta(seconds=delay))
            log.warning("%s: %s; retry in %.0f s", subject, exc, delay)
            return Outcome("retrying", attempt, str(exc), delay, message)
        ledger.mark(row["id"], FAILED, now=now, error=str(exc), owner=owner)
        log.error("%s failed for good: %s%s", subject, exc, give_up_hint(attempt))
        return Outcome(FAILED, attempt, str(exc), None, message)
    ledger.mark(row["id"], SENT, now=now)
    return Outcome(SENT, attempt, message=message)
