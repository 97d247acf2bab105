"""Word sequence and exact-copy fingerprint of an article body.

Both the exact fingerprint and the shingles for near-duplicate detection are built from the same
word sequence: the body folded by ``crawler.text.normalize`` (tashkeel, letter variants, digits)
and cut into ``\\w+`` words, so punctuation, whitespace, tatweel and zero-width joiners — which
differ between outlets republishing the same copy — never make two copies look different.
"""
from __future__ import annotations

import hashlib
import re

from crawler.text import normalize

__all__ = ["words", "body_fingerprint", "fingerprint_words", "FINGERPRINT_VERSION"]

#: Bump when ``words`` changes meaning, so stored fingerprints can be recomputed.
FINGERPRINT_VERSION = 1

_WORD = re.compile(r"\w+")
# ZWNJ/ZWJ (Sorani and Persian typing), direction marks, BOM and soft hyphen: invisible, and
# present in one outlet's copy but not another's.
_INVISIBLE = re.compile("[\u200c\u200d\u200e\u200f\u061c\ufeff\u00ad\u2066-\u2069\u202a-\u202e]")


def words(text: str, lang: str | None = None) -> list[str]:
    """The normalised words of ``text`` in order (what fingerprints and shingles are made of)."""
    if not text:
        return []
    return _WORD.findall(normalize(_INVISIBLE.sub("", text), lang))


def body_fingerprint(body: str, lang: str | None = None) -> str:
    """Hash of the normalised body: equal for copies that differ only in spelling variants the
    normaliser folds, punctuation or whitespace. 32 hex characters (128-bit BLAKE2b)."""
    return fingerprint_words(words(body, lang))


def fingerprint_words(tokens: list[str]) -> str:
    """``body_fingerprint`` of already-split words (saves normalising the body twice)."""
    return hashlib.blake2b(" ".join(tokens).encode("utf-8"), digest_size=16).hexdigest()
