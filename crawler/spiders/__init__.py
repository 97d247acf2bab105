"""One thin spider per source kind (feed, sitemap, listing, api), configured by the source
list."""
from crawler.spiders.api import ApiSpider
from crawler.spiders.feed import FeedSpider
from crawler.spiders.listing import ListingSpider
from crawler.spiders.sitemap import SitemapSpider

SPIDERS_BY_KIND = {"feed": FeedSpider, "sitemap": SitemapSpider, "listing": ListingSpider,
                   "api": ApiSpider}

__all__ = ["FeedSpider", "SitemapSpider", "ListingSpider", "ApiSpider", "SPIDERS_BY_KIND"]
