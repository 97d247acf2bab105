"""``chavder search`` and ``chavder story``: reading the store, never writing it."""
from __future__ import annotations

import json
import sys
from datetime import datetime

import click

from crawler.cli.common import Invocation, When, pass_invocation, store_options


@click.command("search", help="full-text search of stored articles (or with an alert rule's "
               "terms: --rule NAME)")
@store_options
@click.argument("words", nargs=-1)
@click.option("--rule", metavar="NAME",
              help="search with this alert rule's terms, variants and conditions")
@click.option("--lang", metavar="CODE", help="only articles in this language (ar, ckb, kmr, …)")
@click.option("--source", metavar="ID", help="only articles of this source")
@click.option("--since", type=When(),
              help="oldest publication time (24h, 7d, yesterday, YYYY-MM-DD or ISO 8601)")
@click.option("--until", type=When(),
              help="newest publication time (24h, 7d, yesterday, YYYY-MM-DD or ISO 8601)")
@click.option("--sort", type=click.Choice(["relevance", "newest"]), default="relevance",
              show_default=True, help="best matches first, or newest first")
@click.option("--limit", type=int, default=20, show_default=True)
@click.option("--all", "all_copies", is_flag=True, help="list every copy, not one row per story")
@click.option("--json", "as_json", is_flag=True, help="one JSON object per line")
@pass_invocation
def cmd_search(inv: Invocation, words: tuple[str, ...], rule: str | None, lang: str | None,
               source: str | None, since: datetime | None, until: datetime | None, sort: str,
               limit: int, all_copies: bool, as_json: bool) -> int:
    from crawler.store import SearchQuery
    query = " ".join(words)     # several words are one query, as if quoted on the shell
    if lang or source:
        problem = _unknown_filter(inv, lang, source)
        if problem:
            print(f"error: {problem}", file=sys.stderr)
            return 2
    if rule:
        return _search_rule(inv, rule, lang=lang, source=source, since=since, until=until,
                            limit=limit, all_copies=all_copies, as_json=as_json)
    if not query:
        print("error: give a query or --rule NAME", file=sys.stderr)
        return 2
    store = inv.open_store(write=False)
    try:
        hits = store.search(SearchQuery(text=query, language=lang, source=source, since=since,
                                        until=until, limit=limit, all_copies=all_copies,
                                        sort=sort))
    finally:
        store.close()
    if as_json:
        for hit in hits:
            print(json.dumps(hit.to_json(), ensure_ascii=False))
        return 0
    if not hits:
        print(f"no results for {query!r}")
        return 0
    from crawler.cli.results import print_results
    print_results(hits, sys.stdout)
    return 0


def _unknown_filter(inv: Invocation, lang: str | None, source: str | None) -> str | None:
    """Why ``--lang``/``--source`` can match nothing (a value no stored article and no listed
    source has), with the values that exist; None when both are known."""
    store = inv.open_store(write=False)
    try:
        facets = store.search_facets()
    finally:
        store.close()
    listed = inv.known_sources()
    known = {"lang": set(facets["language"]) | {g for s in listed for g in s.languages},
             "source": set(facets["source"]) | {s.id for s in listed}}
    for option, value in (("lang", lang), ("source", source)):
        if value is not None and value not in known[option]:
            valid = ", ".join(sorted(known[option])) or "(none yet: the store is empty)"
            return f"--{option} {value!r} matches nothing — valid values: {valid}"
    return None


def _search_rule(inv: Invocation, name: str, *, lang: str | None, source: str | None,
                 since: datetime | None, until: datetime | None, limit: int, all_copies: bool,
                 as_json: bool) -> int:
    """``search --rule NAME``: stored articles the rule matches (its spellings, variants and
    conditions — the alert matcher itself, so search and alerts agree), newest first."""
    from crawler.alerts.search import search_rule
    from crawler.cli.alerts import rules_of
    rule = next((r for r in rules_of(inv, None) if r.name == name), None)
    if rule is None:
        print(f"error: no rule named {name!r}", file=sys.stderr)
        return 2
    store = inv.open_store(write=False)
    try:
        rows = search_rule(store, rule, since=since, until=until, language=lang, source=source,
                           limit=limit, all_copies=all_copies)
    finally:
        store.close()
    for n, row in enumerate(rows, 1):
        if as_json:
            print(json.dumps(row, ensure_ascii=False, default=str))
            continue
        print(f"{n}. {row['title']}\n   {row['source']} · {row['published_at'] or 'undated'} · "
              f"{row['language'] or '?'} · {', '.join(row['matched_terms'])}\n"
              f"   {row['canonical_url']}")
    if not rows and not as_json:
        print(f"no stored article matches rule {name!r}")
    return 0


@click.command("story", help="show a story cluster: its copies and outlets")
@store_options
@click.argument("story_id", type=int)
@click.option("--json", "as_json", is_flag=True, help="print the story as one JSON object")
@pass_invocation
def cmd_story(inv: Invocation, story_id: int, as_json: bool) -> int:
    store = inv.open_store(write=False)
    try:
        story = store.story(story_id)
    finally:
        store.close()
    if story is None:
        print(f"no story {story_id}", file=sys.stderr)
        return 1
    if as_json:
        print(json.dumps(story, ensure_ascii=False, default=str))
        return 0
    rep = next((a for a in story["articles"] if a["id"] == story["representative_id"]),
               story["articles"][0])
    print(f"story {story['id']}: {rep['title']}")
    print(f"  outlets: {', '.join(story['outlets'])}")
    print(f"  first seen {story['first_seen']} · last seen {story['last_seen']}")
    for a in story["articles"]:
        marker = "*" if a["id"] == story["representative_id"] else " "
        print(f"  {marker} [{a['source']}] {a['published_at'] or 'undated'} rev {a['revision']} "
              f"{a['canonical_url']}")
    return 0
