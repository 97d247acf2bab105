"""``chavder es reindex --from sqlite``: backfill the indices from an embedded SQLite file."""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator

from crawler.store.elasticsearch.client import streaming_bulk_for
from crawler.store.elasticsearch.config import EsConfig
from crawler.store.elasticsearch.documents import (alert_doc_id, alert_document, article_document,
                                                   doc_id, index_action)
from crawler.store.elasticsearch.replay import item_error
from crawler.store.sqlite.export import StoreFileReader


@dataclass
class ReindexReport:
    """What a reindex sent: articles and alert rows indexed, items refused, time taken."""

    articles: int = 0
    alerts: int = 0
    failed: int = 0
    seconds: float = 0.0
    errors: list[str] = field(default_factory=list)


def reindex_from_sqlite(client: Any, sqlite_path: str | Path, cfg: EsConfig, *,
                        batch_size: int = 500,
                        progress: Callable[[int, int], None] | None = None) -> ReindexReport:
    """Backfill the index (and the alerts index) from an embedded SQLite store.

    Reads the file read-only, page by page; ids are deterministic, so running it twice or on
    top of live indexing leaves one document per article."""
    streaming_bulk = streaming_bulk_for(client)
    started = time.monotonic()
    report = ReindexReport()
    source = StoreFileReader(sqlite_path)
    try:
        total = source.count_articles()
        if progress:
            progress(0, total)

        def actions() -> Iterator[dict]:
            for rows in source.article_pages(batch_size):
                for row in rows:
                    yield index_action(cfg.alias, doc_id(row["url_key"]), article_document(row))

        for ok, item in streaming_bulk(client, actions(), chunk_size=batch_size,
                                       raise_on_error=False, max_retries=5, initial_backoff=1,
                                       max_backoff=30, require_alias=True):
            if ok or next(iter(item.values())).get("status") == 409:   # 409: newer already there
                report.articles += 1
            else:
                report.failed += 1
                if len(report.errors) < 5:
                    report.errors.append(item_error(next(iter(item.values()))))
            done = report.articles + report.failed
            if progress and (done % batch_size == 0 or done == total):
                progress(done, total)
        if source.has_alert_ledger():
            def alert_actions() -> Iterator[dict]:
                for rows in source.alert_pages(batch_size):
                    for row in rows:
                        yield {"_op_type": "index", "_index": cfg.alerts_alias,
                               "_id": alert_doc_id(row), "_source": alert_document(row)}
            for ok, item in streaming_bulk(client, alert_actions(), chunk_size=batch_size,
                                           raise_on_error=False, max_retries=5, initial_backoff=1,
                                           max_backoff=30, require_alias=True):
                if ok:
                    report.alerts += 1
                else:
                    report.failed += 1
    finally:
        source.close()
    client.indices.refresh(index=cfg.alias)
    report.seconds = time.monotonic() - started
    return report
