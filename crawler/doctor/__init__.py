"""``chavder sources doctor ID|URL``: one polite look at a source, explained for the person
fixing it — reachable? robots.txt? what kind of document (feed, sitemap, news sitemap, listing,
JSON API, challenge page, JavaScript-only page)? how many items, the newest date, three sample
articles, a verdict and the next step. A bare site URL is searched the way a person would:
``<link rel="alternate">`` feeds, common feed paths, ``Sitemap:`` lines of robots.txt,
``/sitemap.xml`` and ``/news-sitemap.xml``; the best candidate is printed as a ready-to-paste
``sources.yaml`` entry.

Requests go one at a time with the crawl's User-Agent (or the source's), a pause between them,
a size cap, at most :data:`MAX_REQUESTS`, and the crawl's address rule: private and loopback
addresses only for a source with ``allow_private: true`` (or ``--allow-private`` for a URL).
The diagnosis itself (:func:`diagnose`, ``diagnosis.py``) is plain: it reads bytes it is
given. ``fetch.py`` makes the polite requests; ``report.py`` walks a source or a site with
them and writes the report (``run_doctor``, ``online_table``).
"""
from crawler.doctor.diagnosis import Diagnosis, diagnose, feed_links, guess_api, robots_sitemaps
from crawler.doctor.fetch import MAX_BYTES, MAX_REQUESTS, Fetched, Fetcher
from crawler.doctor.report import NEXT_STEP, Report, online_table, run_doctor

__all__ = ["Diagnosis", "diagnose", "feed_links", "guess_api", "robots_sitemaps", "MAX_BYTES",
           "MAX_REQUESTS", "Fetched", "Fetcher", "NEXT_STEP", "Report", "online_table",
           "run_doctor"]
