"""Index-page parsing: feeds, sitemaps, listing pages and JSON listing APIs →
:class:`~crawler.models.LinkHint`.

Framework-free: the spiders fetch, these functions only read bytes they are given. Untrusted XML
goes through :mod:`crawler.discovery.safexml` (gzip cap, entity policy, hardened lxml settings —
see its docstring for the security choices); hostile documents raise :class:`UnsafeXMLError`,
everything merely broken is parsed as far as possible and described in ``problems``.
"""
from crawler.discovery.api import ApiResult, parse_api
from crawler.discovery.feeds import parse_feed
from crawler.discovery.listing import extract_listing_links, looks_like_article
from crawler.discovery.results import FeedResult, ListingResult, SitemapResult, UnsafeXMLError
from crawler.discovery.safexml import MAX_DECOMPRESSED_BYTES
from crawler.discovery.sitemaps import parse_sitemap

__all__ = ["parse_feed", "parse_sitemap", "extract_listing_links", "looks_like_article",
           "parse_api", "ApiResult",
           "FeedResult", "SitemapResult", "ListingResult", "UnsafeXMLError",
           "MAX_DECOMPRESSED_BYTES"]
