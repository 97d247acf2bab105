"""``chavder search`` and ``chavder story``: reading the store, never writing it."""
from __future__ import annotations

import json
import sys
from datetime import datetime

import click

from crawler.cli.common import Invocation, article_filters, bidi_option, output_to, \
    pass_invocation, store_options, unknown_filter
from crawler.urls import display_url


@click.command("search", help="full-text search of stored articles (or with an alert rule's "
               "terms: --rule NAME)")
@store_options
@click.argument("words", nargs=-1)
@click.option("--rule", metavar="NAME",
              help="search with this alert rule's terms, variants and conditions")
@article_filters
@click.option("--sort", type=click.Choice(["relevance", "newest"]), default="relevance",
              show_default=True, help="best matches first, or newest first")
@click.option("--limit", type=int, default=20, show_default=True)
@click.option("--all", "all_copies", is_flag=True, help="list every copy, not one row per story")
@click.option("--json", "as_json", is_flag=True, help="one JSON object per line "
              "(= --format json)")
@click.option("--format", "fmt", type=click.Choice(["text", "json", "html"]), default="text",
              show_default=True, help="html: one self-contained page (for terminals without "
              "bidi; open it in a browser)")
@click.option("-o", "--output", type=click.Path(dir_okay=False, writable=True), metavar="FILE",
              help="write the results to FILE (default: stdout)")
@bidi_option
@pass_invocation
def cmd_search(inv: Invocation, words: tuple[str, ...], rule: str | None, lang: str | None,
               source: str | None, since: datetime | None, until: datetime | None, sort: str,
               limit: int, all_copies: bool, as_json: bool, fmt: str, output: str | None,
               bidi: bool | None) -> int:
    from crawler.store import SearchQuery
    query = " ".join(words)     # several words are one query, as if quoted on the shell
    fmt = "json" if as_json else fmt
    as_json = fmt == "json"
    if rule and fmt == "html":
        print("error: --format html shows a text search; with --rule use text or json",
              file=sys.stderr)
        return 2
    if lang or source:
        problem = unknown_filter(inv, lang, source)
        if problem:
            print(f"error: {problem}", file=sys.stderr)
            return 2
    if rule:
        return _search_rule(inv, rule, lang=lang, source=source, since=since, until=until,
                            limit=limit, all_copies=all_copies, as_json=as_json, output=output,
                            bidi=bidi)
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
    with output_to(output) as out:
        if fmt == "html":
            from crawler.cli.results_html import results_page
            outlets = {s.id: s.name for s in inv.known_sources()}
            out.write(results_page(query, hits, store=inv.store_name(), outlets=outlets))
        elif as_json:
            for hit in hits:
                print(json.dumps(hit.to_json(), ensure_ascii=False), file=out)
        elif not hits:
            print(f"no results for {query!r}", file=out)
        else:
            from crawler.cli.results import print_results
            print_results(hits, out, bidi=bidi)
    if output:
        print(f"{len(hits)} result(s) written to {output}", file=sys.stderr)
    return 0


def _search_rule(inv: Invocation, name: str, *, lang: str | None, source: str | None,
                 since: datetime | None, until: datetime | None, limit: int, all_copies: bool,
                 as_json: bool, output: str | None, bidi: bool | None) -> int:
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
    from crawler.cli.results import Isolator
    with output_to(output) as out:
        iso = Isolator(out.isatty() if bidi is None else bidi)
        for n, row in enumerate(rows, 1):
            if as_json:
                print(json.dumps(row, ensure_ascii=False, default=str), file=out)
                continue
            print(f"{n}. {iso(row['title'], row['language'])}\n   {iso(row['source'])} · "
                  f"{row['published_at'] or 'undated'} · {row['language'] or '?'} · "
                  f"{iso.each(row['matched_terms'])}\n"
                  f"   {iso.url(display_url(row['canonical_url']))}", file=out)
        if not rows and not as_json:
            print(f"no stored article matches rule {name!r}", file=out)
    return 0


@click.command("story", short_help="show a story cluster: its copies and outlets",
               help="show a story cluster: its copies and outlets (--text: and the stored text "
               "of its first copy)")
@store_options
@click.argument("story_id", type=int)
@click.option("--json", "as_json", is_flag=True, help="print the story as one JSON object")
@click.option("--text", "with_text", is_flag=True,
              help="also print the stored text of the story's representative copy")
@bidi_option
@pass_invocation
def cmd_story(inv: Invocation, story_id: int, as_json: bool, with_text: bool,
              bidi: bool | None) -> int:
    store = inv.open_store(write=False)
    try:
        story = store.story(story_id)
        rep = _representative(story) if story else None
        row = store.article_row_by_id(rep["id"]) if rep and with_text else None
    finally:
        store.close()
    if story is None or rep is None:
        print(f"no story {story_id}", file=sys.stderr)
        return 1
    if as_json:
        if row is not None:
            story = {**story, "text": row["body"]}
        print(json.dumps(story, ensure_ascii=False, default=str))
        return 0
    from crawler.cli.results import Isolator
    iso = Isolator(sys.stdout.isatty() if bidi is None else bidi)
    print(f"story {story['id']}: {iso(rep['title'], rep.get('language'))}")
    print(f"  outlets: {iso.each(story['outlets'])}")
    print(f"  first seen {story['first_seen']} · last seen {story['last_seen']}")
    for a in story["articles"]:
        marker = "*" if a["id"] == story["representative_id"] else " "
        print(f"  {marker} [{iso(a['source'])}] {a['published_at'] or 'undated'} rev "
              f"{a['revision']} article {a['id']} {iso.url(display_url(a['canonical_url']))}")
    if row is not None:
        from crawler.cli.results import article_lines
        print()
        for line in article_lines(row, outlet=inv.outlet_name(row["source"]), isolate=iso):
            print(line)
    return 0


def _representative(story: dict) -> dict | None:
    articles = story.get("articles") or []
    return next((a for a in articles if a["id"] == story["representative_id"]),
                articles[0] if articles else None)
