"""``chavder show ID`` (one stored article's text) and ``chavder export`` (stored articles with
their bodies, as JSON lines or CSV): reading the store, never writing it."""
from __future__ import annotations

import json
import sys
from datetime import datetime

import click

from crawler.cli.common import Invocation, article_filters, bidi_option, output_to, \
    pass_invocation, store_options, unknown_filter


@click.command("show", short_help="print the stored text of one article",
               help="print the stored text of one article (ID: `article N` in search and story "
               "output, `id` in --json)")
@store_options
@click.argument("article_id", type=int)
@click.option("--json", "as_json", is_flag=True, help="the article as one JSON object (the "
              "fields of `chavder export`)")
@bidi_option
@pass_invocation
def cmd_show(inv: Invocation, article_id: int, as_json: bool, bidi: bool | None) -> int:
    store = inv.open_store(write=False)
    try:
        row = store.article_row_by_id(article_id)
    finally:
        store.close()
    if row is None:
        print(f"no article {article_id}", file=sys.stderr)
        return 1
    if as_json:
        from crawler.export import exported
        print(json.dumps(exported(row), ensure_ascii=False))
        return 0
    from crawler.cli.results import Isolator, article_lines
    iso = Isolator(sys.stdout.isatty() if bidi is None else bidi)
    for line in article_lines(row, outlet=inv.outlet_name(row["source"]), isolate=iso):
        print(line)
    return 0


@click.command("export", short_help="export stored articles with bodies (JSON lines, CSV)",
               help="write stored articles with their bodies as JSON lines or CSV")
@store_options
@click.option("--format", "fmt", type=click.Choice(["jsonl", "csv"]), default="jsonl",
              show_default=True, help="jsonl: one JSON object per line; csv: a header row, "
              "UTF-8")
@article_filters
@click.option("-o", "--output", type=click.Path(dir_okay=False, writable=True), metavar="FILE",
              help="write to FILE (default: stdout)")
@pass_invocation
def cmd_export(inv: Invocation, fmt: str, source: str | None, lang: str | None,
               since: datetime | None, until: datetime | None, output: str | None) -> int:
    from crawler.export import WRITERS, ExportFilter, export_rows
    if lang or source:
        problem = unknown_filter(inv, lang, source)
        if problem:
            print(f"error: {problem}", file=sys.stderr)
            return 2
    store = inv.open_store(write=False)
    try:
        rows = export_rows(store, ExportFilter(source=source, language=lang, since=since,
                                               until=until))
        with output_to(output) as out:
            count = WRITERS[fmt](rows, out)
    finally:
        store.close()
    print(f"exported {count} article(s){f' to {output}' if output else ''}", file=sys.stderr)
    return 0

