"""The search query grammar and result snippets, shared by every backend.

Words are ANDed, a "quoted phrase" keeps its words together, ``OR`` between words separates
alternatives. Each backend renders the parsed groups in its own language (an FTS5 MATCH
expression, an Elasticsearch bool query), so both answer the same query the same way.
"""
from __future__ import annotations

import re
from typing import Iterator

from crawler.text import Token, query_terms, tokens

_PHRASE = re.compile(r'"([^"]+)"|(\S+)')
_SNIPPET_WORDS = 14
_SPACES = re.compile(r"\s+")
_CHUNK = re.compile(r"\S+(?:\s+\S+){0,31}")     # 32 whitespace-separated words


def query_groups(text: str, language: str | None = None) -> list[list[list[str]]]:
    """User query → alternatives (split on ``OR``) of ANDed parts; each part is the analysed
    keys of one word (one key) or of one quoted phrase (several). Words without a searchable
    key are dropped, and so are empty alternatives."""
    groups: list[list[list[str]]] = [[]]
    for m in _PHRASE.finditer(text):
        if m.group(2) == "OR":
            if groups[-1]:
                groups.append([])
            continue
        keys = [k for k in query_terms(m.group(1) or m.group(2), language) if k]
        if keys:
            groups[-1].append(keys)
    return [g for g in groups if g]


def make_snippet(body: str, query: str,
                 language: str | None) -> tuple[str, list[tuple[int, int]]]:
    """A window of the original body around the first query hit (whitespace runs made one
    space), and the ``(start, end)`` offsets of the hits in it — marking them is the reader's
    choice (terminal bold, HTML ``<mark>``, JSON spans).

    The body is analysed lazily, a few dozen words at a time, up to the window's end: a hit
    near the top (the usual case) costs a fraction of analysing a 300-word article."""
    keys = {k for k in query_terms(query.replace('"', " "), language) if k}
    stream = _lazy_tokens(body, language)
    toks: list[Token] = []
    hit_index = None
    for tok in stream:
        toks.append(tok)
        if keys & set(tok.keys):
            hit_index = len(toks) - 1
            break
    if hit_index is None:
        first = " ".join(body.split()[:2 * _SNIPPET_WORDS])
        return first + ("…" if len(body.split()) > 2 * _SNIPPET_WORDS else ""), []
    for tok in stream:               # the window's end, and one more to know if text follows
        toks.append(tok)
        if len(toks) > hit_index + _SNIPPET_WORDS + 1:
            break
    lo = max(0, hit_index - _SNIPPET_WORDS)
    hi = min(len(toks) - 1, hit_index + _SNIPPET_WORDS)
    text = "…" if lo > 0 else ""
    spans: list[tuple[int, int]] = []
    cursor = toks[lo].start
    for tok in toks[lo:hi + 1]:
        text += _SPACES.sub(" ", body[cursor:tok.start])
        surface = _SPACES.sub(" ", tok.surface)
        if keys & set(tok.keys):
            spans.append((len(text), len(text) + len(surface)))
        text += surface
        cursor = tok.end
    return text + ("…" if hi < len(toks) - 1 else ""), spans


def _lazy_tokens(body: str, language: str | None) -> Iterator[Token]:
    """``tokens(body)``, one chunk of words at a time (a token never crosses whitespace, so
    the tokens are the same)."""
    for chunk in _CHUNK.finditer(body):
        offset = chunk.start()
        for tok in tokens(chunk.group(), language):
            yield Token(tok.start + offset, tok.end + offset, tok.surface, tok.keys)


def mark_spans(text: str, spans: list[tuple[int, int]], before: str, after: str) -> str:
    """``text`` with every span between ``before`` and ``after``."""
    out, pos = [], 0
    for start, end in spans:
        out += [text[pos:start], before, text[start:end], after]
        pos = end
    return "".join(out) + text[pos:]
