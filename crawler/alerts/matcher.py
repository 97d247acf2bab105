"""Match articles against thousands of keyword rules in one pass over the article's tokens.

Design (why nested dicts and not pyahocorasick): the text layer gives every document token a
*set* of keys (its normalised form plus forms with proclitics/suffixes stripped), and a query
word matches a token when the word's key is in that set. A character automaton would need a
lattice of all key combinations per token and would re-implement word boundaries the text layer
already defines; instead every term is compiled once into a tuple of keys, and all terms of all
rules go into one trie of dicts keyed by those keys (level 1 is the "first key → phrase
candidates" dict). Per article we walk the tokens once and probe the root with each token key;
a phrase is followed only while its prefix matches, one probe per key per step, so the cost is
O(tokens × keys per token) whatever the number of rules — even when thousands of rules watch
names that share a first word. Rule logic (any/all/none, languages, sources) then runs only for
rules that own a term that was hit: cost grows with the number of *matches*, not of rules.

Key tuples depend on the article language (normalisation is language-aware), so the index is
built lazily per language with ``query_terms(term, lang)`` — exactly the function whose keys the
text layer promises to be consistent with ``tokens(text, lang)``.

Tokenisation is the dominant cost, so it is memoised per whitespace-separated chunk: news
vocabulary is Zipfian and most chunks repeat. This relies on the text layer never joining
characters across whitespace into one token (tests check chunked == whole-text tokenisation).
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Iterable, Sequence

from crawler.alerts.highlight import highlight
from crawler.alerts.rules import Rule
from crawler.text import query_terms, tokens

__all__ = ["Matcher", "RuleMatch", "TermHit", "highlight", "tokenize"]

_CHUNK = re.compile(r"\S+")
# What may separate the words of a phrase: spaces, one line break, joiners, hyphens, quotes and
# tatweel — but not sentence punctuation or a paragraph break ("… في الرقة. الدولة …").
_GAP = re.compile(r"[\s\u200b-\u200d\u2060\u00ad\-\u2010-\u2015'\"«»\u2018-\u201f\u0640]*")
_ANY, _ALL, _NONE = 0, 1, 2
Tok = tuple[int, int, tuple[str, ...]]          # (start, end, keys) in the field's text


@dataclass(frozen=True)
class TermHit:
    """One occurrence of a rule term: ``text[start:end] == surface`` in the named field."""

    term: str           # the spelling as written in the rule
    field: str          # "title" | "body"
    start: int
    end: int
    surface: str        # the characters as they appear in the article


@dataclass(frozen=True)
class RuleMatch:
    rule: Rule
    terms: list[TermHit]

    def spans(self, field: str) -> list[tuple[int, int]]:
        """Character spans of this match in ``field``, for :func:`highlight`."""
        return [(h.start, h.end) for h in self.terms if h.field == field]

    @property
    def matched_terms(self) -> list[str]:
        """Distinct rule terms that fired, in order of first occurrence."""
        return list(dict.fromkeys(h.term for h in self.terms))


@lru_cache(maxsize=1 << 18)
def _chunk_tokens(chunk: str, lang: str | None) -> tuple[Tok, ...]:
    return tuple((t.start, t.end, t.keys) for t in tokens(chunk, lang))


def tokenize(text: str, lang: str | None) -> list[Tok]:
    """``tokens(text, lang)`` as (start, end, keys), memoised per whitespace-separated chunk."""
    out: list[Tok] = []
    for m in _CHUNK.finditer(text):
        cached = _chunk_tokens(m.group(), lang)
        if not cached:
            continue
        base = m.start()
        out.extend([(base + s, base + e, k) for s, e, k in cached])
    return out


def _gap_ok(text: str, a: int, b: int) -> bool:
    if b - a == 1 and text[a] == " ":
        return True
    gap = text[a:b]
    return _GAP.fullmatch(gap) is not None and gap.count("\n") <= 1


class _LangIndex:
    """All terms of all rules compiled for one article language: a trie of nested dicts keyed
    by query-word key; ``node[None]`` lists the phrase ids that end at that node."""

    def __init__(self, terms: Sequence[str], lang: str | None):
        self.root: dict = {}
        self.term_phrase: list[int] = []          # term id → phrase id (-1: no keys)
        phrase_ids: dict[tuple[str, ...], int] = {}
        for term in terms:
            keys = tuple(query_terms(term, lang))
            if not keys:
                self.term_phrase.append(-1)
                continue
            pid = phrase_ids.get(keys)
            if pid is None:
                pid = phrase_ids[keys] = len(phrase_ids)
                node = self.root
                for key in keys:
                    node = node.setdefault(key, {})
                node.setdefault(None, []).append(pid)
            self.term_phrase.append(pid)
        self.n_phrases = len(phrase_ids)

    def scan(self, toks: list[Tok], text: str) -> dict[int, list[tuple[int, int]]]:
        """Phrase id → [(first token, last token)] for every phrase occurring in ``toks``.

        Each token costs one dict probe per key at the root; a phrase is followed further only
        while its prefix matches, with one probe per key per step however many phrases share
        that prefix (e.g. thousands of names starting with محمد)."""
        found: dict[int, list[tuple[int, int]]] = {}
        root = self.root
        n = len(toks)
        for i, (_, _, keys) in enumerate(toks):
            nodes = [node for key in keys if (node := root.get(key)) is not None]
            j = i
            while nodes:
                for node in nodes:
                    ends = node.get(None)
                    if ends is not None:
                        for pid in ends:
                            found.setdefault(pid, []).append((i, j))
                j += 1
                if j >= n or not _gap_ok(text, toks[j - 1][1], toks[j][0]):
                    break
                nxt = toks[j][2]
                nodes = [child for node in nodes for key in nxt
                         if (child := node.get(key)) is not None]
        return found


def _outermost(hits: list[TermHit]) -> list[TermHit]:
    """Hits in reading order (title first), dropping a hit inside a longer one
    ("تنظيم الدولة" within "تنظيم الدولة الإسلامية")."""
    hits.sort(key=lambda h: (h.field != "title", h.start, -h.end))
    out: list[TermHit] = []
    for hit in hits:
        if out and out[-1].field == hit.field and hit.end <= out[-1].end:
            continue
        out.append(hit)
    return out


class Matcher:
    """Compiled alert rules. Build once per rule set; ``match`` is cheap and thread-safe."""

    def __init__(self, rules: Iterable[Rule]):
        self.rules: list[Rule] = [r for r in rules if r.enabled]
        self._terms: list[str] = []
        term_ids: dict[str, int] = {}
        # term id → [(rule index, kind, group index)]
        self._refs: list[list[tuple[int, int, int]]] = []
        for ri, rule in enumerate(self.rules):
            for kind, groups in ((_ANY, rule.any), (_ALL, rule.all), (_NONE, rule.none)):
                for gi, group in enumerate(groups):
                    for term in group:
                        tid = term_ids.get(term)
                        if tid is None:
                            tid = term_ids[term] = len(self._terms)
                            self._terms.append(term)
                            self._refs.append([])
                        self._refs[tid].append((ri, kind, gi))
        self._indexes: dict[str | None, _LangIndex] = {}
        self._phrase_terms: dict[str | None, list[list[int]]] = {}

    def _index(self, lang: str | None) -> tuple[_LangIndex, list[list[int]]]:
        index = self._indexes.get(lang)
        if index is None:
            index = _LangIndex(self._terms, lang)
            phrase_terms: list[list[int]] = [[] for _ in range(index.n_phrases)]
            for tid, pid in enumerate(index.term_phrase):
                if pid >= 0:
                    phrase_terms[pid].append(tid)
            self._phrase_terms[lang] = phrase_terms
            self._indexes[lang] = index
        return index, self._phrase_terms[lang]

    def prepare(self, languages: Iterable[str | None]) -> None:
        """Compile the index for these article languages now instead of on first use."""
        for lang in languages:
            self._index(lang)

    def match(self, title: str, body: str, *, language: str | None,
              source: str | None = None) -> list[RuleMatch]:
        """Rules that fire for this article, in rule order, each with its term occurrences."""
        if not self.rules:
            return []
        lang = language or None
        index, phrase_terms = self._index(lang)
        fields: list[tuple[str, str, list[Tok], dict[int, list[tuple[int, int]]]]] = []
        for name, text in (("title", title or ""), ("body", body or "")):
            toks = tokenize(text, lang)
            fields.append((name, text, toks, index.scan(toks, text)))

        # rule index → [any groups hit, all groups hit, vetoed, term ids hit]
        state: dict[int, list] = {}
        for _, _, _, found in fields:
            for pid in found:
                for tid in phrase_terms[pid]:
                    for ri, kind, gi in self._refs[tid]:
                        st = state.get(ri)
                        if st is None:
                            st = state[ri] = [set(), set(), False, set()]
                        if kind == _NONE:
                            st[2] = True
                        else:
                            st[kind].add(gi)
                            st[3].add(tid)

        results: list[RuleMatch] = []
        for ri in sorted(state):
            any_hit, all_hit, vetoed, tids = state[ri]
            rule = self.rules[ri]
            if vetoed or not any_hit or len(all_hit) < len(rule.all):
                continue
            if rule.languages and lang not in rule.languages:
                continue
            if rule.sources and source not in rule.sources:
                continue
            hits: list[TermHit] = []
            seen: set[tuple[str, int, int]] = set()
            for fname, text, toks, found in fields:
                for pid, occurrences in found.items():
                    for tid in phrase_terms[pid]:
                        if tid not in tids:
                            continue
                        for a, b in occurrences:
                            start, end = toks[a][0], toks[b][1]
                            if (fname, start, end) in seen:
                                continue
                            seen.add((fname, start, end))
                            hits.append(TermHit(self._terms[tid], fname, start, end,
                                                text[start:end]))
            results.append(RuleMatch(rule, _outermost(hits)))
        return results
