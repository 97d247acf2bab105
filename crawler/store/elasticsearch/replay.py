"""Replay of the spool to the cluster: in spool order, acknowledged per bulk item.

A row leaves the spool only once its bulk item succeeded; 429/5xx and connection failures
keep it for the next replay, a permanent rejection parks it as a dead letter.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any, Mapping

from crawler.store.elasticsearch.client import client_errors, short_error, streaming_bulk_for
from crawler.store.elasticsearch.documents import index_action
from crawler.store.elasticsearch.spool import Spool, SpoolEntry

log = logging.getLogger("chavder.es")

_RETRYABLE = {429, 500, 502, 503, 504}


@dataclass
class ReplayReport:
    """What one replay did: ``sent`` rows acknowledged, ``retrying`` rows kept for later,
    ``dead`` rows parked, ``remaining`` rows still pending, ``error`` of the first failure."""

    sent: int = 0
    retrying: int = 0
    dead: int = 0
    remaining: int = 0
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


def _bulk_action(entry: SpoolEntry) -> dict:
    if entry.op == "delete":
        return {"_op_type": "delete", "_index": entry.target, "_id": entry.doc_id}
    return index_action(entry.target, entry.doc_id, entry.body or {})



def replay(client: Any, spool: Spool, *, batch_size: int = 500, refresh: bool = False,
           max_batches: int | None = None, require_alias: bool = True) -> ReplayReport:
    """Send pending spool rows in order; acknowledge per bulk item; stop at the first batch
    that is not fully accepted so a later row never overtakes an earlier one."""
    streaming_bulk = streaming_bulk_for(client)
    errors = client_errors()
    report = ReplayReport()
    batches = 0
    while max_batches is None or batches < max_batches:
        batch = spool.peek(batch_size)
        if not batch:
            break
        batches += 1
        # several rows for one document in a batch (peek returns them in spool order): send
        # only the newest, ack them together
        group: dict[tuple[str, str], list[SpoolEntry]] = {}
        for e in batch:
            group.setdefault((e.target, e.doc_id), []).append(e)
        to_send = [e for e in batch if group[(e.target, e.doc_id)][-1] is e]
        acked: list[SpoolEntry] = []
        retry: list[SpoolEntry] = []
        dead: list[tuple[SpoolEntry, str]] = []
        done = 0
        # "true", not "wait_for": wait_for waits out refresh_interval (5 s) on every write
        extra = {"refresh": "true"} if refresh else {}
        if require_alias:
            extra["require_alias"] = True
        try:
            for ok, item in streaming_bulk(
                    client, (_bulk_action(e) for e in to_send), chunk_size=batch_size,
                    max_chunk_bytes=50 * 1024 * 1024, raise_on_error=False,
                    raise_on_exception=False, max_retries=0, yield_ok=True, **extra):
                entry = to_send[done]
                done += 1
                info = next(iter(item.values())) if item else {}
                status = info.get("status")
                if ok or (entry.op == "delete" and status == 404) or status == 409:
                    # 409: the index already holds this or a newer revision
                    acked.extend(group[(entry.target, entry.doc_id)])
                elif _retryable(status, info):
                    retry.append(entry)
                    report.error = report.error or item_error(info)
                else:
                    dead.append((entry, item_error(info)))
        except errors as exc:
            report.error = report.error or f"{type(exc).__name__}: {short_error(exc)}"
            retry.extend(to_send[done:])
        spool.acknowledge(acked)
        report.sent += len(acked)
        if retry:
            ids = [x.id for e in retry for x in group[(e.target, e.doc_id)]]
            spool.record_failure(ids, report.error or "retry")
            report.retrying += len(ids)
        for e, err in dead:
            ids = [x.id for x in group[(e.target, e.doc_id)]]
            spool.record_failure(ids, err, dead=True)
            report.dead += len(ids)
            log.error("index write for %s/%s rejected permanently (%s); kept as a dead letter "
                      "in %s", e.target, e.doc_id, err, spool.path)
        if retry:
            break
    report.remaining = spool.size()
    return report


def _retryable(status: Any, info: Mapping[str, Any]) -> bool:
    if not isinstance(status, int):
        return True                       # no HTTP answer at all: connection-level failure
    if status in _RETRYABLE:
        return True
    err = info.get("error")
    etype = err.get("type") if isinstance(err, dict) else str(err or "")
    # a missing alias is fixed by 'chavder es setup' (run automatically before replays)
    return status == 404 and "index_not_found" in str(etype)


def item_error(info: Mapping[str, Any]) -> str:
    err = info.get("error")
    if isinstance(err, dict):
        return f"{info.get('status')} {err.get('type')}: {err.get('reason')}"[:500]
    return f"{info.get('status')} {err}"[:500]

