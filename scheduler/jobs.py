"""The service's periodic jobs: thin wrappers over the domain (crawler/alerting.py,
crawler/digests/) that APScheduler runs. Each job logs and swallows what it raises — a mail
bug must not stop the service — and the ledgers make running a job again harmless."""
from __future__ import annotations

import logging
from typing import Any

log = logging.getLogger("chavder.service")


def deliver_alerts(alerting: Any) -> None:
    """Match the revisions not yet checked, then deliver the instant alerts that are due
    (after every crawl, and every ``alert_dispatch_seconds`` for retries)."""
    try:
        alerting.check_pending()
        alerting.dispatch_due()
    except Exception:  # noqa: BLE001 - a mail bug must not stop the service
        log.exception("alert dispatch failed; will retry")


def deliver_digests(digests: Any) -> None:
    """Open the digest periods that are due and deliver them (every ``digest_check_seconds``)."""
    try:
        digests.run_due()
    except Exception:  # noqa: BLE001
        log.exception("digest run failed; will retry")
