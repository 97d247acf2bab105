"""Arabic/Kurdish text layer: normalisation, analysis, language identification, dates.

Framework-free; used by extraction, the store (FTS indexing and queries) and alert matching.
"""
from crawler.text.normalize import normalize
from crawler.text.analysis import Token, tokens, index_terms, query_terms
from crawler.text.langid import detect
from crawler.text.dates import parse_date, search_date

__all__ = ["normalize", "Token", "tokens", "index_terms", "query_terms", "detect",
           "parse_date", "search_date"]
