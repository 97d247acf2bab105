"""Search results as a person reads them in a terminal: hits in bold and underlined when the
output is a terminal (plain text otherwise — «» would read as Arabic quotation marks)."""
from __future__ import annotations

from typing import TextIO

from crawler.store.base import SearchHit
from crawler.store.query_text import mark_spans

HIT_ON = "\x1b[1;4m"     # bold, underlined
HIT_OFF = "\x1b[22;24m"  # neither (other attributes stay)


def result_lines(n: int, hit: SearchHit, *, terminal: bool) -> list[str]:
    """The lines of result ``n``: title, source line, URL, excerpt, other outlets."""
    excerpt = mark_spans(hit.excerpt, hit.spans, HIT_ON, HIT_OFF) if terminal else hit.excerpt
    lines = [f"{n}. {hit.title}",
             f"   {hit.source} · {hit.published_at or 'undated'} · {hit.language or '?'}"
             f" · score {hit.score:.2f}",
             f"   {hit.url}",
             f"   {excerpt}"]
    if hit.also_reported_by:
        lines.append(f"   also reported by: {', '.join(hit.also_reported_by)}")
    return lines


def print_results(hits: list[SearchHit], out: TextIO) -> None:
    terminal = out.isatty()
    for n, hit in enumerate(hits, 1):
        for line in result_lines(n, hit, terminal=terminal):
            print(line, file=out)
