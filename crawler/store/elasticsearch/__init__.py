"""Elasticsearch/OpenSearch backend: search and dashboards over a shared index, crawl state
stays in a local SQLite sidecar (design: ``store``; ``deploy/elasticsearch/README.md``).

Modules, one job each: ``config`` (the store URL, secrets, TLS, engine), ``client`` (either
engine's client), ``mapping`` (index templates and their installation), ``documents`` (rows →
documents and bulk actions), ``spool`` (the durable local queue of index writes), ``replay``
(spool → cluster), ``queries`` (search bodies and hits), ``reindex`` (backfill from SQLite),
``sidecar`` (the roles the sidecar answers) and ``store`` (``ElasticsearchStore`` itself).
"""
from crawler.store.elasticsearch.client import client_errors, json_body, make_client
from crawler.store.elasticsearch.config import (DEFAULT_ALERTS_ALIAS, DEFAULT_ALIAS, ES_SCHEMES,
                                                EsConfig, is_elasticsearch_url)
from crawler.store.elasticsearch.documents import (alert_doc_id, alert_document,
                                                   article_document, doc_id)
from crawler.store.elasticsearch.mapping import (SetupError, alerts_template, index_template,
                                                 setup_indices)
from crawler.store.elasticsearch.queries import build_search, match_clause
from crawler.store.elasticsearch.reindex import ReindexReport, reindex_from_sqlite
from crawler.store.elasticsearch.replay import ReplayReport, replay
from crawler.store.elasticsearch.store import ElasticsearchStore, open_elasticsearch_store

__all__ = ["EsConfig", "ElasticsearchStore", "ReplayReport", "ReindexReport", "SetupError",
           "doc_id", "alert_doc_id", "article_document", "alert_document", "index_template",
           "alerts_template", "make_client", "client_errors", "json_body", "setup_indices",
           "replay", "build_search", "match_clause", "reindex_from_sqlite",
           "is_elasticsearch_url", "open_elasticsearch_store", "ES_SCHEMES", "DEFAULT_ALIAS",
           "DEFAULT_ALERTS_ALIAS"]
