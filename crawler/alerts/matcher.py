"""Match articles against thousands of keyword rules in one pass over the article's tokens.

Design (why nested dicts and not pyahocorasick): the text layer gives every document token a
*set* of keys (its normalised form plus forms with proclitics/suffixes stripped), and a query
word matches a token when the word's key is in that set. A character automaton would need a
lattice of all key combinations per token and would re-implement word boundaries the text layer
already defines; instead every term is compiled once into a tuple of keys, and all terms of all
rules go into one trie of dicts keyed by those keys (level 1 is the "first key → phrase
candidates" dict). Per article we walk the tokens once and probe the root with each token's
keys; a phrase is followed only while its prefix matches, one probe per key per step, so the
cost is O(tokens × keys per token) whatever the number of rules — even when thousands of rules
watch names that share a first word. Rule logic then runs only for rules with an ``any`` term
that was hit (``all``/``none`` are set tests against the phrases found), so cost grows with the
number of *matches*, not of rules. Term occurrences (offsets, surfaces) are materialised only
when ``RuleMatch.terms`` is read: most matches of an already-alerted story are never shown.

Key tuples depend on the article language (normalisation is language-aware), so the index is
built lazily per language with ``query_terms(term, lang)`` — exactly the function whose keys the
text layer promises to be consistent with ``tokens(text, lang)``.

Tokenisation is the dominant cost, so it is memoised per whitespace-separated chunk: news
vocabulary is Zipfian and most chunks repeat. This relies on the text layer never joining
characters across whitespace into one token (tests check chunked == whole-text tokenisation).
Token offsets are only computed for tokens that take part in a hit or a phrase step.
"""
from __future__ import annotations

import re
from bisect import bisect_right
from dataclasses import dataclass
from functools import lru_cache
from itertools import accumulate, chain, compress, count, repeat
from operator import itemgetter, not_
from typing import Iterable

from crawler.alerts.highlight import highlight
from crawler.alerts.rules import Rule
from crawler.text import query_terms, tokens

__all__ = ["Matcher", "RuleMatch", "TermHit", "highlight", "tokenize"]

_CHUNK = re.compile(r"\S+")          # same chunks as str.split(): both use Unicode isspace
_BLANK_LINE = re.compile(r"\n\s*\n")
# What may separate the words of a phrase besides whitespace without a blank line: joiners,
# hyphens, quotes and tatweel — not sentence punctuation ("… في الرقة. الدولة …").
_GAP = re.compile(r"[\u200b-\u200d\u2060\u00ad\-\u2010-\u2015'\"«»\u2018-\u201f\u0640]*")
Occurrences = dict[int, list[tuple[int, int]]]      # phrase id → [(first token, last token)]
_KEYS = itemgetter(1)


@dataclass(frozen=True)
class TermHit:
    """One occurrence of a rule term: ``text[start:end] == surface`` in the named field."""

    term: str           # the spelling as written in the rule
    field: str          # "title" | "body"
    start: int
    end: int
    surface: str        # the characters as they appear in the article


class RuleMatch:
    """A rule that fired on an article, with the occurrences of its terms (``terms``, in
    reading order, title first; computed on first access)."""

    __slots__ = ("rule", "_terms", "_scan", "_index")

    def __init__(self, rule: Rule, terms: list[TermHit] | None = None,
                 scan: _ArticleScan | None = None, index: int = -1):
        self.rule = rule
        self._terms = terms
        self._scan = scan             # the article's scan results, shared by all its matches
        self._index = index           # the rule's index in the compiled rule set

    @property
    def terms(self) -> list[TermHit]:
        if self._terms is None:
            self._terms = self._scan.term_hits(self._index) if self._scan is not None else []
        return self._terms

    def spans(self, field: str) -> list[tuple[int, int]]:
        """Character spans of this match in ``field``, for :func:`highlight`."""
        return [(h.start, h.end) for h in self.terms if h.field == field]

    @property
    def matched_terms(self) -> list[str]:
        """The rule's spellings found in the article (one per distinct phrase), in the rule's
        order. Cheap: does not compute occurrences (the ledger reads this for every match)."""
        if self._scan is None:
            return list(dict.fromkeys(h.term for h in self.terms))
        return self._scan.matched_terms(self._index)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, RuleMatch):
            return NotImplemented
        return self.rule == other.rule and self.terms == other.terms

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"RuleMatch(rule={self.rule.name!r}, terms={self.terms!r})"


@lru_cache(maxsize=1 << 18)
def _chunk_tokens(chunk: str, lang: str | None) -> tuple:
    """Tokens of one whitespace-free chunk: (spans, keys, lead_ok, trail_ok, inner_ok, bare).
    The *_ok flags say whether the characters before the first token, after the last one and
    between consecutive ones may sit inside a phrase; ``bare``: the chunk has no tokens, only
    such characters (a lone dash or quote)."""
    toks = tokens(chunk, lang)
    ok = _GAP.fullmatch
    if not toks:
        return ((), (), False, False, (), ok(chunk) is not None)
    inner = tuple(ok(chunk[a.end:b.start]) is not None for a, b in zip(toks, toks[1:]))
    return (tuple((t.start, t.end) for t in toks), tuple(t.keys for t in toks),
            ok(chunk[:toks[0].start]) is not None, ok(chunk[toks[-1].end:]) is not None,
            inner, False)


class _Field:
    """One tokenised field (title or body): token keys in order; offsets, chunk boundaries and
    paragraph breaks are worked out only when a phrase step or a hit needs them."""

    __slots__ = ("name", "text", "keys", "_chunks", "_first", "_owner", "_bases", "_paragraphs")

    def __init__(self, name: str, text: str, lang: str | None):
        self.name = name
        self.text = text
        # map() keeps these per-chunk loops in C: this runs for every word of every article
        self._chunks = list(map(_chunk_tokens, text.split(), repeat(lang)))
        self.keys: list[tuple[str, ...]] = list(chain.from_iterable(map(_KEYS, self._chunks)))
        self._first: list[int] | None = None
        self._owner: list[int] | None = None
        self._bases: list[int] | None = None
        self._paragraphs: list[int] | None = None

    def _chunk_of(self, i: int) -> int:
        owner = self._owner
        if owner is None:       # token index → chunk index, and each chunk's first token
            sizes = list(map(len, map(_KEYS, self._chunks)))
            owner = self._owner = list(chain.from_iterable(map(repeat, count(), sizes)))
            self._first = [0, *accumulate(sizes)][:-1]
        return owner[i]

    def span(self, i: int) -> tuple[int, int]:
        """Offsets of token ``i`` in ``text``."""
        ci = self._chunk_of(i)
        if self._bases is None:
            self._bases = [m.start() for m in _CHUNK.finditer(self.text)]
        start, end = self._chunks[ci][0][i - self._first[ci]]   # type: ignore[index]
        base = self._bases[ci]
        return base + start, base + end

    def gap_ok(self, j: int) -> bool:
        """May tokens ``j - 1`` and ``j`` belong to one phrase? Only whitespace without a blank
        line, joiners, hyphens or quotes may lie between them."""
        b = self._chunk_of(j)
        a = self._owner[j - 1]                                     # type: ignore[index]
        chunks = self._chunks
        if a == b:
            return chunks[a][4][j - 1 - self._first[a]]            # type: ignore[index]
        if not (chunks[a][3] and chunks[b][2]):
            return False
        if b - a > 1 and any(not chunks[c][5] for c in range(a + 1, b)):
            return False
        if "\n" in self.text:
            if self._paragraphs is None:      # index of the first chunk of each paragraph
                counts = [len(p.split()) for p in _BLANK_LINE.split(self.text)]
                self._paragraphs = list(accumulate(counts))[:-1]
            paragraphs = self._paragraphs
            if bisect_right(paragraphs, b) - bisect_right(paragraphs, a):
                return False
        return True


def tokenize(text: str, lang: str | None) -> list[tuple[int, int, tuple[str, ...]]]:
    """``tokens(text, lang)`` as (start, end, keys), through the matcher's chunk cache."""
    field = _Field("", text, lang)
    return [(*field.span(i), keys) for i, keys in enumerate(field.keys)]


class _Compiled:
    """All rules compiled for one article language."""

    def __init__(self, terms: list[str], rules: list[Rule],
                 rule_groups: list[tuple[tuple[tuple[int, ...], ...], ...]], lang: str | None):
        # trie of nested dicts keyed by query-word key; node[None] = phrase ids ending there
        self.root: dict = {}
        self.term_phrase: list[int] = []             # term id → phrase id (-1: no keys)
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
        # Candidate rules come from set unions over the phrases found, in C: rules without
        # 'all' are candidates when an 'any' phrase was hit; rules with 'all' only when an
        # 'any' phrase and a phrase of their first 'all' group were hit. Rules whose language
        # filter excludes this language are left out of this language's index altogether.
        tp = self.term_phrase
        any_plain: dict[int, set[int]] = {}
        any_cond: dict[int, set[int]] = {}
        all_first: dict[int, set[int]] = {}
        self.rule_all: list[tuple[frozenset[int], ...]] = []     # the other 'all' groups
        self.rule_none: list[frozenset[int]] = []
        self.rule_terms: list[tuple[tuple[int, int], ...]] = []    # (term id, phrase id)
        checked: set[int] = set()        # rules with conditions beyond the candidate sets
        for ri, (rule, (any_g, all_g, none_g)) in enumerate(zip(rules, rule_groups)):
            all_sets = tuple(frozenset(tp[t] for t in g if tp[t] >= 0) for g in all_g)
            self.rule_all.append(all_sets[1:])
            self.rule_none.append(frozenset(tp[t] for g in none_g for t in g if tp[t] >= 0))
            self.rule_terms.append(tuple(dict.fromkeys(
                (tid, tp[tid]) for g in chain(any_g, all_g) for tid in g if tp[tid] >= 0)))
            if rule.languages and lang not in rule.languages:
                continue
            if rule.sources or self.rule_none[ri] or self.rule_all[ri]:
                checked.add(ri)
            target = any_cond if all_sets else any_plain
            for group in any_g:
                for tid in group:
                    if tp[tid] >= 0:
                        target.setdefault(tp[tid], set()).add(ri)
            for pid in all_sets[0] if all_sets else ():
                all_first.setdefault(pid, set()).add(ri)
        self.any_plain = {pid: tuple(rs) for pid, rs in any_plain.items()}
        self.any_cond = {pid: tuple(rs) for pid, rs in any_cond.items()}
        self.all_first = {pid: tuple(rs) for pid, rs in all_first.items()}
        self.checked = frozenset(checked)

    def scan(self, field: _Field) -> Occurrences:
        """Every phrase occurring in ``field``, with its token ranges."""
        found: Occurrences = {}
        root = self.root
        keys_list = field.keys
        n = len(keys_list)
        # positions whose keys start some phrase, selected in C (most tokens start none)
        starts = compress(count(), map(not_, map(root.keys().isdisjoint, keys_list)))
        for i in starts:
            keys = keys_list[i]
            nodes = [root[k] for k in keys if k in root]
            j = i
            while True:
                for node in nodes:
                    ends = node.get(None)
                    if ends is not None:
                        for pid in ends:
                            found.setdefault(pid, []).append((i, j))
                j += 1
                if j >= n:
                    break
                nxt = keys_list[j]
                nodes = [c for node in nodes for k in nxt if (c := node.get(k)) is not None]
                if not nodes or not field.gap_ok(j):
                    break
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
    """Compiled alert rules. Build once per rule set (rebuild when rules change); ``match`` is
    cheap and thread-safe."""

    def __init__(self, rules: Iterable[Rule]):
        self.rules: list[Rule] = [r for r in rules if r.enabled]
        self._terms: list[str] = []
        term_ids: dict[str, int] = {}

        def tid(term: str) -> int:
            if term not in term_ids:
                term_ids[term] = len(self._terms)
                self._terms.append(term)
            return term_ids[term]

        # per rule: (any, all, none) groups as tuples of term ids
        self._groups = [tuple(tuple(tuple(tid(t) for t in g) for g in groups)
                              for groups in (rule.any, rule.all, rule.none))
                        for rule in self.rules]
        self._compiled: dict[str | None, _Compiled] = {}

    def _for(self, lang: str | None) -> _Compiled:
        compiled = self._compiled.get(lang)
        if compiled is None:
            compiled = _Compiled(self._terms, self.rules, self._groups, lang)
            self._compiled[lang] = compiled
        return compiled

    def prepare(self, languages: Iterable[str | None]) -> None:
        """Compile the index for these article languages now instead of on first use."""
        for lang in languages:
            self._for(lang)

    def match(self, title: str, body: str, *, language: str | None,
              source: str | None = None) -> list[RuleMatch]:
        """Rules that fire for this article, in rule order."""
        if not self.rules:
            return []
        lang = language or None
        comp = self._for(lang)
        fields = (_Field("title", title or "", lang), _Field("body", body or "", lang))
        found = [comp.scan(f) for f in fields]
        hit = found[0].keys() | found[1].keys()
        if not hit:
            return []
        # candidate rules by set unions in C; per-rule Python work only for rules that have
        # source, 'none' or further 'all' conditions (see _Compiled)
        plain = set().union(*map(comp.any_plain.get, hit, repeat(())))
        conditional = set().union(*map(comp.any_cond.get, hit, repeat(())))
        if conditional:
            conditional &= set().union(*map(comp.all_first.get, hit, repeat(())))
            plain |= conditional
        if not plain:
            return []
        checked = plain & comp.checked
        if checked:
            plain -= checked
            rules, rule_all, rule_none = self.rules, comp.rule_all, comp.rule_none
            for ri in checked:
                rule = rules[ri]
                if rule.sources and source not in rule.sources:
                    continue
                if rule_none[ri] and not rule_none[ri].isdisjoint(hit):
                    continue
                if rule_all[ri] and any(group.isdisjoint(hit) for group in rule_all[ri]):
                    continue
                plain.add(ri)
        order = sorted(plain)
        scan = _ArticleScan(self._terms, comp.rule_terms, fields, found)
        return list(map(RuleMatch, map(self.rules.__getitem__, order), repeat(None),
                        repeat(scan), order))


class _ArticleScan:
    """The phrases found in one article, shared by all the rules it matched; works out each
    rule's term occurrences on demand, computing a term's occurrences once for all rules."""

    __slots__ = ("terms", "rule_terms", "fields", "found", "_memo")

    def __init__(self, terms: list[str], rule_terms: list[tuple[tuple[int, int], ...]],
                 fields: tuple[_Field, _Field], found: list[Occurrences]):
        self.terms = terms
        self.rule_terms = rule_terms
        self.fields = fields
        self.found = found
        self._memo: dict[int, list[TermHit]] = {}

    def matched_terms(self, ri: int) -> list[str]:
        found, terms = self.found, self.terms
        seen: set[int] = set()
        out: list[str] = []
        for tid, pid in self.rule_terms[ri]:
            if pid not in seen and (pid in found[0] or pid in found[1]):
                seen.add(pid)
                out.append(terms[tid])
        return out

    def term_hits(self, ri: int) -> list[TermHit]:
        hits: list[TermHit] = []
        memo, terms = self._memo, self.terms
        for tid, pid in self.rule_terms[ri]:
            term_hits = memo.get(tid)
            if term_hits is None:
                term_hits = memo[tid] = []
                for field, occurrences in zip(self.fields, self.found):
                    for a, b in occurrences.get(pid, ()):
                        start, end = field.span(a)[0], field.span(b)[1]
                        term_hits.append(TermHit(terms[tid], field.name, start, end,
                                                 field.text[start:end]))
            hits.extend(term_hits)
        unique = list({(h.field, h.start, h.end): h for h in reversed(hits)}.values())
        return _outermost(unique)
