"""One thin spider per source kind (feed, sitemap, listing), configured by the source list."""
from crawler.spiders.feed import FeedSpider
from crawler.spiders.listing import ListingSpider
from crawler.spiders.sitemap import SitemapSpider

SPIDERS_BY_KIND = {"feed": FeedSpider, "sitemap": SitemapSpider, "listing": ListingSpider}

__all__ = ["FeedSpider", "SitemapSpider", "ListingSpider", "SPIDERS_BY_KIND"]
