"""Search results as a person reads them in a terminal: hits in bold and underlined when the
output is a terminal (plain text otherwise — «» would read as Arabic quotation marks), URLs
decoded (readable Arabic and Kurdish paths), and, on a terminal, every piece of stored text in
a Unicode directional isolate so an Arabic title or excerpt reads in order in a terminal that
implements bidi, without reordering the numbers and dates around it."""
from __future__ import annotations

import json
import re
import unicodedata
from typing import TextIO

from crawler.store.base import SearchHit
from crawler.store.query_text import mark_spans
from crawler.text.direction import text_direction
from crawler.urls import display_url

HIT_ON = "\x1b[1;4m"     # bold, underlined
HIT_OFF = "\x1b[22;24m"  # neither (other attributes stay)

LRI, RLI, FSI, PDI = "\u2066", "\u2067", "\u2068", "\u2069"
_URL_SEPARATORS = re.compile(r"([/?&=#])")


class Isolator:
    """Wraps text in a directional isolate (RLI/LRI by language, FSI when it is unknown), or
    leaves it as it is (``enabled=False``: piped output, where invisible marks would
    break exact matches). An isolate is closed on the same line it opens: a terminal resets
    the embedding at every line end."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled

    def __call__(self, text: str, language: str | None = None) -> str:
        if not self.enabled or not text:
            return text
        opener = {"rtl": RLI, "ltr": LRI}.get(text_direction(language), FSI)
        return opener + text + PDI

    def ltr(self, text: str) -> str:
        """Text that reads left to right whatever it contains."""
        return LRI + text + PDI if self.enabled and text else text

    def url(self, url: str) -> str:
        """A decoded URL, left to right, each right-to-left path segment isolated on its own:
        otherwise bidi joins ``هەواڵ/2017/06/هەسەدە`` into one right-to-left run and shows
        the segments in reverse order."""
        if not self.enabled or not url:
            return url
        return LRI + "".join(FSI + part + PDI if rtl else part
                             for part, rtl in url_parts(url)) + PDI

    def each(self, names: list[str], sep: str = ", ") -> str:
        """A list of names (outlets: Arabic and Latin mixed), each isolated on its own."""
        return sep.join(self(name) for name in names)


def url_parts(url: str) -> list[tuple[str, bool]]:
    """``url`` cut at every ``/``, ``?``, ``&``, ``=`` and ``#`` into (piece, has right-to-left
    letters) pairs, separators on their own; joined, the pieces are ``url`` again."""
    return [(part, any(unicodedata.bidirectional(ch) in ("R", "AL") for ch in part))
            for part in _URL_SEPARATORS.split(url) if part]


def result_lines(n: int, hit: SearchHit, *, terminal: bool,
                 isolate: Isolator | None = None) -> list[str]:
    """The lines of result ``n``: title, source line, URL, excerpt, other outlets."""
    iso = isolate or Isolator(False)
    excerpt = mark_spans(hit.excerpt, hit.spans, HIT_ON, HIT_OFF) if terminal else hit.excerpt
    lines = [f"{n}. {iso(hit.title, hit.language)}",
             f"   {iso(hit.source)} · {hit.published_at or 'undated'} · {hit.language or '?'}"
             f" · score {hit.score:.2f} · article {hit.article_id}",
             f"   {iso.url(display_url(hit.url))}",
             f"   {iso(excerpt, hit.language)}"]
    if hit.also_reported_by:
        lines.append(f"   also reported by: {iso.each(hit.also_reported_by)}")
    return lines


def print_results(hits: list[SearchHit], out: TextIO, *, bidi: bool | None = None) -> None:
    """``bidi``: isolate each line's text (default: when ``out`` is a terminal)."""
    terminal = out.isatty()
    isolate = Isolator(terminal if bidi is None else bidi)
    for n, hit in enumerate(hits, 1):
        for line in result_lines(n, hit, terminal=terminal, isolate=isolate):
            print(line, file=out)


def article_lines(row: dict, *, outlet: str, isolate: Isolator) -> list[str]:
    """A stored article as a reader wants it: title, outlet and times, URL (decoded), authors,
    then the body, paragraph by paragraph (each isolated on a terminal)."""
    iso, lang = isolate, row.get("language")
    when = row.get("published_at") or "undated"
    if row.get("updated_at"):
        when += f" · updated {row['updated_at']}"
    lines = [iso(row["title"], lang),
             f"{iso(outlet)} ({row['source']}) · {when} · {lang or '?'} · article {row['id']}"
             f" · story {row['story_id']} · rev {row.get('revision', 1)}",
             iso.url(display_url(row.get("canonical_url") or row.get("url")))]
    authors = json.loads(row.get("authors") or "[]")
    if authors:
        lines.append(f"by {iso.each([str(a) for a in authors])}")
    lines.append("")
    lines += [iso(p, lang) if p.strip() else "" for p in (row.get("body") or "").splitlines()]
    return lines
