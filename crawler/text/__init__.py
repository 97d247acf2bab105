"""Arabic/Kurdish text layer: normalisation, analysis, language identification, dates.

Framework-free; used by extraction, the store (FTS indexing and queries) and alert matching.
See ``crawler/text/README.md``.
"""
from crawler.text.normalize import normalize
from crawler.text.analysis import Token, tokens, index_terms, query_terms, token_keys, match_phrase
from crawler.text.langid import detect, identify
from crawler.text.dates import parse_date, search_date

__all__ = ["normalize", "Token", "tokens", "index_terms", "query_terms", "token_keys",
           "match_phrase", "detect", "identify", "parse_date", "search_date"]
