"""Delivery of alert and digest messages: one state machine over two ledgers.

``machine`` — states, claim/lease, retry policy, :func:`deliver`; ``lease`` — who owns a claim
and whether that process still lives; ``ledgers`` — the store's alert and digest tables as
ledgers. Framework-free: no Scrapy, no Twisted, no APScheduler.
"""
from crawler.delivery.ledgers import AlertLedger, DigestLedger, iso
from crawler.delivery.machine import (FAILED, PENDING, SEND_LEASE, SENDING, SENT, Clock,
                                      DeliveryError, Ledger, Outcome, RetryPolicy,
                                      dead_claimants, deliver, utc_now)

__all__ = ["AlertLedger", "DigestLedger", "iso", "FAILED", "PENDING", "SEND_LEASE", "SENDING",
           "SENT", "Clock", "DeliveryError", "Ledger", "Outcome", "RetryPolicy",
           "dead_claimants", "deliver", "utc_now"]
