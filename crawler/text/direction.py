"""Which way a language is written: the HTML ``dir`` of a mail or page, and the directional
isolate (RLI/LRI/FSI) a terminal line gets. One list for both, so a page and a terminal agree."""
from __future__ import annotations

#: Languages written right to left (by ISO 639 code, as language ID and sources.yaml give them).
RTL_LANGUAGES = frozenset({"ar", "ckb", "fa", "ur", "ps", "he", "yi", "arz", "apc", "acm",
                           "sd", "ug", "dv", "ks", "azb", "lrc", "mzn", "glk", "sdh"})


def text_direction(language: str | None) -> str:
    """``rtl`` or ``ltr`` by language; ``auto`` (the text decides) when it is unknown."""
    if not language:
        return "auto"
    return "rtl" if language.split("-")[0].lower() in RTL_LANGUAGES else "ltr"
