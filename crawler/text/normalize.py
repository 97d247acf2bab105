"""Character-level normalisation for indexing and matching (never for display).

PROVISIONAL minimal version; the text-layer work (issue 4) replaces it.
"""
from __future__ import annotations

import re
import unicodedata

_TASHKEEL = re.compile("[\u0610-\u061a\u064b-\u065f\u0670\u06d6-\u06ed\u0640]")
_TRANS = str.maketrans({
    "أ": "ا", "إ": "ا", "آ": "ا", "ٱ": "ا", "ى": "ي", "ی": "ي", "ک": "ك", "ة": "ه",
    **{chr(0x0660 + i): str(i) for i in range(10)},
    **{chr(0x06F0 + i): str(i) for i in range(10)},
})


def normalize(text: str, lang: str | None = None) -> str:
    """Return ``text`` folded for matching: no tashkeel/tatweel, unified letters, ASCII digits."""
    text = unicodedata.normalize("NFC", text)
    text = _TASHKEEL.sub("", text).translate(_TRANS)
    return text.lower()
