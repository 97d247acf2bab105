"""Spelling variants for alert matching: what lets one rule spelling find the dozen ways outlets
write a name, and what stops a variant from turning into a different word.

The text layer already folds what is *typing* (tashkeel and shadda, hamza forms, Sorani letters
typed on Arabic keyboards, Kurmanji/Turkish diacritics, case) and strips clitics and Sorani/
Kurmanji suffixes on the document side. On top of that this module folds *spelling*, into a
**skeleton** per key:

* both scripts: a doubled letter counts once (Raqqa/Raqa, ڕەققە/ڕەقە, مەزڵووم/مەزڵوم);
* Latin transliterations of Arabic and Kurdish names: ou/oo → u (Mazloum, Mazloom, Mazlum),
  ee → i, q → k (Raqqa/Rakka, Reqa), ck → k, ph → f, dj → j, French ch and English sh → s,
  like Turkish/Kurmanji ş already folded to s (Daech, Daesh, DAEŞ), a final h after a vowel
  is dropped (Raqqah).

The document side gives every token its keys' skeletons as extra keys (:func:`document_keys`);
a rule word matches through its key or its skeleton (:func:`alternatives`), and a one-word
Arabic-script term also matches with the article (دواعش → الدواعش, and so والدواعش).

No variant may create a false hit, so a term gets no variants when its skeleton is shorter
than four letters (Sham → sam), and a word listed in ``collisions.txt`` whose skeleton equals a
term word's skeleton is *blocked* for that term: a document token written exactly like it never
matches through a variant (اللجنة → الجنه, but الجنة is "paradise"; ڕەققە → ڕەقە, but ڕەقە is
also "is hard"; Bashar → basar, Turkish başar), while other variants (ڕەقەدا, in Raqqa) still
do — unless the listed word has *cues* there and the words around it make it the name
(بە ڕەقە, "to Raqqa", but not زۆر ڕەقە, "very hard": crawler/alerts/context.py). A term written
with ``exact: true`` gets no variants at all.
"""
from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path

from crawler.alerts.context import Context, contexts
from crawler.text import query_terms

__all__ = ["skeleton", "document_keys", "alternatives", "blocked", "homograph", "too_short",
           "spelling_pattern", "MIN_SKELETON"]

MIN_SKELETON = 4             # shorter skeletons are too easily another word
COLLISIONS = Path(__file__).with_name("collisions.txt")

_DOUBLE = re.compile(r"(\w)\1+")
_LATIN_RULES = (("sch", "s"), ("ou", "u"), ("oo", "u"), ("ee", "i"), ("ck", "k"), ("q", "k"),
                ("ph", "f"), ("dj", "j"), ("ch", "s"), ("sh", "s"))
_FINAL_H = re.compile(r"(?<=[aeiou])h$")


@lru_cache(maxsize=1 << 18)
def skeleton(key: str) -> str:
    """The spelling skeleton of one normalised key (see the module docstring)."""
    if key.isascii():
        if not key.isalpha():
            return key                      # numbers, codes: no spelling variation
        for src, dst in _LATIN_RULES:
            if src in key:
                key = key.replace(src, dst)
        key = _FINAL_H.sub("", key)
    return _DOUBLE.sub(r"\1", key)


@lru_cache(maxsize=1 << 17)
def document_keys(keys: tuple[str, ...]) -> tuple[str, ...]:
    """A token's keys followed by the skeletons that differ from them (the full form first)."""
    extra = [s for s in map(skeleton, keys) if s not in keys]
    return keys + tuple(dict.fromkeys(extra)) if extra else keys


@lru_cache(maxsize=1)
def _listed() -> dict[str, frozenset[str]]:
    """Skeleton → normalised listed words/phrases with that skeleton."""
    out: dict[str, set[str]] = {}
    for line in COLLISIONS.read_text("utf-8").splitlines():
        if line[:1].isspace():
            continue                        # a cue line (crawler/alerts/context.py)
        line = line.split("#", 1)[0].strip()
        if line:
            words = query_terms(line)
            out.setdefault(" ".join(map(skeleton, words)), set()).add(" ".join(words))
    return {k: frozenset(v) for k, v in out.items()}


def too_short(words: tuple[str, ...]) -> bool:
    """Whether the term's skeleton is too short to have variants (Sham → sam)."""
    return all(len(skeleton(w)) < MIN_SKELETON for w in words)


def blocked(words: tuple[str, ...]) -> frozenset[str]:
    """Listed common words (normalised, one word each) that the variants of the one-word term
    ``words`` would otherwise match, and listed phrases for a phrase."""
    others = _listed().get(" ".join(map(skeleton, words)), frozenset())
    return others - {" ".join(words)}


def homograph(words: tuple[str, ...]) -> Context | None:
    """The context cues of a one-word term spelled exactly like a listed word that has cues
    (الرقة, also "delicacy"): its own occurrences are then decided by context as well."""
    return contexts(COLLISIONS).get(words[0]) if len(words) == 1 else None


_ARABIC = re.compile("[\u0620-\u064a]+")     # letters of Arabic proper (no Sorani/Persian ones)


def alternatives(term: str, words: tuple[str, ...], *,
                 variants: bool = True) -> tuple[tuple[str, ...], ...]:
    """Per normalised word of ``term``, the document keys it matches: itself, then its skeleton
    and (one-word Arabic terms) the article form, unless variants are off or collide."""
    if not variants or too_short(words):
        return tuple((w,) for w in words)
    article = len(words) == 1 and _ARABIC.fullmatch(term) is not None
    out = []
    for w in words:
        alts = dict.fromkeys((w, skeleton(w)))
        if article and not w.startswith("ال"):
            alts.update(dict.fromkeys(("ال" + w, skeleton("ال" + w))))
        out.append(tuple(alts))
    return tuple(out)



# what each skeleton letter of a Latin key may have been written as (the inverse of _LATIN_RULES)
_LATIN_SOURCES = {"k": "(k|q|ck)", "u": "(u|ou|oo)", "i": "(i|ee)", "s": "(s|sh|ch|sch)",
                  "f": "(f|ph)", "j": "(j|dj)"}


def spelling_pattern(word: str) -> str | None:
    """A regular expression (Lucene regexp syntax, whole key) for the normalised keys whose
    skeleton is ``word``'s — the spellings the matcher accepts for a one-word term: each letter
    once or doubled, the Latin sources of k/u/i/s/f/j, a final h after a vowel. For search
    back-ends that have only the text layer's keys (Kibana over ``body_norm``). None when the
    word has no variants (too short, or not letters)."""
    skel = skeleton(word)
    if len(skel) < MIN_SKELETON or not skel.isalpha():
        return None
    latin = skel.isascii()
    parts = [(_LATIN_SOURCES.get(c, c) if latin else c) + "+" for c in skel]
    if latin and skel[-1] in "aeiou":
        parts.append("h?")
    return "".join(parts)
