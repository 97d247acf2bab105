"""Match articles against thousands of keyword rules in one pass over the article's tokens.

Design (why dicts and not pyahocorasick): the text layer gives every document token a *set* of
keys (its normalised form plus forms with proclitics/suffixes stripped), and a query word
matches a token when the word's key is in that set. A character automaton would need a lattice
of all key combinations per token and would re-implement word boundaries the text layer already
defines; instead every term is compiled once into a tuple of keys. One-word phrases go into a
dict (found by intersecting it with the set of the article's keys, in C); longer phrases into a
trie of dicts keyed by those keys, walked only from the tokens that hold a first key. The
article is a *stream* of token keys with an empty entry wherever punctuation or a paragraph
break ends a phrase, so a phrase is simply a run of consecutive entries. Cost: O(tokens × keys
per token) whatever the number of rules.

Rules are then selected by set algebra over the phrases found, and the Python work per article
follows the rules that *fire*, not the rules that exist: rules with equal conditions and terms
(many editors watching one beat) form one group; groups without ``all`` are indexed by their
``any`` phrases, groups with ``all`` by (``any`` phrase, ``all`` phrase) pairs; only groups with
source, ``none`` or further ``all`` conditions are checked one by one. ``match_groups`` returns
one object per fired group (the alert pipeline's call); ``match`` one per fired rule. Term
occurrences (offsets, surfaces) are materialised only when ``terms`` is read: most matches of an
already-alerted story are never shown.

Key tuples depend on the article language (normalisation is language-aware), so the index is
built lazily per language with ``query_terms(term, lang)`` — exactly the function whose keys the
text layer promises to be consistent with ``tokens(text, lang)``.

Spelling variants (crawler/alerts/variants.py) stay inside this scheme: every token also carries
its keys' spelling skeletons, and a term word is a small set of alternative keys (itself, its
skeleton, the Arabic article form), so a one-word phrase is several dict entries and a longer
one several trie paths. Terms with options (``case: sensitive``, ``exact``, ``whole_word``),
terms whose variants could reach a listed common word and terms spelled like a listed homograph
with context cues (crawler/alerts/context.py) are *checked*: their hits are verified
against the article's characters after the scan — only when their keys occur at all, so the
cost follows those hits, not the number of rules.

Tokenisation is the dominant cost, so it is memoised per whitespace-separated chunk: news
vocabulary is Zipfian and most chunks repeat. This relies on the text layer never joining
characters across whitespace into one token (tests check chunked == whole-text tokenisation).
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from itertools import chain, compress, count, product, repeat
from operator import itemgetter, not_
from typing import Iterable

from crawler.alerts.checks import Check
from crawler.alerts.highlight import highlight
from crawler.alerts.rules import PLAIN as _PLAIN, Rule, TermOptions
from crawler.alerts.variants import alternatives, blocked, document_keys, homograph
from crawler.text import query_terms, tokens

__all__ = ["Matcher", "MatchGroup", "RuleMatch", "TermHit", "highlight", "tokenize"]

_CHUNK = re.compile(r"\S+")          # same chunks as str.split(): both use Unicode isspace
_BLANK_LINE = re.compile(r"\n\s*\n")
# What may separate the words of a phrase besides whitespace without a blank line: joiners,
# hyphens, quotes and tatweel — not sentence punctuation ("… في الرقة. الدولة …").
_GAP = re.compile(r"[\u200b-\u200d\u2060\u00ad\-\u2010-\u2015'\"«»\u2018-\u201f\u0640]*")
Occurrences = dict[int, list[tuple[int, int]]]      # phrase id → [(first token, last token)]
_STREAM = itemgetter(1)


@dataclass(frozen=True)
class TermHit:
    """One occurrence of a rule term: ``text[start:end] == surface`` in the named field."""

    term: str           # the spelling as written in the rule
    field: str          # "title" | "body"
    start: int
    end: int
    surface: str        # the characters as they appear in the article


class _Match:
    """Term occurrences of a match, worked out from the article's scan on first access."""

    __slots__ = ("_scan", "_index", "_terms")

    def __init__(self, scan: _ArticleScan, index: int):
        self._terms: list[TermHit] | None = None
        self._scan = scan             # the article's scan results, shared by all its matches
        self._index = index           # the rule class in the compiled index

    @property
    def terms(self) -> list[TermHit]:
        """The occurrences of the rule's terms, in reading order (title first)."""
        if self._terms is None:
            self._terms = self._scan.term_hits(self._index)
        return self._terms

    def spans(self, field: str) -> list[tuple[int, int]]:
        """Character spans of this match in ``field``, for :func:`highlight`."""
        return [(h.start, h.end) for h in self.terms if h.field == field]

    @property
    def matched_terms(self) -> list[str]:
        """The rule's spellings found in the article (one per distinct phrase), in the rule's
        order. Cheap: does not compute occurrences (the ledger reads this for every match)."""
        return self._scan.matched_terms(self._index)


class RuleMatch(_Match):
    """A rule that fired on an article, with the occurrences of its terms."""

    __slots__ = ("rule",)

    def __init__(self, rule: Rule, scan: _ArticleScan, index: int):
        super().__init__(scan, index)
        self.rule = rule

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, RuleMatch):
            return NotImplemented
        return self.rule == other.rule and self.terms == other.terms

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"RuleMatch(rule={self.rule.name!r}, terms={self.terms!r})"


class MatchGroup(_Match):
    """Rules with the same conditions and terms (editors watching one beat) that fired on an
    article together: they share the occurrences, so one object serves them all."""

    __slots__ = ("rules",)

    def __init__(self, rules: tuple[Rule, ...], scan: _ArticleScan, index: int):
        super().__init__(scan, index)
        self.rules = rules

    def __repr__(self) -> str:
        return f"MatchGroup(rules={[r.name for r in self.rules]!r})"


_BREAK: tuple = ((),)      # a stream entry no phrase can cross: its keys match no query word
_PARAGRAPH = "\n"         # stands between the chunks of two paragraphs (chunks hold no spaces)


@lru_cache(maxsize=1 << 18)
def _chunk_tokens(chunk: str, lang: str | None) -> tuple[tuple, tuple]:
    """One whitespace-free chunk as (spans, stream): the tokens' offsets, and their keys in
    order with an empty tuple wherever a phrase may not continue — before, between or after
    tokens where the characters are not joiners, hyphens or quotes ("الرقة،" ends a phrase,
    "«الرقة»" does not). A chunk without tokens is transparent if it is only such characters
    (a lone dash) and a break otherwise; so is a paragraph separator."""
    if chunk == _PARAGRAPH:
        return (), _BREAK
    toks = tokens(chunk, lang)
    ok = _GAP.fullmatch
    if not toks:
        return (), (() if ok(chunk) is not None else _BREAK)
    stream: list[tuple[str, ...]] = []
    end = 0
    for tok in toks:
        if ok(chunk, end, tok.start) is None:
            stream.append(())
        stream.append(document_keys(tok.keys))
        end = tok.end
    if ok(chunk, end) is None:
        stream.append(())
    return tuple((t.start, t.end) for t in toks), tuple(stream)


def _chunks_of(text: str) -> list[str]:
    """``text.split()`` with :data:`_PARAGRAPH` between paragraphs (blank lines)."""
    if "\n" not in text:
        return text.split()
    paragraphs = _BLANK_LINE.split(text)
    if len(paragraphs) == 1:
        return text.split()
    chunks: list[str] = []
    for paragraph in paragraphs:
        chunks += paragraph.split()
        chunks.append(_PARAGRAPH)
    chunks.pop()
    return chunks


class _Field:
    """One tokenised field (title or body) as a *stream*: each token's keys in reading order,
    with an empty tuple wherever punctuation or a paragraph break ends a phrase, so a phrase is
    simply a run of consecutive stream entries. Token offsets are worked out only for hits."""

    __slots__ = ("name", "text", "stream", "_words", "_chunks", "_where")

    def __init__(self, name: str, text: str, lang: str | None):
        self.name = name
        self.text = text
        self._words = _chunks_of(text)
        # map() keeps these per-chunk loops in C: this runs for every word of every article
        self._chunks = list(map(_chunk_tokens, self._words, repeat(lang)))
        self.stream: list[tuple[str, ...]] = list(chain.from_iterable(
            map(_STREAM, self._chunks)))
        self._where: list[tuple[int, int] | None] | None = None

    def span(self, i: int) -> tuple[int, int]:
        """Offsets in ``text`` of the token at stream position ``i``."""
        if self._where is None:       # stream position → offsets of its token (None: a break)
            where: list[tuple[int, int] | None] = []
            found = _CHUNK.finditer(self.text)
            for word, (spans, stream) in zip(self._words, self._chunks):
                if word == _PARAGRAPH:
                    where.append(None)
                    continue
                base = next(found).start()
                offsets = iter(spans)
                for keys in stream:
                    if keys:
                        start, end = next(offsets)
                        where.append((base + start, base + end))
                    else:
                        where.append(None)
            self._where = where
        span = self._where[i]
        assert span is not None, "a break has no offsets"
        return span


def tokenize(text: str, lang: str | None) -> list[tuple[int, int, tuple[str, ...]]]:
    """``tokens(text, lang)`` as (start, end, keys), through the matcher's chunk cache; the keys
    are the text layer's followed by their spelling skeletons (``variants.document_keys``)."""
    field = _Field("", text, lang)
    return [(*field.span(i), keys) for i, keys in enumerate(field.stream) if keys]


class _FieldHits:
    """The phrases found in one field: ``pids`` (a set, for the rule logic) and their token
    ranges, computed on demand for one-word phrases (found by a set intersection in C)."""

    __slots__ = ("pids", "_multi", "_keys", "_single_key")

    def __init__(self, pids: set[int], multi: Occurrences, keys: list[tuple[str, ...]],
                 single_key: dict[int, frozenset[str]]):
        self.pids = pids
        self._multi = multi
        self._keys = keys
        self._single_key = single_key

    def occurrences(self, pid: int) -> list[tuple[int, int]]:
        """(first token, last token) of each occurrence of phrase ``pid``."""
        if pid not in self.pids:
            return []
        ranges = self._multi.get(pid)
        if ranges is None:
            alts = self._single_key[pid]
            at = list(compress(count(), map(not_, map(alts.isdisjoint, self._keys))))
            ranges = self._multi[pid] = list(zip(at, at))
        return ranges


_MAX_PAIRS = 1024      # a rule with more (any phrase, 'all' phrase) pairs is checked instead


class _Compiled:
    """All rules compiled for one article language.

    Phrase lookup: one-word phrases are a dict ``single`` (key → phrase) intersected with the
    set of the field's token keys; longer phrases are a trie of dicts keyed by query-word key
    (``node[None]`` = phrases ending there) walked from the tokens that hold a first key.

    Rule lookup is set algebra over the phrases found, on *classes* of rules with equal
    conditions and terms: classes without ``all`` are indexed by their ``any`` phrases, classes
    with ``all`` by (``any`` phrase, phrase of their smallest ``all`` group) pairs; classes
    with ``sources``, ``none`` or a second ``all`` group ("maybe") are checked one by one, the
    others ("sure") fire on the lookup alone. Rules whose language filter excludes this
    language are left out of this language's index altogether.
    """

    def __init__(self, terms: list[tuple[str, TermOptions]], rules: list[Rule],
                 rule_groups: list[tuple[tuple[tuple[int, ...], ...], ...]], lang: str | None):
        single: dict[str, list[int]] = {}
        self.single_key: dict[int, frozenset[str]] = {}
        self.root: dict = {}
        self.checks: dict[int, Check] = {}         # phrases whose hits must be verified
        tp: list[int] = []                           # term id → phrase id (-1: no keys)
        phrase_ids: dict[tuple, int] = {}
        for term, opts in terms:
            words = tuple(query_terms(term, lang))
            if not words:
                tp.append(-1)
                continue
            alts = alternatives(term, words, variants=not opts.exact)
            block = blocked(words) if len(alts[0]) > 1 else frozenset()
            own = homograph(words)
            checked = opts.checked or bool(block) or own is not None
            ident = (alts, term, opts) if checked else (alts,)
            pid = phrase_ids.get(ident)
            if pid is None:
                pid = phrase_ids[ident] = len(phrase_ids)
                if len(alts) == 1:
                    for key in alts[0]:
                        single.setdefault(key, []).append(pid)
                    self.single_key[pid] = frozenset(alts[0])
                else:
                    for path in product(*alts):
                        node = self.root
                        for key in path:
                            node = node.setdefault(key, {})
                        node.setdefault(None, []).append(pid)
                if checked:
                    self.checks[pid] = Check(term, words, alts, opts, block, own)
            tp.append(pid)
        self.single: dict[str, tuple[int, ...]] = {k: tuple(v) for k, v in single.items()}

        # Rules with the same conditions (many editors watching one beat) form one *class*;
        # the set algebra runs over classes, and a fired class expands to its rules.
        class_of: dict[tuple, int] = {}
        members: list[list[int]] = []
        conditions: list[tuple] = []
        self.class_terms: list[tuple[tuple[int, int], ...]] = []    # (term id, phrase id)
        for ri, (rule, (any_g, all_g, none_g)) in enumerate(zip(rules, rule_groups)):
            if rule.languages and lang not in rule.languages:
                continue
            terms = tuple(dict.fromkeys(
                (tid, tp[tid]) for g in chain(any_g, all_g) for tid in g if tp[tid] >= 0))
            any_pids = frozenset(tp[t] for g in any_g for t in g if tp[t] >= 0)
            all_sets = frozenset(frozenset(tp[t] for t in g if tp[t] >= 0) for g in all_g)
            none_pids = frozenset(tp[t] for g in none_g for t in g if tp[t] >= 0)
            if not any_pids or frozenset() in all_sets:
                continue                      # a group no article can contain
            condition = (any_pids, all_sets, none_pids, frozenset(rule.sources))
            ci = class_of.get((condition, terms))
            if ci is None:
                ci = class_of[condition, terms] = len(members)
                members.append([])
                conditions.append(condition)
                self.class_terms.append(terms)
            members[ci].append(ri)
        # classes are numbered by their first rule, so sorted class ids are in rule order
        self.members: list[tuple[int, ...]] = [tuple(m) for m in members]
        self.class_of_rule = {ri: ci for ci, m in enumerate(members) for ri in m}
        self.class_rules: list[tuple[Rule, ...]] = [tuple(rules[ri] for ri in m)
                                                    for m in members]

        # two indexes: classes that fire on their phrases alone ("sure") and classes with
        # source, 'none' or further 'all' conditions to check one by one ("maybe")
        by_any: tuple[dict[int, list[int]], dict[int, list[int]]] = ({}, {})
        by_pair: tuple[dict[tuple[int, int], list[int]], ...] = ({}, {})
        self.class_all: dict[int, tuple[frozenset[int], ...]] = {}  # 'all' groups to check
        self.class_none: dict[int, frozenset[int]] = {}            # 'none' phrases
        self.class_sources: dict[int, frozenset[str]] = {}
        for ci, (any_pids, all_sets, none_pids, sources) in enumerate(conditions):
            all_groups = sorted(all_sets, key=len)
            pairs = None
            if all_groups and len(any_pids) * len(all_groups[0]) <= _MAX_PAIRS:
                pairs = product(any_pids, all_groups.pop(0))
            if all_groups:
                self.class_all[ci] = tuple(all_groups)
            if none_pids:
                self.class_none[ci] = none_pids
            if sources:
                self.class_sources[ci] = sources
            maybe = bool(all_groups or none_pids or sources)
            if pairs is not None:
                for pair in pairs:
                    by_pair[maybe].setdefault(pair, []).append(ci)
            else:
                for pid in any_pids:
                    by_any[maybe].setdefault(pid, []).append(ci)
        self.sure_any, self.maybe_any = ({pid: tuple(cs) for pid, cs in index.items()}
                                         for index in by_any)
        self.sure_pair, self.maybe_pair = ({pair: tuple(cs) for pair, cs in index.items()}
                                           for index in by_pair)
        self.pair_any = frozenset(p for index in by_pair for p, _ in index)
        self.pair_all = frozenset(q for index in by_pair for _, q in index)
        self._excluded: dict[str | None, frozenset[int]] = {}

    def excluded(self, source: str | None) -> frozenset[int]:
        """Classes whose ``sources`` filter leaves out ``source`` (memoised per source)."""
        out = self._excluded.get(source)
        if out is None:
            if len(self._excluded) >= 4096:
                self._excluded.clear()
            out = self._excluded[source] = frozenset(
                ci for ci, sources in self.class_sources.items() if source not in sources)
        return out

    def scan(self, field: _Field) -> _FieldHits:
        """Every phrase occurring in ``field``."""
        stream = field.stream
        present = set(chain.from_iterable(stream))          # every key of every token
        single = self.single
        pids = set(chain.from_iterable(map(single.__getitem__, single.keys() & present)))
        multi: Occurrences = {}
        root = self.root
        if not root.keys().isdisjoint(present):
            n = len(stream)
            # positions whose keys start some phrase, selected in C (most tokens start none)
            for i in compress(count(), map(not_, map(root.keys().isdisjoint, stream))):
                nodes = [root[k] for k in stream[i] if k in root]
                j = i + 1
                while j < n:      # a break () has no keys, so a phrase never runs across it
                    nodes = [c for node in nodes for k in stream[j]
                             if (c := node.get(k)) is not None]
                    if not nodes:
                        break
                    for node in nodes:
                        ends = node.get(None)
                        if ends is not None:
                            for pid in ends:
                                multi.setdefault(pid, []).append((i, j))
                    j += 1
            for pid, ranges in multi.items():   # two spellings of one token: one occurrence
                if len(ranges) > 1:
                    multi[pid] = sorted(set(ranges))
            pids.update(multi)
        found = _FieldHits(pids, multi, stream, self.single_key)
        if self.checks and not pids.isdisjoint(self.checks):
            for pid in pids.intersection(self.checks):
                check = self.checks[pid]
                kept = [r for r in found.occurrences(pid) if check.passes(field, *r)]
                multi[pid] = kept
                if not kept:
                    pids.discard(pid)
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
        self._terms: list[tuple[str, TermOptions]] = []
        term_ids: dict[tuple[str, TermOptions], int] = {}

        def tid(term: str, rule: Rule) -> int:
            key = (term, rule.term_options(term) if rule.options else _PLAIN)
            if key not in term_ids:
                term_ids[key] = len(self._terms)
                self._terms.append(key)
            return term_ids[key]

        # per rule: (any, all, none) groups as tuples of term ids
        self._groups = [tuple(tuple(tuple(tid(t, rule) for t in g) for g in groups)
                              for groups in (rule.any, rule.all, rule.none))
                        for rule in self.rules]
        self._names = [term for term, _ in self._terms]     # term id → spelling
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

    def _fire(self, title: str, body: str, language: str | None,
              source: str | None) -> tuple[_Compiled, _ArticleScan, list[int]] | None:
        """The compiled index, the article's scan and the ids of the rule classes that fire."""
        if not self.rules:
            return None
        lang = language or None
        comp = self._for(lang)
        fields = (_Field("title", title or "", lang), _Field("body", body or "", lang))
        found = (comp.scan(fields[0]), comp.scan(fields[1]))
        hit = found[0].pids | found[1].pids
        if not hit:
            return None
        fired = set().union(*map(comp.sure_any.get, hit, repeat(())))
        maybe = set().union(*map(comp.maybe_any.get, hit, repeat(())))
        any_hit = comp.pair_any.intersection(hit)
        if any_hit:
            all_hit = comp.pair_all.intersection(hit)
            if all_hit:
                pairs = list(product(any_hit, all_hit))
                fired.update(*map(comp.sure_pair.get, pairs, repeat(())))
                maybe.update(*map(comp.maybe_pair.get, pairs, repeat(())))
        if maybe:
            excluded, class_none, class_all = comp.excluded(source), comp.class_none, comp.class_all
            for ci in maybe:
                if ci in excluded:
                    continue
                none = class_none.get(ci)
                if none is not None and not none.isdisjoint(hit):
                    continue
                groups = class_all.get(ci)
                if groups is not None and any(group.isdisjoint(hit) for group in groups):
                    continue
                fired.add(ci)
        if not fired:
            return None
        return comp, _ArticleScan(self._names, comp.class_terms, fields, found), sorted(fired)

    def match_groups(self, title: str, body: str, *, language: str | None,
                     source: str | None = None) -> list[MatchGroup]:
        """The rules that fire for this article, as groups of rules with the same conditions
        and terms (one :class:`MatchGroup` each, ordered by their first rules). The alert
        pipeline uses this: rules watching the same beat share one match, so the work per
        article follows the distinct conditions that fired, not the number of rules."""
        fired = self._fire(title, body, language, source)
        if fired is None:
            return []
        comp, scan, order = fired
        return list(map(MatchGroup, map(comp.class_rules.__getitem__, order), repeat(scan),
                        order))

    def match(self, title: str, body: str, *, language: str | None,
              source: str | None = None) -> list[RuleMatch]:
        """Rules that fire for this article, one :class:`RuleMatch` each, in rule order."""
        fired = self._fire(title, body, language, source)
        if fired is None:
            return []
        comp, scan, order = fired
        rules, class_of = self.rules, comp.class_of_rule
        return [RuleMatch(rules[ri], scan, class_of[ri])
                for ri in sorted(chain.from_iterable(map(comp.members.__getitem__, order)))]


class _ArticleScan:
    """The phrases found in one article, shared by all the rules it matched; works out each
    rule's term occurrences on demand, computing a term's occurrences once for all rules."""

    __slots__ = ("terms", "class_terms", "fields", "found", "_memo")

    def __init__(self, terms: list[str], class_terms: list[tuple[tuple[int, int], ...]],
                 fields: tuple[_Field, _Field], found: tuple[_FieldHits, _FieldHits]):
        self.terms = terms
        self.class_terms = class_terms
        self.fields = fields
        self.found = found
        self._memo: dict[int, list[TermHit]] = {}

    def matched_terms(self, ci: int) -> list[str]:
        title, body = self.found[0].pids, self.found[1].pids
        seen: set[int] = set()
        out: list[str] = []
        for tid, pid in self.class_terms[ci]:
            if pid not in seen and (pid in title or pid in body):
                seen.add(pid)
                out.append(self.terms[tid])
        return out

    def term_hits(self, ci: int) -> list[TermHit]:
        hits: list[TermHit] = []
        memo, terms = self._memo, self.terms
        for tid, pid in self.class_terms[ci]:
            term_hits = memo.get(tid)
            if term_hits is None:
                term_hits = memo[tid] = []
                for field, found in zip(self.fields, self.found):
                    for a, b in found.occurrences(pid):
                        start, end = field.span(a)[0], field.span(b)[1]
                        term_hits.append(TermHit(terms[tid], field.name, start, end,
                                                 field.text[start:end]))
            hits.extend(term_hits)
        unique = list({(h.field, h.start, h.end): h for h in reversed(hits)}.values())
        return _outermost(unique)
