"""Regenerate ``chavder.ndjson`` (Kibana 8 saved objects) from code.

    .venv/bin/python deploy/kibana/generate.py            # rewrite chavder.ndjson
    .venv/bin/python deploy/kibana/generate.py --check    # exit 1 if the file is stale

Why generated: Kibana stores visualisation state as JSON *inside* JSON strings, which nobody
should edit by hand, and the saved searches must use the same normalised keys as the index
(``crawler.text.query_terms``), e.g. الرقة → الرقه. The example rules' terms are read from
``alerts.yaml``.

Objects (fixed ids, so re-importing overwrites instead of duplicating):
data views ``chavder-articles`` (alias, time field ``timeline_at``) and ``chavder-alerts``;
saved searches ``chavder-rule-raqqa`` and ``chavder-rule-isis``; the alerts list
``chavder-latest-alerts``; visualisations (legacy aggregation-based, which import across 8.x
without Lens migrations) and the dashboard ``chavder-overview``.
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from crawler.text import query_terms  # noqa: E402

OUT = Path(__file__).resolve().parent / "chavder.ndjson"
ARTICLES, ALERTS = "chavder-articles", "chavder-alerts"
CORE = "8.8.0"
TYPE_VERSIONS = {"index-pattern": "8.0.0", "search": "8.0.0", "visualization": "8.5.0",
                 "dashboard": "8.9.0"}
INDEX_REF = "kibanaSavedObjectMeta.searchSourceJSON.index"


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

def _concepts(items: list) -> list[str]:
    out: list[str] = []
    for item in items or []:
        out.extend(item if isinstance(item, list) else [item])
    return out


def _lucene_term(term: str) -> str | None:
    keys = query_terms(term)
    if not keys:
        return None
    if len(keys) == 1:
        return f'"{keys[0]}"'
    # several keys per document token sit at successive positions: allow the same slack as
    # the search backends (4 positions per extra word)
    return f'"{" ".join(keys)}"~{4 * (len(keys) - 1)}'


def rule_query(rule: dict) -> str:
    """Lucene query over the normalised fields equivalent to the rule's any/none terms."""
    any_terms = [t for t in (_lucene_term(x) for x in _concepts(rule.get("any"))) if t]
    none_terms = [t for t in (_lucene_term(x) for x in _concepts(rule.get("none"))) if t]
    group = " OR ".join(dict.fromkeys(any_terms))
    query = f"title_norm:({group}) OR body_norm:({group})"
    if none_terms:
        veto = " OR ".join(dict.fromkeys(none_terms))
        query = f"({query}) AND NOT title_norm:({veto}) AND NOT body_norm:({veto})"
    return query


def load_rules() -> dict[str, dict]:
    import yaml
    doc = yaml.safe_load((ROOT / "alerts.yaml").read_text(encoding="utf-8"))
    return {r["name"]: r for r in doc.get("rules", [])}


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

def build() -> list[dict]:
    rules = load_rules()
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
    for rule_name, word in (("raqqa", "الرقة"), ("isis", "داعش")):
        rule = rules.get(rule_name) or {"any": [word]}
        objects.append(_obj("search", f"chavder-rule-{rule_name}", {
            "title": f"Chavder rule: {word} ({rule_name})",
            "description": f"Articles matching the '{rule_name}' alert rule (any/none terms, "
                           "normalised like the alert matcher). Generated from alerts.yaml.",
            "columns": ["title", "source", "language", "canonical_url"],
            "sort": [["timeline_at", "desc"]], "grid": {}, "hideChart": False,
            "isTextBasedQuery": False, "timeRestore": False,
            "kibanaSavedObjectMeta": _search_source(rule_query(rule), "lucene")},
            _index_ref(ARTICLES)))
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


def render() -> str:
    return "".join(json.dumps(o, ensure_ascii=False, sort_keys=True) + "\n" for o in build())


def main(argv: list[str]) -> int:
    text = render()
    if "--check" in argv:
        if OUT.read_text(encoding="utf-8") != text:
            print(f"{OUT} is stale: run {Path(__file__).name} to regenerate", file=sys.stderr)
            return 1
        return 0
    OUT.write_text(text, encoding="utf-8")
    print(f"wrote {OUT} ({len(text.splitlines())} objects)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
