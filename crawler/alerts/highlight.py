"""Show matched terms to a reader: escaped HTML with ``<mark>``, and a short excerpt around hits.

Article text is untrusted (any outlet, any markup), so everything that is not a ``<mark>`` tag
is escaped here; the result is a :class:`markupsafe.Markup` so Jinja2 will not escape it twice.
"""
from __future__ import annotations

from typing import Iterable

from markupsafe import Markup, escape

ELLIPSIS = "…"


def merge_spans(spans: Iterable[tuple[int, int]], length: int) -> list[tuple[int, int]]:
    """Sorted, clipped, non-overlapping spans (overlapping or touching spans are joined)."""
    out: list[tuple[int, int]] = []
    for start, end in sorted((max(0, s), min(length, e)) for s, e in spans):
        if end <= start:
            continue
        if out and start <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], end))
        else:
            out.append((start, end))
    return out


def highlight(text: str, spans: Iterable[tuple[int, int]]) -> Markup:
    """``text`` as escaped HTML with every span wrapped in ``<mark>``."""
    parts: list[str] = []
    pos = 0
    for start, end in merge_spans(spans, len(text)):
        parts.append(str(escape(text[pos:start])))
        parts.append("<mark>" + str(escape(text[start:end])) + "</mark>")
        pos = end
    parts.append(str(escape(text[pos:])))
    return Markup("".join(parts))


def _snap_left(text: str, i: int, limit: int) -> int:
    """Move ``i`` left to a word start, but no further than ``limit`` characters."""
    j = i
    while j > 0 and i - j < limit and not text[j - 1].isspace():
        j -= 1
    return j if j == 0 or text[j - 1].isspace() else i


def _snap_right(text: str, i: int, limit: int) -> int:
    j = i
    while j < len(text) and j - i < limit and not text[j].isspace():
        j += 1
    return j if j == len(text) or text[j].isspace() else i


def excerpt(text: str, spans: Iterable[tuple[int, int]], *,
            width: int = 360) -> tuple[str, list[tuple[int, int]]]:
    """About ``width`` characters of ``text`` around the first span (the start of the text if
    there is none) on one line, cut at word boundaries and marked with '…'; returns the excerpt
    and the spans shifted into it (spans outside the excerpt are dropped)."""
    spans = merge_spans(spans, len(text))
    if len(text) <= width:
        return text.replace("\n", " "), spans
    if spans:
        first_start, first_end = spans[0]
        start = max(0, first_start - width // 3)
        end = min(len(text), max(first_end, start + width))
        start = max(0, min(start, end - width))
    else:
        start, end = 0, width
    start = _snap_left(text, start, 20) if start > 0 else 0
    end = _snap_right(text, end, 20) if end < len(text) else end
    # newlines become spaces (same length, so offsets stay exact); leading blanks are counted
    piece = text[start:end].replace("\n", " ")
    lead = 0
    while lead < len(piece) and piece[lead].isspace():
        lead += 1
    piece = piece[lead:].rstrip()
    prefix = ELLIPSIS + " " if start > 0 else ""
    suffix = " " + ELLIPSIS if end < len(text) else ""
    shift = len(prefix) - start - lead
    shifted = [(s + shift, e + shift) for s, e in spans
               if s >= start + lead and e <= start + lead + len(piece)]
    return prefix + piece + suffix, shifted
