"""Index templates (the mapping of article and alert documents) and their installation.

``deploy/elasticsearch/chavder-template.json`` is ``index_template()``'s output (a test keeps
them equal), so ``chavder es setup`` needs no file at run time.
"""
from __future__ import annotations

from typing import Any

from crawler.store.elasticsearch.client import short_error
from crawler.store.elasticsearch.config import DEFAULT_ALERTS_ALIAS, DEFAULT_ALIAS

TEMPLATE_VERSION = 1


class SetupError(RuntimeError):
    """The index, alias or template is not in a state Chavder can use; says how to fix it."""


TEXT_LANGS = {"ar": "arabic", "ckb": "sorani", "kmr": "chavder_latin"}


def _multilingual_text(raw: bool = False) -> dict:
    fields: dict[str, dict] = {lang: {"type": "text", "analyzer": analyzer}
                               for lang, analyzer in TEXT_LANGS.items()}
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
                                 f"({short_error(exc)}) — create {name}-000002 with the new "
                                 f"template, run 'chavder es reindex --from sqlite', then move "
                                 f"the alias")
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

