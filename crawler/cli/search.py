"""``chavder search`` and ``chavder story``: reading the store, never writing it."""
from __future__ import annotations

import json
import sys
from datetime import datetime

import click

from crawler.cli.common import Invocation, When, pass_invocation, store_options


@click.command("search", help="full-text search of stored articles")
@store_options
@click.argument("query")
@click.option("--lang", metavar="CODE", help="only articles in this language (ar, ckb, kmr, …)")
@click.option("--source", metavar="ID", help="only articles of this source")
@click.option("--since", type=When(), help="oldest publication time (YYYY-MM-DD or ISO 8601)")
@click.option("--until", type=When(), help="newest publication time (YYYY-MM-DD or ISO 8601)")
@click.option("--limit", type=int, default=20, show_default=True)
@click.option("--all", "all_copies", is_flag=True, help="list every copy, not one row per story")
@click.option("--json", "as_json", is_flag=True, help="one JSON object per line")
@pass_invocation
def cmd_search(inv: Invocation, query: str, lang: str | None, source: str | None,
               since: datetime | None, until: datetime | None, limit: int, all_copies: bool,
               as_json: bool) -> int:
    from crawler.store import SearchQuery
    store = inv.open_store(write=False)
    try:
        hits = store.search(SearchQuery(text=query, language=lang, source=source, since=since,
                                        until=until, limit=limit, all_copies=all_copies))
    finally:
        store.close()
    if as_json:
        for hit in hits:
            print(json.dumps(hit.to_json(), ensure_ascii=False))
        return 0
    if not hits:
        print(f"no results for {query!r}")
        return 0
    for n, hit in enumerate(hits, 1):
        print(f"{n}. {hit.title}")
        print(f"   {hit.source} · {hit.published_at or 'undated'} · {hit.language or '?'}"
              f" · score {hit.score:.2f}")
        print(f"   {hit.url}")
        print(f"   {hit.snippet}")
        if hit.also_reported_by:
            print(f"   also reported by: {', '.join(hit.also_reported_by)}")
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
