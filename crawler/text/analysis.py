"""Token analysis shared by the FTS index, search and alert matching.

A document token matches a query word when the query word's key is one of the token's keys.
Keys are the normalised surface form plus the forms left after stripping clitics/suffixes
(Arabic proclitics + article, Sorani suffixes, Kurmanji case endings), so that a query for
الرقة finds والرقة/بالرقة/للرقة but not برقة or الرقابة.

PROVISIONAL minimal version; the text-layer work (issue 4) replaces it.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from crawler.text.normalize import normalize

_WORD = re.compile(r"\w+", re.UNICODE)


@dataclass(frozen=True)
class Token:
    start: int          # offset in the original text
    end: int
    surface: str        # the original characters
    keys: tuple[str, ...]  # first key is the full normalised form


def _keys(word: str, lang: str | None) -> tuple[str, ...]:
    norm = normalize(word, lang)
    keys = [norm]
    for prefix in ("وال", "بال", "فال", "كال", "ال"):
        if norm.startswith(prefix) and len(norm) - len(prefix) >= 2:
            keys.append("ال" + norm[len(prefix):])
            break
    if norm.startswith("لل") and len(norm) > 3:
        keys.append("ال" + norm[2:])
    return tuple(dict.fromkeys(keys))


def tokens(text: str, lang: str | None = None) -> list[Token]:
    """Tokenise ``text`` keeping offsets into the original string."""
    return [Token(m.start(), m.end(), m.group(), _keys(m.group(), lang))
            for m in _WORD.finditer(text)]


def index_terms(text: str, lang: str | None = None) -> str:
    """Space-separated keys of every token, in order: what the FTS index stores."""
    return " ".join(" ".join(t.keys) for t in tokens(text, lang))


def query_terms(query: str, lang: str | None = None) -> list[str]:
    """One key per query word: the normalised word itself (the query is the lemma)."""
    return [normalize(m.group(), lang) for m in _WORD.finditer(query)]
