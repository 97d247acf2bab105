"""Elasticsearch backend: search and dashboards over a shared index, crawl state stays local.

Design (see ``deploy/elasticsearch/README.md``):

* **Sidecar.** Everything that is not search — URL/alias lookups before requests, HTTP
  validators, the dedup tables, the alert ledger, crawl runs, the service schedule — lives in a
  local :class:`~crawler.store.sqlite.SQLiteStore` (the *sidecar*). Articles are written to the
  sidecar first: it assigns article ids, story ids and revisions exactly as the SQLite backend
  does, so dedup and alert matching work unchanged and never wait for the network.
* **Spool.** Every changed article (and every alert-ledger change) is then appended to a
  durable local spool (:mod:`crawler.store.spool`). A background thread replays the spool to
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

Engines and clients. ``elasticsearch://``/``https://`` URLs use the official ``elasticsearch``
package (9.x). It announces ``compatible-with=9``, which Elasticsearch 8 rejects; requests are
pinned to ``compatible-with=8`` (accepted by 8.x and 9.x servers) unless ``compat=9`` is
configured. That client refuses OpenSearch (it checks the ``X-Elastic-Product`` header), so
``opensearch://`` URLs (or ``engine=opensearch``) use ``opensearch-py`` instead; template,
documents, queries, spool and replay are the same for both — the two APIs agree on everything
used here (composable templates, aliases, bulk with ``require_alias`` and external versions,
``collapse``, aggregations).
"""
from __future__ import annotations

import hashlib
import json
import logging
import os
import sqlite3
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator, Mapping
from urllib.parse import parse_qsl, unquote, urlsplit

from crawler.models import Article
from crawler.store.base import KnownArticle, SearchHit, SearchQuery, UpsertResult, utc_now_iso
from crawler.store.spool import Spool, SpoolEntry
from crawler.store.sqlite import SQLiteStore, _PHRASE, _iso_utc, make_snippet
from crawler.text import index_terms, normalize, query_terms

log = logging.getLogger("chavder.es")

__all__ = ["EsConfig", "ElasticsearchStore", "ReplayReport", "SetupError", "doc_id",
           "article_document", "alert_document", "index_template", "alerts_template",
           "make_client", "setup_indices", "replay", "build_search", "reindex_from_sqlite",
           "is_elasticsearch_url", "open_elasticsearch_store", "ES_SCHEMES"]

#: URL schemes that select this backend (``elasticsearch://``, ``es://`` and ``opensearch://``
#: mean HTTPS; ``+http`` / ``+https`` say it explicitly).
ES_SCHEMES = ("http", "https", "elasticsearch", "elasticsearch+http", "elasticsearch+https",
              "es", "es+http", "es+https", "opensearch", "opensearch+http", "opensearch+https")
ENGINES = ("elasticsearch", "opensearch")
DEFAULT_ALIAS = "chavder-articles"
DEFAULT_ALERTS_ALIAS = "chavder-alerts"
TEMPLATE_VERSION = 1
_RETRYABLE = {429, 500, 502, 503, 504}
_SECRET_PARAMS = {"password", "api_key", "apikey", "token"}


class SetupError(RuntimeError):
    """The index, alias or template is not in a state Chavder can use; says how to fix it."""


# ---------------------------------------------------------------------- configuration

def is_elasticsearch_url(url: str) -> bool:
    return urlsplit(url).scheme.lower() in ES_SCHEMES


@dataclass
class EsConfig:
    """Where and how to reach Elasticsearch; built from the ``store:`` URL and the environment.

    Secrets come from ``CHAVDER_ES_API_KEY`` / ``CHAVDER_ES_PASSWORD`` or files
    (``api_key_file=`` / ``password_file=`` URL parameters, ``CHAVDER_ES_API_KEY_FILE`` /
    ``CHAVDER_ES_PASSWORD_FILE``); they are excluded from ``repr`` and never logged.
    """

    hosts: list[str]
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    api_key: str | None = field(default=None, repr=False)
    alias: str = DEFAULT_ALIAS
    alerts_alias: str = DEFAULT_ALERTS_ALIAS
    sidecar: str = "data/chavder.db"
    spool: str = "data/es-spool.db"
    ca_certs: str | None = None
    verify_certs: bool = True
    write_timeout: float = 5.0         # bulk replay: short, a slow cluster must not hold us
    search_timeout: float = 30.0
    compat: int = 8                    # REST compatibility announced to the server
    batch_size: int = 500
    flush_interval: float = 2.0
    sync: bool = False                 # flush + refresh on every write (tests, tiny setups)
    auto_setup: bool = True            # install template/index/alias on first contact
    engine: str = "elasticsearch"      # or "opensearch": which client library speaks to it

    @property
    def safe_url(self) -> str:
        """The hosts with the user name but never a secret: for logs and status output."""
        user = f"{self.username}@" if self.username else ""
        return ", ".join(h.replace("://", f"://{user}", 1) for h in self.hosts)

    def __repr__(self) -> str:  # dataclass repr already hides secrets; keep it short
        auth = "api_key=***" if self.api_key else ("password=***" if self.password else "no auth")
        return f"EsConfig({self.engine} {self.safe_url}, alias={self.alias!r}, {auth})"

    @classmethod
    def from_url(cls, url: str, data_dir: str | Path = "data",
                 env: Mapping[str, str] | None = None) -> "EsConfig":
        """Parse ``https://user@host:9200``, ``elasticsearch+https://h1:9200,h2:9200/?k=v``…

        Query parameters: ``alias``, ``alerts_alias``, ``sidecar``, ``spool``, ``ca_certs``,
        ``verify_certs``, ``api_key_file``, ``password_file``, ``timeout`` (write),
        ``search_timeout``, ``compat``, ``batch_size``, ``flush_interval``, ``sync``,
        ``auto_setup``, ``engine`` (``elasticsearch`` or ``opensearch``; an ``opensearch…``
        scheme sets it too). A path (``https://host:9200/my-alias``) also names the alias.
        """
        env = os.environ if env is None else env
        parts = urlsplit(url)
        scheme = parts.scheme.lower()
        if scheme not in ES_SCHEMES:
            raise ValueError(f"not an Elasticsearch URL (scheme {scheme!r}); use "
                             "https://user@host:9200 or elasticsearch+https://host:9200")
        http_scheme = "http" if scheme in ("http", "elasticsearch+http", "es+http",
                                           "opensearch+http") else "https"
        netloc = parts.netloc
        userinfo, _, hostpart = netloc.rpartition("@")
        username = password = None
        if userinfo:
            user, sep, pw = userinfo.partition(":")
            username = unquote(user) or None
            if sep:
                password = unquote(pw)
                log.warning("the store URL contains a password: put it in CHAVDER_ES_PASSWORD "
                            "or a password_file instead (URLs end up in shell history and logs)")
        hosts = [h.strip() for h in hostpart.split(",") if h.strip()]
        if not hosts:
            raise ValueError("Elasticsearch URL has no host — e.g. https://elastic@localhost:9200")
        hosts = [f"{http_scheme}://{h}" if ":" in h.rsplit("]", 1)[-1]
                 else f"{http_scheme}://{h}:9200" for h in hosts]
        params = dict(parse_qsl(parts.query, keep_blank_values=True))
        inline = _SECRET_PARAMS & {k.lower() for k in params}
        if inline:
            raise ValueError(f"store URL parameter(s) {sorted(inline)} would put a secret in the "
                             "URL — use CHAVDER_ES_API_KEY / CHAVDER_ES_PASSWORD or "
                             "api_key_file= / password_file=")
        data = Path(data_dir)
        cfg = cls(hosts=hosts, username=username, password=password)
        path_alias = parts.path.strip("/")
        cfg.alias = params.pop("alias", None) or path_alias or DEFAULT_ALIAS
        cfg.alerts_alias = params.pop("alerts_alias", DEFAULT_ALERTS_ALIAS)
        cfg.sidecar = params.pop("sidecar", str(data / "chavder.db"))
        cfg.spool = params.pop("spool", str(data / "es-spool.db"))
        cfg.ca_certs = params.pop("ca_certs", None) or env.get("CHAVDER_ES_CA_CERTS") or None
        cfg.verify_certs = _flag(params.pop("verify_certs", "true"))
        cfg.write_timeout = float(params.pop("timeout", cfg.write_timeout))
        cfg.search_timeout = float(params.pop("search_timeout", cfg.search_timeout))
        cfg.compat = int(params.pop("compat", cfg.compat))
        cfg.batch_size = max(1, int(params.pop("batch_size", cfg.batch_size)))
        cfg.flush_interval = float(params.pop("flush_interval", cfg.flush_interval))
        cfg.sync = _flag(params.pop("sync", "false"))
        cfg.auto_setup = _flag(params.pop("auto_setup", "true"))
        cfg.engine = params.pop("engine", "opensearch" if scheme.startswith("opensearch")
                                else "elasticsearch").strip().lower()
        if cfg.engine not in ENGINES:
            raise ValueError(f"engine={cfg.engine!r}: use one of {', '.join(ENGINES)}")
        key_file = params.pop("api_key_file", None) or env.get("CHAVDER_ES_API_KEY_FILE")
        pw_file = params.pop("password_file", None) or env.get("CHAVDER_ES_PASSWORD_FILE")
        if params:
            raise ValueError(f"unknown Elasticsearch store parameter(s): {', '.join(params)}")
        cfg.api_key = (_read_secret(key_file) if key_file else None) or \
            env.get("CHAVDER_ES_API_KEY") or None
        if cfg.password is None:
            cfg.password = (_read_secret(pw_file) if pw_file else None) or \
                env.get("CHAVDER_ES_PASSWORD") or None
        if cfg.username and not cfg.password and not cfg.api_key:
            raise ValueError(f"Elasticsearch user {cfg.username!r} has no password: set "
                             "CHAVDER_ES_PASSWORD (or CHAVDER_ES_PASSWORD_FILE), or use an API "
                             "key via CHAVDER_ES_API_KEY")
        return cfg


def _flag(value: str) -> bool:
    return str(value).strip().lower() in ("1", "true", "yes", "on")


def _read_secret(path: str) -> str:
    try:
        return Path(path).read_text(encoding="utf-8").strip()
    except OSError as exc:
        raise ValueError(f"cannot read Elasticsearch secret file {path}: {exc.strerror}") from None


def make_client(cfg: EsConfig, *, timeout: float | None = None, retries: int = 0):
    """A client for ``cfg``: ``Elasticsearch`` pinned to the configured REST compatibility, or
    ``OpenSearch`` (opensearch-py) when the engine is OpenSearch."""
    if cfg.engine == "opensearch":
        return _opensearch_client(cfg, timeout=timeout, retries=retries)
    from elasticsearch import Elasticsearch
    kwargs: dict[str, Any] = {
        "request_timeout": cfg.write_timeout if timeout is None else timeout,
        "max_retries": retries, "retry_on_timeout": retries > 0,
        "verify_certs": cfg.verify_certs}
    if cfg.ca_certs:
        kwargs["ca_certs"] = cfg.ca_certs
    if not cfg.verify_certs:
        kwargs["ssl_show_warn"] = False
    if cfg.api_key:
        kwargs["api_key"] = cfg.api_key
    elif cfg.username:
        kwargs["basic_auth"] = (cfg.username, cfg.password or "")
    client = Elasticsearch(cfg.hosts, **kwargs)
    _pin_compat(client, cfg.compat)
    return client


def _opensearch_client(cfg: EsConfig, *, timeout: float | None, retries: int):
    from opensearchpy import OpenSearch
    kwargs: dict[str, Any] = {
        "timeout": cfg.write_timeout if timeout is None else timeout,
        "max_retries": retries, "retry_on_timeout": retries > 0,
        "verify_certs": cfg.verify_certs, "ssl_show_warn": cfg.verify_certs}
    if cfg.ca_certs:
        kwargs["ca_certs"] = cfg.ca_certs
    if cfg.api_key:
        kwargs["headers"] = {"Authorization": f"ApiKey {cfg.api_key}"}
    elif cfg.username:
        kwargs["http_auth"] = (cfg.username, cfg.password or "")
    return OpenSearch(cfg.hosts, **kwargs)


def is_opensearch_client(client: Any) -> bool:
    return type(client).__module__.startswith("opensearchpy")


def _body(resp: Any) -> Any:
    """The JSON of a response: elasticsearch-py wraps it (``.body``), opensearch-py does not."""
    return resp.body if hasattr(resp, "body") else resp


def _streaming_bulk(client: Any) -> Callable[..., Iterator]:
    """The bulk helper of the client's own library (same signature in both)."""
    if is_opensearch_client(client):
        from opensearchpy.helpers import streaming_bulk
    else:
        from elasticsearch.helpers import streaming_bulk
    return streaming_bulk


def client_errors() -> tuple[type[BaseException], ...]:
    """Exceptions that mean "the cluster did not answer usefully", for either client."""
    from elastic_transport import TransportError
    from elasticsearch import ApiError
    errors: list[type[BaseException]] = [TransportError, ApiError, OSError]
    try:
        from opensearchpy.exceptions import ImproperlyConfigured
        from opensearchpy.exceptions import TransportError as OsTransportError
        errors += [OsTransportError, ImproperlyConfigured]
    except ImportError:      # opensearch-py is a dependency, but an old install may lack it
        pass
    return tuple(errors)


def _pin_compat(client: Any, major: int) -> None:
    """Rewrite ``compatible-with=<client major>`` on every request to ``major``.

    Elasticsearch 8 answers ``compatible-with=9`` with HTTP 400 media_type_header_exception;
    a 9.x server accepts ``compatible-with=8``, so 8 works against both."""
    from elasticsearch import __versionstr__
    mine = f"compatible-with={__versionstr__.partition('.')[0]}"
    wanted = f"compatible-with={major}"
    if mine == wanted:
        return
    transport = client.transport
    original = transport.perform_request

    def perform_request(method: str, target: str, *, headers: Any = None, **kw: Any) -> Any:
        if headers is not None:
            headers = headers.copy()
            for name in ("accept", "content-type"):
                value = headers.get(name)
                if value and mine in value:
                    headers[name] = value.replace(mine, wanted)
        return original(method, target, headers=headers, **kw)

    transport.perform_request = perform_request


# ---------------------------------------------------------------------- templates

_TEXT_LANGS = {"ar": "arabic", "ckb": "sorani", "kmr": "chavder_latin"}


def _multilingual_text(raw: bool = False) -> dict:
    fields: dict[str, dict] = {lang: {"type": "text", "analyzer": analyzer}
                               for lang, analyzer in _TEXT_LANGS.items()}
    if raw:   # aggregatable copy for Kibana tables (top hits, terms)
        fields["raw"] = {"type": "keyword", "ignore_above": 512}
    return {"type": "text", "analyzer": "standard", "fields": fields}


def index_template(alias: str = DEFAULT_ALIAS) -> dict:
    """The composable index template for the article indices behind ``alias``.

    ``deploy/elasticsearch/chavder-template.json`` is this function's output (a test keeps
    them equal), so ``chavder es setup`` needs no file at run time. The pattern is
    ``<alias>-0*`` (indices are ``<alias>-000001``, ``-000002``…), not ``<alias>-*``: with the
    alias ``news`` and alerts alias ``news-alerts``, ``news-*`` would overlap the alerts
    template, and both engines refuse two overlapping templates of the same priority."""
    norm = {"type": "text", "analyzer": "whitespace"}
    date = {"type": "date", "ignore_malformed": True}
    return {
        "index_patterns": [f"{alias}-0*"],
        "priority": 200,
        "_meta": {"description": "Chavder articles; written by chavder, see "
                                 "deploy/elasticsearch/README.md",
                  "chavder_template_version": TEMPLATE_VERSION},
        "template": {
            "settings": {
                "number_of_shards": 1,
                "number_of_replicas": 0,
                "refresh_interval": "5s",
                "analysis": {"analyzer": {"chavder_latin": {
                    "type": "custom", "tokenizer": "standard",
                    "filter": ["lowercase", "asciifolding"]}}},
            },
            "mappings": {
                "dynamic": False,
                "_source": {"excludes": ["title_norm", "body_norm"]},
                "properties": {
                    "article_id": {"type": "long"},
                    "story_id": {"type": "long"},
                    "revision": {"type": "integer"},
                    "url_key": {"type": "keyword"},
                    "url": {"type": "keyword"},
                    "canonical_url": {"type": "keyword"},
                    "image_url": {"type": "keyword", "index": False},
                    "source": {"type": "keyword"},
                    "language": {"type": "keyword"},
                    "section": {"type": "keyword"},
                    "authors": {"type": "keyword"},
                    "tags": {"type": "keyword"},
                    "title": _multilingual_text(raw=True),
                    "body": _multilingual_text(),
                    "summary": {"type": "text", "analyzer": "standard"},
                    "title_norm": dict(norm),
                    "body_norm": dict(norm),
                    "title_exact": {"type": "keyword", "ignore_above": 1024},
                    "published_at": dict(date),
                    "updated_at": dict(date),
                    "fetched_at": dict(date),
                    "first_seen": dict(date),
                    "timeline_at": dict(date),
                    "content_hash": {"type": "keyword"},
                },
            },
        },
    }


def alerts_template(alias: str = DEFAULT_ALERTS_ALIAS) -> dict:
    """Template for the alert-ledger events (one document per ledger row, latest state)."""
    date = {"type": "date", "ignore_malformed": True}
    return {
        "index_patterns": [f"{alias}-0*"],
        "priority": 200,
        "_meta": {"description": "Chavder alert ledger, mirrored from the local sidecar",
                  "chavder_template_version": TEMPLATE_VERSION},
        "template": {
            "settings": {"number_of_shards": 1, "number_of_replicas": 0},
            "mappings": {
                "dynamic": False,
                "properties": {
                    "alert_id": {"type": "long"},
                    "rule": {"type": "keyword"},
                    "story_id": {"type": "long"},
                    "article_id": {"type": "long"},
                    "recipient": {"type": "keyword"},
                    "matched_terms": {"type": "keyword"},
                    "state": {"type": "keyword"},
                    "attempts": {"type": "integer"},
                    "last_error": {"type": "text"},
                    "title": {"type": "text", "analyzer": "standard",
                              "fields": {"keyword": {"type": "keyword", "ignore_above": 512}}},
                    "url": {"type": "keyword"},
                    "source": {"type": "keyword"},
                    "language": {"type": "keyword"},
                    "created_at": dict(date),
                    "sent_at": dict(date),
                    "updated_at": dict(date),
                },
            },
        },
    }


def setup_indices(client: Any, alias: str = DEFAULT_ALIAS,
                  alerts_alias: str | None = DEFAULT_ALERTS_ALIAS) -> list[str]:
    """Install templates, the first index and the write alias; safe to run any number of
    times. Returns what was done (for ``chavder es setup``)."""
    done: list[str] = []
    pairs = [(alias, index_template(alias))]
    if alerts_alias:
        pairs.append((alerts_alias, alerts_template(alerts_alias)))
    for name, template in pairs:
        client.indices.put_index_template(name=name, body=template)
        done.append(f"template {name}: installed")
        if client.indices.exists_alias(name=name):
            # additive mapping changes reach the existing index; type changes need a reindex
            try:
                mappings = template["template"]["mappings"]
                client.indices.put_mapping(index=name, body={
                    "dynamic": mappings["dynamic"], "properties": mappings["properties"]})
            except Exception as exc:  # noqa: BLE001 - reported with the fix
                raise SetupError(f"{name}: the existing index mapping conflicts with the template "
                                 f"({_short(exc)}) — create {name}-000002 with the new template, "
                                 f"run 'chavder es reindex --from sqlite', then move the alias")
            done.append(f"alias {name}: exists, mapping up to date")
            continue
        if client.indices.exists(index=name):
            raise SetupError(f"'{name}' is a concrete index, not an alias (probably auto-created "
                             f"by a write before setup) — delete it (then 'chavder es setup' and "
                             f"'chavder es reindex --from sqlite') or rename it")
        first = f"{name}-000001"
        if client.indices.exists(index=first):
            client.indices.update_aliases(body={"actions": [
                {"add": {"index": first, "alias": name, "is_write_index": True}}]})
            done.append(f"alias {name} -> {first}: added")
        else:
            client.indices.create(index=first, body={
                "aliases": {name: {"is_write_index": True}}})
            done.append(f"index {first} with write alias {name}: created")
    return done


def _short(exc: BaseException) -> str:
    text = str(exc)
    return text if len(text) < 300 else text[:300] + "…"


# ---------------------------------------------------------------------- documents

def doc_id(url_key: str) -> str:
    """Deterministic document id: the same article is always the same document."""
    return hashlib.sha1(url_key.encode("utf-8")).hexdigest()


def _json_list(value: Any) -> list:
    if isinstance(value, list):
        return value
    try:
        parsed = json.loads(value or "[]")
    except (TypeError, ValueError):
        return []
    return parsed if isinstance(parsed, list) else []


def article_document(row: Mapping[str, Any]) -> dict:
    """An ``articles`` row of the sidecar → the Elasticsearch document."""
    lang = row.get("language")
    title, body = row.get("title") or "", row.get("body") or ""
    return {
        "article_id": row["id"], "story_id": row["story_id"], "revision": row.get("revision", 1),
        "url_key": row["url_key"], "url": row.get("url"),
        "canonical_url": row.get("canonical_url") or row.get("url"),
        "image_url": row.get("image_url"), "source": row["source"], "language": lang,
        "section": row.get("section"), "authors": _json_list(row.get("authors")),
        "tags": _json_list(row.get("tags")),
        "title": title, "body": body, "summary": row.get("summary") or "",
        "title_norm": index_terms(title, lang), "body_norm": index_terms(body, lang),
        "title_exact": normalize(title)[:1024],
        "published_at": row.get("published_at"), "updated_at": row.get("updated_at"),
        "fetched_at": row.get("fetched_at"), "first_seen": row.get("first_seen"),
        "timeline_at": row.get("published_utc") or row.get("first_seen"),
        "content_hash": row.get("content_hash"),
    }


def alert_doc_id(row: Mapping[str, Any]) -> str:
    return hashlib.sha1(f"{row['rule']}\x1f{row['story_id']}\x1f{row['recipient']}"
                        .encode("utf-8")).hexdigest()


def alert_document(row: Mapping[str, Any]) -> dict:
    """An ``alert_ledger`` row joined with its article → the ``chavder-alerts`` document."""
    return {
        "alert_id": row["id"], "rule": row["rule"], "story_id": row["story_id"],
        "article_id": row["article_id"], "recipient": row["recipient"],
        "matched_terms": _json_list(row.get("matched_terms")), "state": row["state"],
        "attempts": row.get("attempts", 0), "last_error": row.get("last_error"),
        "title": row.get("title"), "url": row.get("canonical_url"),
        "source": row.get("source"), "language": row.get("language"),
        "created_at": row.get("created_at"), "sent_at": row.get("sent_at"),
        "updated_at": utc_now_iso(),
    }


# ---------------------------------------------------------------------- replay

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
    return _index_action(entry.target, entry.doc_id, entry.body or {})


def _index_action(target: str, doc: str, body: dict) -> dict:
    """An index action; article documents carry their revision as external version, so an
    older revision arriving late (another replayer, a concurrent reindex) is refused with 409
    instead of overwriting a newer one."""
    action = {"_op_type": "index", "_index": target, "_id": doc, "_source": body}
    if isinstance(body.get("revision"), int):
        action.update(_version=body["revision"], _version_type="external_gte")
    return action


def replay(client: Any, spool: Spool, *, batch_size: int = 500, refresh: bool = False,
           max_batches: int | None = None, require_alias: bool = True) -> ReplayReport:
    """Send pending spool rows in order; acknowledge per bulk item; stop at the first batch
    that is not fully accepted so a later row never overtakes an earlier one."""
    streaming_bulk = _streaming_bulk(client)
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
                    report.error = report.error or _item_error(info)
                else:
                    dead.append((entry, _item_error(info)))
        except errors as exc:
            report.error = report.error or f"{type(exc).__name__}: {_short(exc)}"
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


def _item_error(info: Mapping[str, Any]) -> str:
    err = info.get("error")
    if isinstance(err, dict):
        return f"{info.get('status')} {err.get('type')}: {err.get('reason')}"[:500]
    return f"{info.get('status')} {err}"[:500]


# ---------------------------------------------------------------------- search

def _match_part(keys: list[str]) -> dict:
    if len(keys) == 1:
        clauses = [{"term": {"title_norm": {"value": keys[0], "boost": 3.0}}},
                   {"term": {"body_norm": {"value": keys[0]}}}]
    else:
        # documents carry several keys per token at successive positions, hence the slop
        # (the SQLite backend uses NEAR with the same distance)
        slop = 4 * (len(keys) - 1)
        phrase = " ".join(keys)
        clauses = [{"match_phrase": {"title_norm": {"query": phrase, "slop": slop,
                                                    "boost": 3.0}}},
                   {"match_phrase": {"body_norm": {"query": phrase, "slop": slop}}}]
    return {"bool": {"should": clauses, "minimum_should_match": 1}}


def match_clause(text: str, language: str | None = None) -> dict | None:
    """User query → query DSL over the ``*_norm`` fields: words ANDed, "quoted phrases",
    ``OR`` between groups — the same grammar as the SQLite backend."""
    groups: list[list[dict]] = [[]]
    for m in _PHRASE.finditer(text):
        if m.group(2) == "OR":
            if groups[-1]:
                groups.append([])
            continue
        keys = [k for k in query_terms(m.group(1) or m.group(2), language) if k]
        if keys:
            groups[-1].append(_match_part(keys))
    groups = [g for g in groups if g]
    if not groups:
        return None
    alternatives = [g[0] if len(g) == 1 else {"bool": {"must": g}} for g in groups]
    if len(alternatives) == 1:
        return alternatives[0]
    return {"bool": {"should": alternatives, "minimum_should_match": 1}}


def build_search(query: SearchQuery) -> dict | None:
    """The ``_search`` body for ``query`` (None when the query has no searchable word)."""
    must = match_clause(query.text, query.language)
    if must is None:
        return None
    filters: list[dict] = []
    if query.language:
        filters.append({"term": {"language": query.language}})
    if query.source:
        filters.append({"term": {"source": query.source}})
    bounds: dict[str, str] = {}
    if query.since:
        bounds["gte"] = _iso_utc(query.since)
    if query.until:
        bounds["lt"] = _iso_utc(query.until)
    if bounds:
        filters.append({"range": {"timeline_at": bounds}})
    # ranking help from Elasticsearch's own language analyzers; matching stays on *_norm
    langs = [query.language] if query.language in _TEXT_LANGS else list(_TEXT_LANGS)
    should = [{"match": {f"{f}.{lang}": {"query": query.text, "boost": 0.2}}}
              for lang in langs for f in ("title", "body")]
    body: dict[str, Any] = {
        "query": {"bool": {"must": [must], "filter": filters, "should": should}},
        "sort": [{"_score": {"order": "desc"}},
                 {"timeline_at": {"order": "desc", "missing": "_last"}}],
        "size": max(1, int(query.limit)),
        "track_total_hits": False,
        "_source": {"excludes": ["title_norm", "body_norm"]},
    }
    if not query.all_copies:
        body["collapse"] = {"field": "story_id"}
    return body


def story_sources_query(story_ids: list[int]) -> dict:
    """Aggregation-only query: the outlets of each story (for ``also_reported_by``)."""
    return {"size": 0, "query": {"terms": {"story_id": story_ids}},
            "aggs": {"stories": {"terms": {"field": "story_id", "size": max(1, len(story_ids))},
                                 "aggs": {"sources": {"terms": {"field": "source",
                                                                "size": 200}}}}}}


# ---------------------------------------------------------------------- the store

class ElasticsearchStore:
    """``Store`` whose search index is Elasticsearch; crawl state in a local SQLite sidecar.

    Every method that is not search or indexing is the sidecar's (explicitly for the Store
    protocol, through ``__getattr__`` for the rest: dedup lookups, alert ledger, schedule…).
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

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__") or "sidecar" not in self.__dict__:
            raise AttributeError(name)
        return getattr(self.sidecar, name)

    # ------------------------------------------------------------------ Store: writes
    def upsert(self, article: Article, url_key: str, aliases: Iterable[str] = (),
               index_updated_at: str | None = None, **dedup: Any) -> UpsertResult:
        result = self.sidecar.upsert(article, url_key, aliases, index_updated_at, **dedup)
        if result.kind != "unchanged":
            row = self._article_row_by_id(result.article_id)
            if row is not None:
                # inside a story transaction, only once the sidecar committed the row
                self.sidecar.after_commit(lambda: self._index_later(row))
        return result

    def _index_later(self, row: dict) -> None:
        self.spool.enqueue(doc_id(row["url_key"]), self.config.alias, article_document(row))
        self._after_enqueue()

    # Story assignment is the sidecar's, through the same code path as the SQLite backend:
    # processes sharing a sidecar agree on stories (see SQLiteStore.story_transaction).
    def story_transaction(self) -> Any:
        return self.sidecar.story_transaction()

    def story_changes(self, after_seq: int) -> tuple[list[tuple], int]:
        return self.sidecar.story_changes(after_seq)

    def story_seq(self) -> int:
        return self.sidecar.story_seq()

    def record_matches(self, article_id: int, revision: int, story_id: int,
                       instant: Iterable[tuple[str, str, list[str]]],
                       digest: Iterable[tuple[str, str, list[str]]]) -> int:
        queued = self.sidecar.record_matches(article_id, revision, story_id, instant, digest)
        if queued:
            self._mirror_alerts("l.article_id=? AND l.story_id=?", (article_id, story_id))
        return queued

    # The ledger lives in the sidecar, so its claims are the SQLite ones (one compare-and-set
    # per delivery, across processes); every change is mirrored to the alerts index.
    def claim_alert(self, alert_id: int, owner: str, now: str, lease_until: str,
                    message_id: str | None = None, reclaim_from: Iterable[str] = ()
                    ) -> int | None:
        attempt = self.sidecar.claim_alert(alert_id, owner, now, lease_until, message_id,
                                           reclaim_from)
        if attempt is not None:
            self._mirror_alerts("l.id=?", (alert_id,))
        return attempt

    def mark_alert(self, alert_id: int, state: str, **kw: Any) -> bool:
        changed = self.sidecar.mark_alert(alert_id, state, **kw)
        if changed:
            self._mirror_alerts("l.id=?", (alert_id,))
        return changed

    def requeue_alerts(self, now: str, *, failed: bool = False) -> dict[str, int]:
        counts = self.sidecar.requeue_alerts(now, failed=failed)
        if any(counts.values()):
            self._mirror_alerts("l.state='pending' AND l.next_attempt_at=?", (now,))
        return counts

    def _mirror_alerts(self, where: str, params: tuple) -> None:
        """Copy ledger rows to the alerts index (through the spool, never blocking)."""
        rows = self._sidecar_rows(
            "SELECT l.*, a.title, a.canonical_url, a.source, a.language FROM alert_ledger l "
            f"LEFT JOIN articles a ON a.id = l.article_id WHERE {where}", params)
        if rows:
            self.spool.enqueue_many([(alert_doc_id(r), self.config.alerts_alias,
                                      alert_document(r), "index") for r in rows])
            self._after_enqueue()

    # ------------------------------------------------------------------ Store: reads
    def known(self, url_keys: Iterable[str]) -> dict[str, KnownArticle]:
        return self.sidecar.known(url_keys)

    def get_article(self, url_key: str) -> Article | None:
        return self.sidecar.get_article(url_key)

    def http_validators(self, url: str) -> tuple[str | None, str | None]:
        return self.sidecar.http_validators(url)

    def save_http_validators(self, url: str, etag: str | None,
                             last_modified: str | None) -> None:
        self.sidecar.save_http_validators(url, etag, last_modified)

    def record_fetch_error(self, source: str, url: str, reason: str) -> None:
        self.sidecar.record_fetch_error(source, url, reason)

    def recent_failures(self, urls: Iterable[str], since: str,
                        ignore_prefix: str = "") -> dict[str, tuple[int, str]]:
        return self.sidecar.recent_failures(urls, since, ignore_prefix)

    def record_crawl(self, source: str, started_at: str, finished_at: str,
                     counts: dict[str, int]) -> None:
        self.sidecar.record_crawl(source, started_at, finished_at, counts)

    def count_articles(self, source: str | None = None) -> int:
        return self.sidecar.count_articles(source)

    def search(self, query: SearchQuery) -> list[SearchHit]:
        """Search Elasticsearch; if it cannot answer, the sidecar's FTS index (same contract,
        possibly newer than the index while the spool drains)."""
        body = build_search(query)
        if body is None:
            return []
        try:
            resp = self.search_client.search(index=self.config.alias, body=body)
            hits = _body(resp)["hits"]["hits"]
            others = self._also_reported_by(hits) if not query.all_copies else {}
        except client_errors() as exc:
            log.warning("Elasticsearch search failed (%s); answering from the local store",
                        _short(exc))
            self.last_search_backend = "sqlite-fallback"
            return self.sidecar.search(query)
        self.last_search_backend = self.config.engine
        out: list[SearchHit] = []
        for h in hits:
            src = h["_source"]
            story = int(src["story_id"])
            out.append(SearchHit(
                article_id=int(src["article_id"]), story_id=story,
                url=src.get("canonical_url") or src.get("url"), title=src.get("title", ""),
                source=src["source"], language=src.get("language"),
                published_at=src.get("published_at"),
                snippet=make_snippet(src.get("body", ""), query.text, src.get("language")),
                score=float(h.get("_score") or 0.0),
                also_reported_by=[s for s in others.get(story, []) if s != src["source"]]))
        return out

    def _also_reported_by(self, hits: list[dict]) -> dict[int, list[str]]:
        ids = sorted({int(h["_source"]["story_id"]) for h in hits})
        if not ids:
            return {}
        resp = self.search_client.search(index=self.config.alias, body=story_sources_query(ids))
        out: dict[int, list[str]] = {}
        for bucket in _body(resp).get("aggregations", {}).get("stories", {}).get("buckets", []):
            out[int(bucket["key"])] = sorted(b["key"] for b in bucket["sources"]["buckets"])
        return out

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
                                                    error=f"setup: {_short(exc)}")
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
                report = ReplayReport(error=_short(exc))
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
            log.warning("final index replay failed: %s", _short(exc))
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
            info = _body(self.client.info())
            out["reachable"] = True
            out["version"] = info.get("version", {}).get("number")
            out["distribution"] = info.get("version", {}).get("distribution", "elasticsearch")
            out["cluster"] = info.get("cluster_name")
            out["indexed_articles"] = int(_body(self.client.count(index=self.config.alias))
                                          ["count"])
        except Exception as exc:  # noqa: BLE001
            out["reachable"] = False
            out["error"] = _short(exc)
        return out

    # ------------------------------------------------------------------ sidecar rows
    def _sidecar_rows(self, sql: str, params: tuple = ()) -> list[dict]:
        # read the sidecar's tables directly: same package, same lock as its own methods
        with self.sidecar._lock:
            return [dict(r) for r in self.sidecar._db.execute(sql, params).fetchall()]

    def _article_row_by_id(self, article_id: int) -> dict | None:
        rows = self._sidecar_rows("SELECT * FROM articles WHERE id=?", (article_id,))
        return rows[0] if rows else None


def open_elasticsearch_store(url: str, data_dir: str | Path = "data", *,
                             write: bool = True) -> ElasticsearchStore:
    """``open_store`` entry point for Elasticsearch URLs."""
    cfg = EsConfig.from_url(url, data_dir)
    return ElasticsearchStore(cfg, sidecar=SQLiteStore(cfg.sidecar, write=write))


# ---------------------------------------------------------------------- reindex

@dataclass
class ReindexReport:
    articles: int = 0
    alerts: int = 0
    failed: int = 0
    seconds: float = 0.0
    errors: list[str] = field(default_factory=list)


def _sqlite_pages(path: str | Path, sql: str, page: int) -> Iterator[list[dict]]:
    db = sqlite3.connect(f"file:{Path(path).resolve()}?mode=ro", uri=True, timeout=30)
    db.row_factory = sqlite3.Row
    try:
        last = 0
        while True:
            rows = db.execute(sql, (last, page)).fetchall()
            if not rows:
                return
            last = rows[-1]["id"]
            yield [dict(r) for r in rows]
    finally:
        db.close()


def reindex_from_sqlite(client: Any, sqlite_path: str | Path, cfg: EsConfig, *,
                        batch_size: int = 500,
                        progress: Callable[[int, int], None] | None = None) -> ReindexReport:
    """Backfill the index (and the alerts index) from an embedded SQLite store.

    Reads the file read-only, page by page; ids are deterministic, so running it twice or on
    top of live indexing leaves one document per article."""
    streaming_bulk = _streaming_bulk(client)
    if not Path(sqlite_path).exists():
        raise FileNotFoundError(f"{sqlite_path}: no such SQLite store")
    started = time.monotonic()
    report = ReindexReport()
    db = sqlite3.connect(f"file:{Path(sqlite_path).resolve()}?mode=ro", uri=True)
    try:
        total = db.execute("SELECT COUNT(*) FROM articles").fetchone()[0]
        has_ledger = db.execute("SELECT 1 FROM sqlite_master WHERE name='alert_ledger'"
                                ).fetchone() is not None
    finally:
        db.close()
    if progress:
        progress(0, total)

    def actions() -> Iterator[dict]:
        for rows in _sqlite_pages(sqlite_path, "SELECT * FROM articles WHERE id > ? "
                                  "ORDER BY id LIMIT ?", batch_size):
            for row in rows:
                yield _index_action(cfg.alias, doc_id(row["url_key"]), article_document(row))

    for ok, item in streaming_bulk(client, actions(), chunk_size=batch_size,
                                   raise_on_error=False, max_retries=5, initial_backoff=1,
                                   max_backoff=30, require_alias=True):
        if ok or next(iter(item.values())).get("status") == 409:   # 409: newer already there
            report.articles += 1
        else:
            report.failed += 1
            if len(report.errors) < 5:
                report.errors.append(_item_error(next(iter(item.values()))))
        done = report.articles + report.failed
        if progress and (done % batch_size == 0 or done == total):
            progress(done, total)
    if has_ledger:
        def alert_actions() -> Iterator[dict]:
            for rows in _sqlite_pages(
                    sqlite_path, "SELECT l.*, a.title, a.canonical_url, a.source, a.language "
                    "FROM alert_ledger l LEFT JOIN articles a ON a.id = l.article_id "
                    "WHERE l.id > ? ORDER BY l.id LIMIT ?", batch_size):
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
    client.indices.refresh(index=cfg.alias)
    report.seconds = time.monotonic() - started
    return report
