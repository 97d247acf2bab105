"""``chavder alerts retry`` and the failed-alert lines of ``chavder status``.

A failure is "permanent" when a retry cannot help without a human (a refused recipient, a wrong
password, a rule removed from alerts.yaml) or when the retry budget ran out. Once the human has
acted — fixed the outbox permissions, the password, the relay — ``alerts retry --failed`` puts
those alerts back in the queue with a fresh budget and delivers them; without ``--failed`` it
only makes the alerts waiting for their next retry due now (after an outage was fixed).
Delivery goes through the ledger's claims, so this is safe while the service runs.
"""
from __future__ import annotations

import argparse
from typing import Any, Callable

#: ``status`` lists at most this many failed alerts (the count says how many there are).
STATUS_FAILED = 10


def cmd_alerts_retry(args: argparse.Namespace) -> int:
    from crawler.cli_common import open_alerting, open_configured_store, settings_from_args
    settings = settings_from_args(args)
    store = open_configured_store(settings)
    try:
        alerting = open_alerting(settings, store)
        if alerting is None:
            return 2
        requeued, report = alerting.retry(failed=args.failed)
        counts = store.alert_counts()
    finally:
        store.close()
    print(f"re-queued: {requeued.get('failed', 0)} failed, {requeued.get('pending', 0)} "
          f"waiting to retry; alerts: {report.sent} sent, {report.retrying} waiting to retry, "
          f"{report.failed} failed; ledger: "
          + (", ".join(f"{k}={v}" for k, v in sorted(counts.items())) or "empty"))
    if not args.failed and counts.get("failed"):
        print(f"{counts['failed']} alert(s) failed for good: 'chavder alerts retry --failed' "
              "queues them again (see 'chavder status' for the reasons)")
    return 0


def register(asub: Any, common: Callable[[argparse.ArgumentParser], None]) -> None:
    q = asub.add_parser("retry", help="send alerts waiting to retry now; --failed: also "
                        "re-queue those that failed (after fixing the cause)")
    common(q)
    q.add_argument("--failed", action="store_true",
                   help="re-queue failed alerts too, with a fresh retry budget")
    q.set_defaults(func=cmd_alerts_retry)


def failed_alerts(store: Any, limit: int = STATUS_FAILED) -> list[dict]:
    """The newest failed alerts with their reason (empty for a store without the method)."""
    rows = getattr(store, "failed_alerts", None)
    return rows(limit) if rows is not None else []


def failed_alert_lines(rows: list[dict], total: int) -> list[str]:
    """``status`` text: one line per failed alert, and what to do about them."""
    if not total:
        return []
    lines = [f"failed alerts: {total} (newest first; 'chavder alerts retry --failed' "
             "queues them again)"]
    for row in rows:
        when = (row.get("failed_at") or "-")[:19].replace("T", " ")
        title = " ".join(str(row.get("title") or "").split())[:50]
        reason = " ".join(str(row.get("last_error") or "no reason recorded").split())[:160]
        lines.append(f"  #{row['id']} {when} {row['rule']} → {row['recipient']} "
                     f"(story {row['story_id']}, {row['attempts']} attempt"
                     f"{'' if row['attempts'] == 1 else 's'}) {title!r}: {reason}")
    if total > len(rows):
        lines.append(f"  … and {total - len(rows)} more")
    return lines

