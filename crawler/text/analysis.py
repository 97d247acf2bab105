"""Token analysis shared by the FTS index, search and alert matching.

Contract: a document token matches a query word when ``query_key in token.keys``. A phrase
matches when consecutive tokens each match (see :func:`match_phrase`).

Which side strips: the *document* side. Every document token carries its full normalised form
(``keys[0]``) plus the forms left after removing clitics or suffixes; a query word is only
normalised, never stripped (:func:`query_terms`), so the user's lemma is what must be found.
That is why الرقة finds والرقة/بالرقة/للرقة (their keys include الرقه) while برقة (key رقه)
and الرقابة (no suffix stripping in Arabic) never produce الرقه, and why Reqa finds Reqayê
(stem reqa) but not Reqabe (stems reqabe, reqab).

Rules per document language (Arabic-script and Latin tokens are treated by script):

* ``ar`` (and unknown language): proclitics و/ف, then ب/ك/ل, then the article ال, including
  the لل contraction (للرقة → الرقة) and bare proclitics before words without the article
  (لداعش → داعش, stem ≥ 3 letters), and the future prefix س before imperfect verbs
  (سيقصف → يقصف). No suffix stripping: nisba adjectives (الموصلي) must not become the name.
* ``ckb``: Sorani suffix chains — definite/plural/indefinite (-ەکە -ەکان -ان -ێک), ezafe -ی,
  locative -دا, ablative -ەوە, -ڕا, enclitic -یش/-ش (ڕەققەدا, ڕەققەی, موسڵەوە, داعشەکان).
  Arabic names inside Sorani text keep only the article forms (بالرقة → الرقة).
* ``fa``: light plural/ezafe stripping (-ها -های -ی) and the Arabic article forms.
* ``kmr``/``ku``: Kurmanji case and ezafe endings -ê -a -an -ên -ya -yê -yan -yên -î -ekî …,
  on the diacritic-folded form so Reqayê and Reqaye behave alike. An apostrophe before a
  suffix splits the word, so Reqa'yê and DAIŞ'ê are found through their first part.
* any other Latin-script language (en, tr, …): nothing is stripped — no guessing of English or
  Turkish suffixes, so Sinjari stays distinct from Sinjar; Raqqa's and Rakka'da are found
  because the apostrophe before the suffix splits the word.

Apostrophes between Latin letters (' ’ ‘ `): one that *sets off a suffix* (English 's 're 'll,
Turkish case and plural endings 'da 'nın 'daki 'lılar, Kurmanji 'yê 'an) splits the word;
any other is part of the word and dropped from its keys, as transliterations write ʿayn and
hamza (Da'esh = Daesh, Ba'ath = Baath). The test is :func:`_sets_off_suffix` on the letters
after the apostrophe; query and document go through the same tokeniser, so they agree.

Stems shorter than three letters are never emitted.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Iterable, Sequence

from crawler.text.normalize import normalize

__all__ = ["Token", "tokens", "index_terms", "query_terms", "token_keys", "match_phrase"]

_MARKS = ("\u0300-\u036f\u0483-\u0489\u0591-\u05c7\u0610-\u061a\u064b-\u065f\u0670"
          "\u06d6-\u06dc\u06df-\u06e8\u06ea-\u06ed\u08d3-\u08ff\u1ab0-\u1aff\u1dc0-\u1dff"
          "\u20d0-\u20ff\ufe20-\ufe2f")
#: (runs of letters or of marks, not one alternation per character: the same matches, 25 %
#: faster over a body)
_PIECE = rf"(?:[^\W_]+|[{_MARKS}\u200c\u200d]+)+"
# a word: letters/digits/marks/tatweel/joiners. Hyphens and punctuation separate words
# (al-Raqqa → al + Raqqa), as in SQLite's unicode61 tokenizer, so highlights cover the name
# itself; so does an apostrophe before a suffix (Raqqa's → Raqqa + s, Reqa'yê → Reqa + yê),
# while one inside a word joins it (Da'esh): see _words.
_WORD = re.compile(_PIECE)
_APOSTROPHES = "'\u2019\u2018`"
_HAS_APOSTROPHE = re.compile(f"[{_APOSTROPHES}]")
_LATIN_L = "A-Za-z\u00c0-\u024f"
# pieces joined by single apostrophes between Latin letters: Da'esh, Rakka'daki, Qur'an
_APOS_WORD = re.compile(
    rf"{_PIECE}((?:(?<=[{_LATIN_L}])[{_APOSTROPHES}](?=[{_LATIN_L}]){_PIECE})+)?")
# suffixes an apostrophe sets off (folded: ı→i, ü→u, ş→s, ê→e): English, Turkish case/plural/
# possessive/derivational endings, Kurmanji case and ezafe endings; up to four in a chain
_MORPHEMES = sorted({
    "s", "d", "ll", "re", "ve", "m", "t",                                    # English
    "i", "u", "a", "e", "yi", "yu", "ya", "ye", "in", "un", "nin", "nun", "n", "na", "ne",
    "ni", "nu", "da", "de", "ta", "te", "dan", "den", "tan", "ten", "nda", "nde", "ndan",
    "nden", "ki", "la", "le", "yla", "yle", "lar", "ler", "si", "su", "li", "lu", "lik",
    "luk", "ca", "ce", "dir", "dur", "tir", "tur", "miz", "muz", "niz", "nuz", "k", "y",
    "an", "en", "yan", "yen", "ek", "eke", "eki", "eka", "ekan", "ine",     # Kurmanji
}, key=len, reverse=True)
_SUFFIX_CHAIN = re.compile("(?:{0})(?:{0})?(?:{0})?(?:{0})?".format("|".join(_MORPHEMES)))
_JOINERS = "\u200c\u200d"
_ARABIC_LETTER = re.compile("[\u0620-\u064a\u066e-\u06d3\u06d5\u06fa-\u06ff\u0750-\u077f"
                            "\u08a0-\u08c7\ufb50-\ufdff\ufe70-\ufefc]")
_LATIN = re.compile("[A-Za-z\u00c0-\u024f]")


@dataclass(frozen=True)
class Token:
    start: int               # offset in the original text
    end: int
    surface: str             # the original characters text[start:end]
    keys: tuple[str, ...]    # keys[0] is the full normalised form


# ---------------------------------------------------------------------- language groups

_GROUPS = {"ar": "ar", "arz": "ar", "apc": "ar", "acm": "ar", "ary": "ar", "arb": "ar",
           "ckb": "ckb", "fa": "fa", "pes": "fa", "kmr": "kmr", "ku": "kmr"}


def _group(lang: str | None) -> str:
    if not lang or lang == "und":
        return "any"
    return _GROUPS.get(lang.lower().split("-")[0].split("_")[0], "other")


# ---------------------------------------------------------------------- Arabic

# words that begin with س + ي/ت/ن but are not future-tense verbs (سنجار is not س + نجار)
_NOT_FUTURE_VERBS = frozenset(normalize(w) for w in (
    "سنجار", "سنة", "سنوات", "ستة", "ستين", "سيارة", "سيارات", "سياسة", "سياسي", "سياسية",
    "ستار", "سيناء", "سينما", "سيطرة", "سيدة", "سيد", "سيول", "سير", "سيرة", "سنغافورة",
    "سنوية", "سنوي", "سيف", "سيوف", "سياحة", "سياحية", "سياق", "سنتيمتر", "ستوكهولم", "سيريلانكا",
    "سنتين", "سنين", "سيناريو", "سيادة", "سيادي", "ستالين", "سيبيريا", "سيسي", "سيئول"))


def _arabic_stems(word: str, bare: bool) -> Iterable[str]:
    """Stems of a folded Arabic-script word after proclitics; ``bare`` also strips proclitics
    before words without the article (only for Arabic documents)."""
    for conj in ("", "و", "ف"):
        if conj and not word.startswith(conj):
            continue
        rest = word[len(conj):]
        if conj and len(rest) >= 3 and (bare or rest.startswith("ال")):
            yield rest                                    # والرقه → الرقه, وداعش → داعش
        if rest.startswith("لل") and len(rest) >= 4:
            yield "ال" + rest[2:]                         # للرقه → الرقه
            if bare:
                yield rest[1:]                            # للبنان → لبنان
            continue
        if rest[:1] in ("ب", "ك", "ل") and len(rest) >= 4:
            stem = rest[1:]
            if stem.startswith("ال") and len(stem) >= 4:
                yield stem                                # بالرقه → الرقه
            elif bare and len(stem) >= 3:
                yield stem                                # لداعش → داعش
        if (bare and rest[:1] == "س" and rest[1:2] in ("ي", "ت", "ن") and len(rest) >= 5
                and rest not in _NOT_FUTURE_VERBS):
            yield rest[1:]                                # سيقصف → يقصف


# ---------------------------------------------------------------------- Sorani / Persian

def _suffix_set(*layers: Sequence[str]) -> tuple[str, ...]:
    out = {""}
    for layer in layers:
        out = {a + b for a in out for b in layer}
    out.discard("")
    return tuple(sorted((normalize(s) for s in out), key=len, reverse=True))


_CKB_DEF = ("", "ەکە", "کە", "ەکان", "کان", "ان", "یان", "ێک", "یەک", "ە")  # definite/plural/indef.
_CKB_CASE = ("", "ی", "دا", "ەوە", "وە", "ڕا")                                 # ezafe and case
_CKB_ALSO = ("", "ش", "یش")                                                     # "also"
_CKB_SUFFIXES = tuple(sorted(set(_suffix_set(_CKB_DEF, _CKB_CASE, _CKB_ALSO))
                             | set(_suffix_set(_CKB_DEF, _CKB_ALSO, _CKB_CASE)),
                             key=len, reverse=True))
_FA_SUFFIXES = _suffix_set(("", "ها", "های", "هایی", "ی", "ای"))


def _suffix_stems(word: str, suffixes: tuple[str, ...]) -> Iterable[str]:
    for suf in suffixes:
        if word.endswith(suf) and len(word) - len(suf) >= 3:
            yield word[: -len(suf)]


# ---------------------------------------------------------------------- Kurmanji

# folded endings (ê→e, î→i): oblique/ezafe -ê -a -î, plural -an -ên, after vowels -yê -ya -yî
# -yan -yên, indefinite -ek -ekê -ekî -eke
_KMR_SUFFIXES = tuple(sorted({"e", "a", "i", "an", "en", "ye", "ya", "yi", "yan", "yen",
                              "ek", "eke", "eki", "eka", "ekan", "in", "ine"},
                             key=len, reverse=True))


def _kmr_stems(word: str) -> Iterable[str]:
    for suf in _KMR_SUFFIXES:
        if word.endswith(suf) and len(word) - len(suf) >= 3:
            yield word[: -len(suf)]


# ---------------------------------------------------------------------- keys

_MAX_KEYS = 6          # full form + up to 5 stems: bounds the FTS index size


@lru_cache(maxsize=1 << 17)
def _keys(surface: str, group: str) -> tuple[str, ...]:
    full = normalize(surface)
    if _HAS_APOSTROPHE.search(full):        # a joined word (Da'esh): its letters only
        surface = _HAS_APOSTROPHE.sub("", surface)
        full = normalize(surface)
    if not full:
        return ()
    keys = [full]
    if not surface.isascii() and _ARABIC_LETTER.search(surface) and not _LATIN.search(surface):
        if group in ("ar", "any"):
            keys.extend(_arabic_stems(full, bare=True))
        else:
            keys.extend(_arabic_stems(full, bare=False))
            if group == "ckb":
                keys.extend(_suffix_stems(full, _CKB_SUFFIXES))
            elif group == "fa":
                keys.extend(_suffix_stems(full, _FA_SUFFIXES))
    else:
        if group == "kmr":
            keys.extend(_kmr_stems(full))
    return tuple(dict.fromkeys(k for k in keys if k))[:_MAX_KEYS]


def token_keys(word: str, lang: str | None = None) -> tuple[str, ...]:
    """Keys of one word as a document token (full form first)."""
    return _keys(word, _group(lang))


@lru_cache(maxsize=1 << 14)
def _sets_off_suffix(piece: str) -> bool:
    """Whether the letters after an apostrophe are a suffix chain ('s, 'daki, 'yê), so the
    apostrophe splits the word, rather than part of the word (Da'esh)."""
    return _SUFFIX_CHAIN.fullmatch(normalize(piece)) is not None


def _words(text: str) -> Iterable[tuple[int, int]]:
    """Offsets of the words of ``text`` (before trimming joiners): :data:`_WORD` matches,
    with pieces joined across an apostrophe that does not set off a suffix."""
    for m in _APOS_WORD.finditer(text):
        start, end = m.span()
        if m.group(1) is None:           # no apostrophe inside: one word
            yield start, end
            continue
        pieces = [p.span() for p in _WORD.finditer(text, start, end)]
        first = start
        for (_, prev_end), (p_start, p_end) in zip(pieces, pieces[1:]):
            if _sets_off_suffix(text[p_start:p_end]):
                yield first, prev_end
                first = p_start
        yield first, end


def tokens(text: str, lang: str | None = None) -> list[Token]:
    """Tokenise ``text`` keeping offsets into the original string.

    A token never crosses whitespace, so tokenising whitespace-separated chunks gives the
    same tokens (the alert matcher relies on that)."""
    group = _group(lang)
    out: list[Token] = []
    spans = (map(re.Match.span, _WORD.finditer(text)) if _HAS_APOSTROPHE.search(text) is None
             else _words(text))
    for start, end in spans:
        while start < end and text[start] in _JOINERS:
            start += 1
        while end > start and text[end - 1] in _JOINERS:
            end -= 1
        surface = text[start:end]
        keys = _keys(surface, group)
        if keys:
            out.append(Token(start, end, surface, keys))
    return out


def index_terms(text: str, lang: str | None = None) -> str:
    """Space-separated keys of every token, in order: what the FTS index stores.

    The same keys as ``tokens`` gives (a test holds them equal), without building offsets and
    Token objects: this runs over every stored article's body."""
    group = _group(lang)
    keys_of = _keys
    out: list[str] = []
    if _HAS_APOSTROPHE.search(text) is None:
        words = _WORD.findall(text)
    else:                                   # only words with an apostrophe inside are split
        words = []
        for m in _APOS_WORD.finditer(text):
            if m.group(1) is None:
                words.append(m.group())
            else:
                word = m.group()
                words.extend(word[a:b] for a, b in _words(word))
    for surface in words:
        surface = surface.strip(_JOINERS)
        if surface:
            out.extend(keys_of(surface, group))
    return " ".join(out)


def query_terms(query: str, lang: str | None = None) -> list[str]:
    """One key per query word: the normalised word itself (the query is the lemma)."""
    del lang
    out: list[str] = []
    for start, end in _words(query):
        key = _HAS_APOSTROPHE.sub("", normalize(query[start:end]))     # Da'esh → daesh
        if key:
            out.append(key)
    return out


def match_phrase(toks: Sequence[Token], phrase_keys: Sequence[str]) -> list[tuple[int, int]]:
    """Token index ranges ``[i, j)`` where consecutive tokens match ``phrase_keys`` (from
    :func:`query_terms`). Gaps between tokens are not checked; callers that must not match
    across sentence punctuation check ``text[toks[k].end:toks[k+1].start]`` themselves."""
    n = len(phrase_keys)
    if n == 0:
        return []
    hits = []
    for i in range(len(toks) - n + 1):
        if all(phrase_keys[k] in toks[i + k].keys for k in range(n)):
            hits.append((i, i + n))
    return hits
