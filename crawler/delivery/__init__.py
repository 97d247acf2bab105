"""Delivery of alert and digest messages: one state machine over two ledgers.

``machine`` — states, claim/lease, retry policy, :func:`deliver`; ``lease`` — who owns a claim
and whether that process still lives; ``ledgers`` — the store's alert and digest tables as the
machine's :class:`ClaimLedger`. Framework-free: no Scrapy, no Twisted, no APScheduler.
"""
from crawler.delivery.ledgers import AlertClaims, DigestClaims, iso
from crawler.delivery.machine import (FAILED, PENDING, SEND_LEASE, SENDING, SENT, ClaimLedger,
                                      Clock, DeliveryError, Outcome, RetryPolicy,
                                      dead_claimants, deliver, utc_now)

__all__ = ["AlertClaims", "DigestClaims", "iso", "FAILED", "PENDING", "SEND_LEASE", "SENDING",
           "SENT", "ClaimLedger", "Clock", "DeliveryError", "Outcome", "RetryPolicy",
           "dead_claimants", "deliver", "utc_now"]
