"""The service's periodic jobs: thin wrappers over the application's domain calls
(crawler/app.py → crawler/alerting.py, crawler/digests/) that APScheduler runs. Each job logs
and swallows what it raises — a mail bug must not stop the service — and the ledgers make
running a job again harmless."""
from __future__ import annotations

import logging
from typing import Any

log = logging.getLogger("chavder.service")


def deliver_alerts(app: Any) -> None:
    """Match the revisions not yet checked, then deliver the instant alerts that are due
    (after every crawl, and every ``alert_dispatch_seconds`` for retries)."""
    try:
        app.dispatch_alerts()
    except Exception:  # noqa: BLE001 - a mail bug must not stop the service
        log.exception("alert dispatch failed; will retry")


def deliver_digests(app: Any) -> None:
    """Open the digest periods that are due and deliver them (every ``digest_check_seconds``)."""
    try:
        app.digests.run_due()
    except Exception:  # noqa: BLE001
        log.exception("digest run failed; will retry")
