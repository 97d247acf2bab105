"""Why a rule fires or not on a text: which term matched which span through which spelling,
which ``none`` term vetoed it, which ``all`` group is missing, or which filter left it out.

For ``chavder alerts test`` and anyone debugging a rule: an analyst must be able to see that
"Raqqah" matched the term "Raqqa" as a spelling variant, or that "Isis" was skipped because the
term is case-sensitive. The decision itself is the matcher's (the same compiled rule); this
module only finds every term's occurrences and says how each token matched.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace

from crawler.alerts.context import contexts
from crawler.alerts.matcher import Matcher, _Field, tokenize
from crawler.alerts.rules import Rule
from crawler.alerts.variants import COLLISIONS, alternatives, blocked, homograph, skeleton
from crawler.text import query_terms

__all__ = ["Explanation", "TermMatch", "explain"]


@dataclass(frozen=True)
class TermMatch:
    """One occurrence of a rule term in the text."""

    term: str                   # the spelling as written in the rule
    part: str                   # any | all | none
    field: str                  # title | body
    start: int
    end: int
    surface: str                # the characters in the text
    how: tuple[str, ...]        # per word: as written | affix … | article … | variant …


@dataclass
class Explanation:
    rule: str
    fired: bool
    language: str | None
    matches: list[TermMatch] = field(default_factory=list)
    vetoed_by: list[str] = field(default_factory=list)     # 'none' terms found
    missing: list[str] = field(default_factory=list)       # any/all groups with no term found
    filtered: str | None = None                            # language/source filter reason
    readings: list[str] = field(default_factory=list)      # look-alikes decided by context

    def to_json(self) -> dict:
        return asdict(self)

    def lines(self) -> list[str]:
        """The explanation as text, one fact a line."""
        out = [f"rule {self.rule!r}: " + ("MATCH" if self.fired else "no match")]
        if self.filtered:
            out.append(f"  left out: {self.filtered}")
        for m in self.matches:
            out.append(f"  {m.part} term {m.term!r} matched {m.surface!r} ({m.field} "
                       f"{m.start}-{m.end}) {'; '.join(m.how)}")
        out.extend(f"  {reading}" for reading in self.readings)
        for term in self.vetoed_by:
            out.append(f"  vetoed by 'none' term {term!r}")
        for group in self.missing:
            out.append(f"  missing: no term of {group} found")
        return out


def _how(text: str, start: int, end: int, term: str, language: str | None) -> tuple[str, ...]:
    """How each token of ``text[start:end]`` matched the words of ``term``."""
    words = query_terms(term, language)
    toks = [keys for _, _, keys in tokenize(text[start:end], language)]
    out = []
    for word, keys in zip(words, toks):
        if keys[0] == word:
            out.append("as written")
        elif word in keys:
            out.append(f"affix: {keys[0]!r} → {word!r}")
        elif "ال" + word in keys:
            out.append(f"article: {keys[0]!r} has the article of {word!r}")
        else:
            skel = skeleton(word)
            stem = next((k for k in keys if skeleton(k) == skel), keys[0])
            via = f" (affix: {keys[0]!r} → {stem!r})" if stem != keys[0] else ""
            out.append(f"variant: {stem!r} and {word!r} share the skeleton {skel!r}{via}")
    return tuple(out)


def explain(rule: Rule, title: str, body: str, *, language: str | None,
            source: str | None = None) -> Explanation:
    """Explain the decision of ``rule`` on an article (``title`` may be empty)."""
    fired = bool(Matcher([rule]).match(title, body, language=language, source=source))
    result = Explanation(rule.name, fired, language)
    if rule.languages and language not in rule.languages:
        result.filtered = f"language {language!r} is not in {list(rule.languages)}"
    elif rule.sources and source not in rule.sources:
        result.filtered = f"source {source!r} is not in {list(rule.sources)}"
    parts = {t: part for part, groups in (("none", rule.none), ("all", rule.all),
                                          ("any", rule.any))
             for g in groups for t in g}
    every = tuple((t,) for t in parts)            # every term its own group, no filters
    probe = replace(rule, name=rule.name, any=every, all=(), none=(), languages=(), sources=())
    texts = {"title": title or "", "body": body or ""}
    found: set[str] = set()
    for match in Matcher([probe]).match(title, body, language=language):
        for hit in match.terms:
            found.add(hit.term)
            result.matches.append(TermMatch(
                hit.term, parts[hit.term], hit.field, hit.start, hit.end, hit.surface,
                _how(texts[hit.field], hit.start, hit.end, hit.term, language)))
    result.readings = _readings(rule, texts, language)
    result.vetoed_by = [t for g in rule.none for t in g if t in found]
    groups = [("any", g) for g in rule.any] if not any(t in found for g in rule.any for t in g) \
        else []
    groups += [("all", g) for g in rule.all if not any(t in found for t in g)]
    result.missing = [f"'{part}' group {list(g)}" for part, g in groups]
    return result


def _readings(rule: Rule, texts: dict[str, str], language: str | None) -> list[str]:
    """How each look-alike of a one-word term was read (crawler/alerts/context.py): a listed
    word a variant reaches (ڕەقە for ڕەققە), or the term's own spelling if it is a listed
    homograph (الرقة), with the cue that decided."""
    out: list[str] = []
    terms = dict.fromkeys(t for groups in (rule.any, rule.all, rule.none) for g in groups
                          for t in g)
    for term in terms:
        opts = rule.term_options(term)
        words = tuple(query_terms(term, language))
        if len(words) != 1:
            continue
        own = homograph(words)
        listed = blocked(words) if len(alternatives(term, words, variants=not opts.exact)[0]) > 1 \
            else frozenset()
        if own is None and not listed:
            continue
        for name, text in texts.items():
            fld = _Field(name, text, language)
            for i, keys in enumerate(fld.stream):
                word = words[0] if own is not None and words[0] in keys else next(
                    (k for k in keys if k in listed and keys[0].endswith(k)), None)
                if word is None or word != words[0] and words[0] in keys:
                    continue
                context = own if word == words[0] else contexts(COLLISIONS).get(word)
                start, end = fld.span(i)
                if context is None:
                    out.append(f"{term!r}: {text[start:end]!r} ({name} {start}-{end}) is the "
                               f"listed common word {word!r}")
                    continue
                is_name, why = context.decide(fld, i)
                reading = "the name" if is_name else "the common word"
                out.append(f"{term!r}: {text[start:end]!r} ({name} {start}-{end}) read as "
                           f"{reading} ({why})")
    return out
