"""Sidecar rows → Elasticsearch documents and bulk actions, with deterministic ids."""
from __future__ import annotations

import hashlib
import json
from typing import Any, Mapping

from crawler.store.base import utc_now_iso
from crawler.text import index_terms, normalize


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


def index_action(target: str, doc: str, body: dict) -> dict:
    """An index action; article documents carry their revision as external version, so an
    older revision arriving late (another replayer, a concurrent reindex) is refused with 409
    instead of overwriting a newer one."""
    action = {"_op_type": "index", "_index": target, "_id": doc, "_source": body}
    if isinstance(body.get("revision"), int):
        action.update(_version=body["revision"], _version_type="external_gte")
    return action

