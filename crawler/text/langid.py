"""Language identification: ``detect(text) -> (code, confidence)``.

PROVISIONAL minimal version; the text-layer work (issue 4) replaces it.
"""
from __future__ import annotations

import re

_SORANI = re.compile("[ڕڵێۆەھ]")
_ARABIC = re.compile("[\u0600-\u06ff]")
_KMR = re.compile("[êîûçş]", re.I)


def detect(text: str) -> tuple[str, float]:
    """Return an ISO 639 code (ar, ckb, kmr, fa, tr, en, …) and a confidence in [0, 1]."""
    if not text.strip():
        return "und", 0.0
    if _SORANI.search(text):
        return "ckb", 0.9
    if _ARABIC.search(text):
        return "ar", 0.8
    if _KMR.search(text):
        return "kmr", 0.6
    return "en", 0.5
