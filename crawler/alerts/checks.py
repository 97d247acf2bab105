"""Verifying a hit of a *checked* term against the article's characters, after the matcher's
key scan found it: case-sensitive terms (capitals where the term has them), ``exact`` and
``whole_word`` terms (no variant / no affix), and variants blocked because they would reach a
listed common word (crawler/alerts/collisions.txt). Kept out of the scan: it runs only for the
few phrases that occur and need it.
"""
from __future__ import annotations

import unicodedata
from typing import Any

from crawler.alerts.context import Context, contexts
from crawler.alerts.rules import TermOptions
from crawler.alerts.variants import COLLISIONS, skeleton
from crawler.text import tokens

__all__ = ["Check"]

_CASE_MARKS = dict.fromkeys(i for i in range(0x0300, 0x0370))


def _cased(text: str) -> str:
    """``text`` without Latin diacritics and dotted-İ marks but with its capitals."""
    return unicodedata.normalize("NFKD", text).translate(_CASE_MARKS)


class Check:
    """Verifies a hit of a term with options against the article's characters."""

    __slots__ = ("words", "alts", "opts", "surfaces", "blocked", "contexts", "own")

    def __init__(self, term: str, words: tuple[str, ...], alts: tuple[tuple[str, ...], ...],
                 opts: TermOptions, block: frozenset[str], own: Context | None = None):
        self.words, self.alts, self.opts = words, alts, opts
        self.own = own              # the term is itself a listed word with context cues
        self.blocked = block        # listed words (or phrases) no variant may match
        known = contexts(COLLISIONS)  # … unless the words around them make them the name
        self.contexts: dict[str, Context] = {w: known[w] for w in block if w in known}
        surfaces = [t.surface for t in tokens(term)]
        self.surfaces = tuple(map(_cased, surfaces)) if len(surfaces) == len(words) else None

    def passes(self, field: Any, first: int, last: int) -> bool:
        if self.own is not None and first == last and not self.own.is_name(field, first):
            return False        # بمنتهى الرقة: the common word spelled like the term
        if self.blocked:        # a listed word reached only through a variant: not this term
            if first == last:
                keys = field.stream[first]
                # the listed word as written or behind proclitics (بالجنة), not before a
                # suffix (ڕەقەدا is "in Raqqa", not "is hard")
                if self.words[0] not in keys:
                    for k in keys:
                        if k in self.blocked and keys[0].endswith(k):
                            context = self.contexts.get(k)
                            if context is None or not context.is_name(field, first):
                                return False
            elif " ".join(k[0] for k in field.stream[first:last + 1] if k) in self.blocked:
                return False
        k = 0
        for i in range(first, last + 1):
            keys = field.stream[i]
            if not keys:
                continue
            if k >= len(self.words):
                return False
            full = keys[0]
            if self.opts.exact and full != self.words[k]:
                return False
            if self.opts.whole_word and full not in self.alts[k] \
                    and skeleton(full) not in self.alts[k]:
                return False
            if self.opts.case_sensitive and self.surfaces is not None:
                start, end = field.span(i)
                if not _same_case(_cased(field.text[start:end]), self.surfaces[k]):
                    return False
            k += 1
        return True


def _same_case(surface: str, term: str) -> bool:
    """Capitals where the term has them: an all-capitals term only in capitals (ISIS, not
    Isis), a capitalised one only capitalised (Islamic State, not "an Islamic state"), any
    other mix exactly as written."""
    if term.isupper():
        return surface.isupper()
    if term[:1].isupper() and (len(term) == 1 or term[1:].islower()):
        return surface[:1].isupper()
    if term.islower() or not any(c.isalpha() for c in term):
        return True
    return surface == term
