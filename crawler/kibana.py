"""Kibana 8 saved objects for Chavder, built from the alert rules in force.

Why generated: Kibana stores visualisation state as JSON *inside* JSON strings, which nobody
should edit by hand, and the saved searches must use the same normalised keys as the index
(``crawler.text.query_terms``), e.g. الرقة → الرقه, and accept the alert matcher's spelling
variants of one-word terms as a regexp over those keys (Raqqa: /r+a+(k|q|ck)+a+h?/ finds Rakkah
and Raqa; ``crawler.alerts.variants.spelling_pattern``). What a query cannot say: capitals (the
fields are case-folded, so a ``case: sensitive`` ISIS also finds Isis); context (the matcher
reads ڕەقە as Raqqa or "is hard", الرقة as Raqqa or "delicacy", from neighbouring words, so
ڕەققە is searched without variants and الرقة finds both meanings); variants inside phrases
(Lucene has no regexp in a phrase: Mazloum Abdi is searched as written). ``chavder kibana
import`` builds them from the configured ``alerts.yaml`` at the moment it runs, so Kibana's
saved searches are the rules as they are now; ``deploy/kibana/chavder.ndjson`` is the same
output for the shipped example rules, for importing by hand.

Objects (fixed ids, so re-importing overwrites instead of duplicating): data views
``chavder-articles`` (alias, time field ``timeline_at``) and ``chavder-alerts``; a saved search
``chavder-rule-<name>`` per enabled rule; the alerts list ``chavder-latest-alerts``;
visualisations (legacy aggregation-based, which import across 8.x without Lens migrations) and
the dashboard ``chavder-overview``.
"""
from __future__ import annotations

import json
import re
from typing import Iterable

from crawler.alerts.rules import PLAIN, Rule, TermOptions
from crawler.alerts.variants import blocked, spelling_pattern
from crawler.text import query_terms

ARTICLES, ALERTS = "chavder-articles", "chavder-alerts"
CORE = "8.8.0"
TYPE_VERSIONS = {"index-pattern": "8.0.0", "search": "8.0.0", "visualization": "8.5.0",
                 "dashboard": "8.9.0"}
INDEX_REF = "kibanaSavedObjectMeta.searchSourceJSON.index"
_ARABIC_WORD = re.compile("[\u0620-\u064a]+")    # Arabic proper: one-word terms take ال too


def _obj(type_: str, id_: str, attributes: dict, references: list[dict] | None = None) -> dict:
    return {"id": id_, "type": type_, "attributes": attributes,
            "references": references or [], "coreMigrationVersion": CORE,
            "typeMigrationVersion": TYPE_VERSIONS[type_], "managed": False}


def _search_source(query: str = "", language: str = "kuery") -> dict:
    return {"searchSourceJSON": json.dumps({
        "query": {"query": query, "language": language}, "filter": [],
        "indexRefName": INDEX_REF}, ensure_ascii=False)}


def _index_ref(data_view: str) -> list[dict]:
    return [{"name": INDEX_REF, "type": "index-pattern", "id": data_view}]


# ---------------------------------------------------------------------- queries

def _lucene_term(term: str, opts: TermOptions = PLAIN) -> str | None:
    keys = query_terms(term)
    if not keys:
        return None
    if len(keys) == 1:
        # the matcher's spelling variants (Raqqa: Raqa, Rakkah …) as a regexp over the index's
        # keys, unless the term is exact or a variant would reach a listed common word
        # (ڕەقە "is hard": the matcher decides those from context, which a query cannot).
        # Phrases keep their spelling: Lucene has no regexp inside a phrase.
        pattern = None if opts.exact or blocked(tuple(keys)) else spelling_pattern(keys[0])
        if pattern is not None:
            alts = [f'"{keys[0]}"', f"/{pattern}/"]
            if _ARABIC_WORD.fullmatch(keys[0]) and not keys[0].startswith("ال"):
                alts.append(f"/(ال)?{pattern}/")
                alts.pop(1)
            return "(" + " OR ".join(alts) + ")"
        return f'"{keys[0]}"'
    # several keys per document token sit at successive positions: allow the same slack as
    # the search backends (4 positions per extra word)
    return f'"{" ".join(keys)}"~{4 * (len(keys) - 1)}'


def _either_field(terms: list[str], rule: Rule) -> str | None:
    group = " OR ".join(dict.fromkeys(
        t for t in (_lucene_term(x, rule.term_options(x)) for x in terms) if t))
    return f"(title_norm:({group}) OR body_norm:({group}))" if group else None


def rule_query(rule: Rule) -> str:
    """Lucene query over the normalised fields equivalent to the rule's terms: any of ``any``,
    each ``all`` group, none of ``none`` (keys normalised exactly as the index's; one-word
    terms with their spelling variants, see :func:`_lucene_term`)."""
    query = _either_field([t for group in rule.any for t in group], rule) or "*"
    parts = [query] + [q for q in (_either_field(list(g), rule) for g in rule.all) if q]
    query = " AND ".join(parts) if len(parts) > 1 else query
    veto = _either_field([t for group in rule.none for t in group], rule)
    return f"({query}) AND NOT {veto}" if veto else query


def _rule_search(rule: Rule) -> dict:
    shown = next((t for group in rule.any for t in group), rule.name)
    return _obj("search", f"chavder-rule-{_slug(rule.name)}", {
        "title": f"Chavder rule: {shown} ({rule.name})",
        "description": f"Articles matching the '{rule.name}' alert rule (any/all/none terms, "
                       "normalised like the alert matcher). Generated from alerts.yaml when "
                       "`chavder kibana import` runs.",
        "columns": ["title", "source", "language", "canonical_url"],
        "sort": [["timeline_at", "desc"]], "grid": {}, "hideChart": False,
        "isTextBasedQuery": False, "timeRestore": False,
        "kibanaSavedObjectMeta": _search_source(rule_query(rule), "lucene")},
        _index_ref(ARTICLES))


def _slug(name: str) -> str:
    """Saved-object ids are URL path segments: keep them to [a-z0-9-]."""
    import re
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-") or "rule"


# ---------------------------------------------------------------------- visualisations

def _bar_over_time(id_: str, title: str, split_field: str) -> dict:
    vis = {
        "title": title, "type": "histogram",
        "aggs": [
            {"id": "1", "enabled": True, "type": "count", "params": {}, "schema": "metric"},
            {"id": "2", "enabled": True, "type": "date_histogram", "schema": "segment",
             "params": {"field": "timeline_at", "useNormalizedEsInterval": True,
                        "scaleMetricValues": False, "interval": "auto", "drop_partials": False,
                        "min_doc_count": 1, "extended_bounds": {}}},
            {"id": "3", "enabled": True, "type": "terms", "schema": "group",
             "params": {"field": split_field, "orderBy": "1", "order": "desc", "size": 12,
                        "otherBucket": True, "otherBucketLabel": "other",
                        "missingBucket": True, "missingBucketLabel": "unknown"}},
        ],
        "params": {
            "type": "histogram", "grid": {"categoryLines": False},
            "categoryAxes": [{"id": "CategoryAxis-1", "type": "category", "position": "bottom",
                              "show": True, "scale": {"type": "linear"},
                              "labels": {"show": True, "filter": True, "truncate": 100},
                              "title": {}}],
            "valueAxes": [{"id": "ValueAxis-1", "name": "LeftAxis-1", "type": "value",
                           "position": "left", "show": True,
                           "scale": {"type": "linear", "mode": "normal"},
                           "labels": {"show": True, "rotate": 0, "filter": False,
                                      "truncate": 100},
                           "title": {"text": "articles"}}],
            "seriesParams": [{"show": True, "type": "histogram", "mode": "stacked",
                              "data": {"label": "articles", "id": "1"},
                              "valueAxis": "ValueAxis-1", "drawLinesBetweenPoints": True,
                              "lineWidth": 2, "showCircles": True, "interpolate": "linear"}],
            "addTooltip": True, "addLegend": True, "legendPosition": "right", "times": [],
            "addTimeMarker": False, "truncateLegend": True, "maxLegendLines": 1,
            "thresholdLine": {"show": False, "value": 10, "width": 1, "style": "full",
                              "color": "#E7664C"},
            "labels": {"show": False}, "detailedTooltip": True, "palette": {
                "type": "palette", "name": "default"}},
    }
    return _obj("visualization", id_, {
        "title": title, "description": "", "uiStateJSON": "{}", "version": 1,
        "visState": json.dumps(vis, ensure_ascii=False),
        "kibanaSavedObjectMeta": _search_source()}, _index_ref(ARTICLES))


def _top_stories() -> dict:
    title = "Chavder: top stories by number of outlets"
    vis = {
        "title": title, "type": "table",
        "aggs": [
            {"id": "1", "enabled": True, "type": "cardinality", "schema": "metric",
             "params": {"field": "source", "customLabel": "outlets"}},
            {"id": "2", "enabled": True, "type": "count", "schema": "metric",
             "params": {"customLabel": "articles"}},
            {"id": "3", "enabled": True, "type": "top_hits", "schema": "metric",
             "params": {"field": "title.raw", "aggregate": "concat", "size": 1,
                        "sortField": "timeline_at", "sortOrder": "asc",
                        "customLabel": "first title"}},
            {"id": "4", "enabled": True, "type": "terms", "schema": "bucket",
             "params": {"field": "story_id", "orderBy": "1", "order": "desc", "size": 25,
                        "otherBucket": False, "missingBucket": False,
                        "customLabel": "story"}},
        ],
        "params": {"perPage": 25, "showPartialRows": False, "showMetricsAtAllLevels": False,
                   "showTotal": False, "totalFunc": "sum", "percentageCol": ""},
    }
    return _obj("visualization", "chavder-top-stories", {
        "title": title, "description": "Stories (dedup clusters) reported by the most outlets "
        "in the selected time range.", "version": 1,
        "uiStateJSON": json.dumps({"vis": {"params": {"sort": {"columnIndex": None,
                                                                "direction": None}}}}),
        "visState": json.dumps(vis, ensure_ascii=False),
        "kibanaSavedObjectMeta": _search_source()}, _index_ref(ARTICLES))


# ---------------------------------------------------------------------- objects

def build(rules: Iterable[Rule]) -> list[dict]:
    """Every saved object: data views, one saved search per enabled rule, the dashboard."""
    objects: list[dict] = [
        _obj("index-pattern", ARTICLES, {
            "title": ARTICLES, "name": "Chavder articles", "timeFieldName": "timeline_at",
            "fieldFormatMap": json.dumps({"url": {"id": "url"},
                                          "canonical_url": {"id": "url"}}),
            "sourceFilters": "[]", "runtimeFieldMap": "{}", "fieldAttrs": "{}",
            "allowHidden": False}),
        _obj("index-pattern", ALERTS, {
            "title": ALERTS, "name": "Chavder alerts", "timeFieldName": "created_at",
            "fieldFormatMap": json.dumps({"url": {"id": "url"}}),
            "sourceFilters": "[]", "runtimeFieldMap": "{}", "fieldAttrs": "{}",
            "allowHidden": False}),
    ]
    objects.extend(_rule_search(rule) for rule in rules if rule.enabled)
    objects.append(_obj("search", "chavder-latest-alerts", {
        "title": "Chavder: latest alerts",
        "description": "Alert ledger rows mirrored by Chavder (state: pending, sending, sent, "
                       "failed).",
        "columns": ["rule", "state", "title", "source", "recipient", "sent_at"],
        "sort": [["created_at", "desc"]], "grid": {}, "hideChart": True,
        "isTextBasedQuery": False, "timeRestore": False,
        "kibanaSavedObjectMeta": _search_source()}, _index_ref(ALERTS)))
    objects.append(_bar_over_time("chavder-articles-by-source",
                                  "Chavder: articles over time by source", "source"))
    objects.append(_bar_over_time("chavder-articles-by-language",
                                  "Chavder: articles over time by language", "language"))
    objects.append(_top_stories())
    panels = [("chavder-articles-by-source", "visualization", 0, 0, 24, 15),
              ("chavder-articles-by-language", "visualization", 24, 0, 24, 15),
              ("chavder-top-stories", "visualization", 0, 15, 24, 20),
              ("chavder-latest-alerts", "search", 24, 15, 24, 20)]
    panels_json, refs = [], []
    for n, (ref_id, ref_type, x, y, w, h) in enumerate(panels):
        panels_json.append({"version": "8.9.0", "type": ref_type,
                            "gridData": {"x": x, "y": y, "w": w, "h": h, "i": str(n + 1)},
                            "panelIndex": str(n + 1), "embeddableConfig": {},
                            "panelRefName": f"panel_{n}"})
        refs.append({"name": f"panel_{n}", "type": ref_type, "id": ref_id})
    objects.append(_obj("dashboard", "chavder-overview", {
        "title": "Chavder overview",
        "description": "What the monitored outlets published, which stories many of them "
                       "carry, and the latest alerts.",
        "panelsJSON": json.dumps(panels_json), "version": 1,
        "optionsJSON": json.dumps({"useMargins": True, "syncColors": False,
                                   "syncCursor": True, "syncTooltips": False,
                                   "hidePanelTitles": False}),
        "timeRestore": True, "timeFrom": "now-7d", "timeTo": "now",
        "refreshInterval": {"pause": False, "value": 300000},
        "kibanaSavedObjectMeta": {"searchSourceJSON": json.dumps(
            {"query": {"query": "", "language": "kuery"}, "filter": []})}}, refs))
    return objects


def render(rules: Iterable[Rule]) -> str:
    """The NDJSON Kibana's saved-objects import API takes."""
    return "".join(json.dumps(o, ensure_ascii=False, sort_keys=True) + "\n"
                   for o in build(rules))
