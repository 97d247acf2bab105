"""The store's two delivery ledgers, as the :class:`crawler.delivery.machine.ClaimLedger` the
state machine drives.

Alerts and digests keep separate tables because their keys differ — an alert is one per
(rule, story, recipient), a digest one per (recipient, period) and owns the stories it carries
— but both move through the same states by the same claim and mark (``crawler/store/claims.py``
holds the SQL once). These adapters only name the store methods and write times as ISO text.
"""
from __future__ import annotations

from datetime import datetime, timezone
from typing import Any


def iso(dt: datetime) -> str:
    """A ledger timestamp: UTC, whole seconds, ISO 8601 (they compare as text)."""
    return dt.astimezone(timezone.utc).replace(microsecond=0).isoformat()


def _iso_or_none(dt: datetime | None) -> str | None:
    return iso(dt) if dt is not None else None


class AlertClaims:
    """``alert_ledger``: one row per (rule, story, recipient)."""

    def __init__(self, store: Any):
        self.store = store

    def claim_owners(self, now: datetime) -> list[str]:
        return self.store.alert_claim_owners(iso(now))

    def claim(self, row_id: int, owner: str, now: datetime, lease_until: datetime,
              message_id: str | None, *, force: bool = False,
              reclaim_from: list[str]) -> int | None:
        return self.store.claim_alert(row_id, owner, iso(now), iso(lease_until), message_id,
                                      reclaim_from=reclaim_from)

    def mark(self, row_id: int, state: str, *, now: datetime, error: str | None = None,
             next_attempt_at: datetime | None = None, owner: str | None = None) -> None:
        self.store.mark_alert(row_id, state, error=error, owner=owner,
                              next_attempt_at=_iso_or_none(next_attempt_at))


class DigestClaims:
    """``digests``: one row per (recipient, period); a failed digest releases its stories."""

    def __init__(self, store: Any):
        self.store = store

    def claim_owners(self, now: datetime) -> list[str]:
        return self.store.digest_claim_owners(iso(now))

    def claim(self, row_id: int, owner: str, now: datetime, lease_until: datetime,
              message_id: str | None, *, force: bool = False,
              reclaim_from: list[str]) -> int | None:
        return self.store.claim_digest_delivery(row_id, iso(now), iso(lease_until),
                                                message_id or "", force=force, owner=owner,
                                                reclaim_from=reclaim_from)

    def mark(self, row_id: int, state: str, *, now: datetime, error: str | None = None,
             next_attempt_at: datetime | None = None, owner: str | None = None) -> None:
        self.store.mark_digest(row_id, state, now=iso(now), error=error, owner=owner,
                               next_attempt_at=_iso_or_none(next_attempt_at))
