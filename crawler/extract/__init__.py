"""HTML → Article extraction (framework-free). See ``extract_article``."""
from crawler.extract.errors import ExtractionError
from crawler.extract.article import extract_article
from crawler.text.charset import decode_html

__all__ = ["ExtractionError", "extract_article", "decode_html"]
