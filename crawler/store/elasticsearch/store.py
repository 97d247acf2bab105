"""``ElasticsearchStore``: search and dashboards over a shared index, crawl state stays local.

Design (see ``deploy/elasticsearch/README.md``):

* **Sidecar.** Everything that is not search — URL/alias lookups before requests, HTTP
  validators, the dedup tables, the alert ledger, crawl runs, the service schedule — lives in a
  local :class:`~crawler.store.sqlite.SQLiteStore` (the *sidecar*), through its role methods
  (:mod:`crawler.store.elasticsearch.sidecar`). Articles are written to the
  sidecar first: it assigns article ids, story ids and revisions exactly as the SQLite backend
  does, so dedup and alert matching work unchanged and never wait for the network.
* **Spool.** Every changed article (and every alert-ledger change) is then appended to a
  durable local spool (:mod:`crawler.store.elasticsearch.spool`). A background thread replays the spool to
  Elasticsearch with ``streaming_bulk`` in spool order, with a short client timeout; a row is
  deleted only after its bulk item succeeded. When Elasticsearch is down, slow or answers
  429/5xx, rows simply wait — crawling never blocks on the index and nothing is lost.
* **Ids.** A document's id is ``sha1(url_key)`` of its canonical URL key, so replays, re-crawls
  and ``chavder es reindex`` overwrite instead of duplicating.
* **Search** runs on the ``*_norm`` fields, which hold the project's own analysis
  (:func:`crawler.text.index_terms`: the normalised form of every token plus its
  clitic-stripped keys) under Elasticsearch's ``whitespace`` analyzer — the same matching
  contract as the SQLite FTS index (الرقة finds والرقة, never برقة). One row per story comes
  from ``collapse`` on ``story_id``; ``also_reported_by`` from a second, aggregation-only query.
  If Elasticsearch cannot answer, search falls back to the sidecar's own FTS index.

Template, documents, queries, spool and replay are the same for Elasticsearch and OpenSearch —
the two APIs agree on everything used here (composable templates, aliases, bulk with
``require_alias`` and external versions, ``collapse``, aggregations); only the client differs
(:mod:`crawler.store.elasticsearch.client`).
"""
from __future__ import annotations

import logging
import threading
import time
from datetime import datetime
from pathlib import Path
from typing import Any, Callable, Iterable, TypeVar

from crawler.defaults import REVISION_TEXT_KEEP
from crawler.models import Article
from crawler.store.base import SearchHit, SearchQuery, UpsertResult
from crawler.store.elasticsearch.attention import (activity_body, activity_counts,
                                                   attention_body, attention_buckets)
from crawler.store.elasticsearch.client import client_errors, json_body, make_client, short_error
from crawler.store.elasticsearch.config import EsConfig
from crawler.store.elasticsearch.documents import (alert_doc_id, alert_document,
                                                   article_document, doc_id)
from crawler.store.elasticsearch.mapping import SetupError, setup_indices
from crawler.store.elasticsearch.queries import (build_search, build_total, search_hits,
                                                 story_outlets, story_sources_query, total_of)
from crawler.store.elasticsearch.replay import ReplayReport, replay
from crawler.store.elasticsearch.sidecar import SidecarRoles
from crawler.store.roles import AttentionBucket, SpooledIndex, Store
from crawler.store.elasticsearch.spool import Spool
from crawler.store.sqlite import SQLiteStore

T = TypeVar("T")

log = logging.getLogger("chavder.es")


class ElasticsearchStore(SidecarRoles, Store, SpooledIndex):
    """``Store`` whose search index is Elasticsearch; crawl state in a local SQLite sidecar.

    Articles and alert-ledger changes go to the sidecar first, then through the spool to the
    cluster; search asks the cluster. Every other role is the sidecar's (``SidecarRoles``).
    """

    def __init__(self, es: EsConfig, *, sidecar: SQLiteStore | None = None,
                 spool: Spool | str | Path | None = None, client: Any = None,
                 search_client: Any = None, background: bool = True):
        self.config = cfg = es
        self.sidecar = sidecar if sidecar is not None else SQLiteStore(cfg.sidecar)
        if isinstance(spool, Spool):
            self.spool = spool
        else:
            self.spool = Spool(spool if spool is not None else cfg.spool)
        self.client = client if client is not None else make_client(cfg)
        self.search_client = search_client if search_client is not None else (
            make_client(cfg, timeout=cfg.search_timeout, retries=1) if client is None
            else self.client)
        self.last_search_backend = cfg.engine
        self.last_replay = ReplayReport()
        self.min_backoff, self.max_backoff = 1.0, 60.0
        self._setup_done = not cfg.auto_setup
        self._flush_lock = threading.Lock()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        if background and not cfg.sync:
            self._thread = threading.Thread(target=self._run_flusher, name="chavder-es-flush",
                                            daemon=True)
            self._thread.start()

    def __repr__(self) -> str:
        return f"ElasticsearchStore({self.config!r}, sidecar={self.sidecar.path})"

    # ------------------------------------------------------------------ ArticleWriter
    def upsert(self, article: Article, url_key: str, aliases: Iterable[str] = (),
               index_updated_at: str | None = None, *, story_id: int | None = None,
               fingerprint: str | None = None, signature: bytes | None = None,
               published_ts: float | None = None) -> UpsertResult:
        result = self.sidecar.upsert(article, url_key, aliases, index_updated_at,
                                     story_id=story_id, fingerprint=fingerprint,
                                     signature=signature, published_ts=published_ts)
        if result.kind != "unchanged":
            row = self.sidecar.article_row_by_id(result.article_id)
            if row is not None:
                # inside a story transaction, only once the sidecar committed the row
                self.sidecar.after_commit(lambda: self._index_later(row))
        return result

    def _index_later(self, row: dict) -> None:
        self.spool.enqueue(doc_id(row["url_key"]), self.config.alias, article_document(row))
        self._after_enqueue()

    # ------------------------------------------------------------------ AlertLedger (writes)
    # The ledger lives in the sidecar, so its claims are the SQLite ones (one compare-and-set
    # per delivery, across processes); every change is mirrored to the alerts index.
    def record_matches(self, article_id: int, revision: int, story_id: int,
                       instant: Iterable[tuple[str, str, list[str]]],
                       digest: Iterable[tuple[str, str, list[str]]]) -> int:
        queued = self.sidecar.record_matches(article_id, revision, story_id, instant, digest)
        if queued:
            self._mirror_alerts(article_id=article_id, story_id=story_id)
        return queued

    def claim_alert(self, alert_id: int, owner: str, now: str, lease_until: str,
                    message_id: str | None = None, reclaim_from: Iterable[str] = ()
                    ) -> int | None:
        attempt = self.sidecar.claim_alert(alert_id, owner, now, lease_until, message_id,
                                           reclaim_from)
        if attempt is not None:
            self._mirror_alerts(alert_id=alert_id)
        return attempt

    def mark_alert(self, alert_id: int, state: str, *, error: str | None = None,
                   next_attempt_at: str | None = None, owner: str | None = None) -> bool:
        changed = self.sidecar.mark_alert(alert_id, state, error=error,
                                          next_attempt_at=next_attempt_at, owner=owner)
        if changed:
            self._mirror_alerts(alert_id=alert_id)
        return changed

    def requeue_alerts(self, now: str, *, failed: bool = False) -> dict[str, int]:
        counts = self.sidecar.requeue_alerts(now, failed=failed)
        if any(counts.values()):
            self._mirror_alerts(pending_at=now)
        return counts

    def _mirror_alerts(self, **select: Any) -> None:
        """Copy ledger rows to the alerts index (through the spool, never blocking)."""
        rows = self.sidecar.alert_rows_with_article(**select)
        if rows:
            self.spool.enqueue_many([(alert_doc_id(r), self.config.alerts_alias,
                                      alert_document(r), "index") for r in rows])
            self._after_enqueue()

    # ------------------------------------------------------------------ Search
    def _answer(self, what: str, body: dict, parse: Callable[[dict], T],
                fallback: Callable[[], T]) -> T:
        """One read of the cluster, parsed; the sidecar's answer (same contract, possibly newer
        than the index while the spool drains) when the cluster cannot give it."""
        try:
            resp = self.search_client.search(index=self.config.alias, body=body)
            return parse(json_body(resp))
        except client_errors() as exc:
            log.warning("Elasticsearch %s failed (%s); answering from the local store", what,
                        short_error(exc))
            self.last_search_backend = "sqlite-fallback"
            return fallback()

    def search(self, query: SearchQuery) -> list[SearchHit]:
        """Search Elasticsearch; if it cannot answer, the sidecar's FTS index."""
        body = build_search(query)
        if body is None:
            return []

        def parse(data: dict) -> list[SearchHit]:
            hits = data["hits"]["hits"]
            others = self._also_reported_by(hits) if not query.all_copies else {}
            self.last_search_backend = self.config.engine
            return search_hits(hits, query, others)
        return self._answer("search", body, parse, lambda: self.sidecar.search(query))

    def search_total(self, query: SearchQuery) -> int:
        """Stories matching ``query`` (a cardinality count, exact up to 40,000 stories)."""
        body = build_total(query)
        if body is None:
            return 0
        return self._answer("count", body, lambda data: total_of(data, query),
                            lambda: self.sidecar.search_total(query))

    # ------------------------------------------------------------------ Attention
    def attention(self, query: SearchQuery, *, interval: str = "day",
                  split: str | None = None) -> list[AttentionBucket]:
        """Stories per day/hour from the cluster's aggregations."""
        body = attention_body(query, interval, split)
        if body is None:
            return []
        return self._answer("attention", body, lambda data: attention_buckets(data, split),
                            lambda: self.sidecar.attention(query, interval=interval, split=split))

    def source_activity(self, days: int, now: datetime) -> dict[str, list[int]]:
        body, dates = activity_body(days, now)
        return self._answer("activity", body, lambda data: activity_counts(data, dates),
                            lambda: self.sidecar.source_activity(days, now))

    def _also_reported_by(self, hits: list[dict]) -> dict[int, list[str]]:
        ids = sorted({int(h["_source"]["story_id"]) for h in hits})
        if not ids:
            return {}
        resp = self.search_client.search(index=self.config.alias, body=story_sources_query(ids))
        return story_outlets(json_body(resp))

    # ------------------------------------------------------------------ indexing
    def spool_size(self) -> int:
        """Index operations waiting for Elasticsearch (for status and /metrics)."""
        return self.spool.size()

    def flush(self, *, max_batches: int | None = None, refresh: bool | None = None
              ) -> ReplayReport:
        """Replay the spool now (the background thread does this on its own)."""
        with self._flush_lock, self.spool.replay_lock() as mine:
            if not mine:
                self.last_replay = ReplayReport(remaining=self.spool.size())
                return self.last_replay
            if not self._setup_done:
                try:
                    for line in setup_indices(self.client, self.config.alias,
                                              self.config.alerts_alias):
                        log.debug("es setup: %s", line)
                    self._setup_done = True
                except SetupError:
                    raise
                except Exception as exc:  # noqa: BLE001 - down: rows stay spooled
                    self.last_replay = ReplayReport(remaining=self.spool.size(),
                                                    error=f"setup: {short_error(exc)}")
                    return self.last_replay
            report = replay(self.client, self.spool, batch_size=self.config.batch_size,
                            refresh=self.config.sync if refresh is None else refresh,
                            max_batches=max_batches)
            if report.error and "index_not_found" in report.error and self.config.auto_setup:
                self._setup_done = False
            self.last_replay = report
            return report

    def _after_enqueue(self) -> None:
        if self.config.sync:
            report = self.flush()
            if not report.ok:
                log.warning("index write spooled (%s); %d waiting", report.error,
                            report.remaining)
        else:
            self._wake.set()

    def _run_flusher(self) -> None:
        """Background replay: on new rows or every ``flush_interval``; exponential back-off
        (1 s → 60 s) while Elasticsearch fails, logged once per outage."""
        backoff = 0.0
        outage_logged = False
        while not self._stop.is_set():
            if backoff:
                self._stop.wait(backoff)      # new rows must not defeat the back-off
            else:
                self._wake.wait(self.config.flush_interval)
            self._wake.clear()
            if self._stop.is_set():
                break
            if self.spool.size() == 0:
                continue
            try:
                report = self.flush()
            except SetupError as exc:
                log.error("%s", exc)
                report = ReplayReport(error=str(exc))
            except Exception as exc:  # noqa: BLE001 - the thread must survive anything
                log.exception("index replay failed unexpectedly")
                report = ReplayReport(error=short_error(exc))
            if report.ok:
                if outage_logged:
                    log.info("Elasticsearch reachable again; spool drained")
                backoff, outage_logged = 0.0, False
            else:
                if not outage_logged:
                    log.warning("Elasticsearch unavailable (%s): %d index write(s) kept in %s "
                                "and replayed when it is back", report.error, report.remaining,
                                self.spool.path)
                    outage_logged = True
                backoff = min(self.max_backoff, max(self.min_backoff, backoff * 2))

    def close(self, timeout: float = 10.0) -> None:
        """Stop the flusher, try one last bounded replay, close everything. Rows that could
        not be sent stay in the spool and are replayed by the next start."""
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)
        try:
            if self.spool.size():
                deadline = time.monotonic() + timeout
                while self.spool.size() and time.monotonic() < deadline:
                    if not self.flush(max_batches=1).ok:
                        break
        except Exception as exc:  # noqa: BLE001 - closing must not fail on the index
            log.warning("final index replay failed: %s", short_error(exc))
        left = self.spool.size()
        if left:
            log.warning("%d index write(s) left in %s; they are replayed on the next start",
                        left, self.spool.path)
        self.spool.close()
        self.sidecar.close()
        for c in {id(self.client): self.client, id(self.search_client): self.search_client
                  }.values():
            try:
                c.close()
            except Exception:  # noqa: BLE001
                pass

    # ------------------------------------------------------------------ status
    def status(self) -> dict:
        """Reachability, index size and spool state (for ``chavder es status``)."""
        out: dict[str, Any] = {"engine": self.config.engine, "url": self.config.safe_url,
                               "alias": self.config.alias,
                               "spool_pending": self.spool.size(),
                               "spool_oldest": self.spool.oldest_pending(),
                               "spool_dead": self.spool.dead_count(),
                               "sidecar_articles": self.sidecar.count_articles()}
        try:
            info = json_body(self.client.info())
            out["reachable"] = True
            out["version"] = info.get("version", {}).get("number")
            out["distribution"] = info.get("version", {}).get("distribution", "elasticsearch")
            out["cluster"] = info.get("cluster_name")
            out["indexed_articles"] = int(json_body(self.client.count(index=self.config.alias))
                                          ["count"])
        except Exception as exc:  # noqa: BLE001
            out["reachable"] = False
            out["error"] = short_error(exc)
        return out


def open_elasticsearch_store(url: str, data_dir: str | Path = "data", *, write: bool = True,
                             revision_text_keep: int = REVISION_TEXT_KEEP
                             ) -> ElasticsearchStore:
    """``open_store`` entry point for Elasticsearch URLs."""
    cfg = EsConfig.from_url(url, data_dir)
    return ElasticsearchStore(cfg, sidecar=SQLiteStore(cfg.sidecar, write=write,
                                                       revision_text_keep=revision_text_keep))
