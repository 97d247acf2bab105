"""Scrapy settings for Chavder. Values that ``chavder.yaml`` also sets come from
``crawler.defaults``; the crawl driver (``crawler.crawl.scrapy_settings``) overrides them from the
application's settings. Only plain values live here: live objects (store, resolver, alerting)
reach components through ``crawler.chavder`` (see ``crawler.app``), never through settings."""
import sys

from crawler import defaults as _defaults

BOT_NAME = "chavder"
SPIDER_MODULES = ["crawler.spiders"]
NEWSPIDER_MODULE = "crawler.spiders"

USER_AGENT = _defaults.USER_AGENT.format(contact_url=_defaults.CONTACT_URL)
ROBOTSTXT_OBEY = True

# Politeness: at most 2 requests in flight per domain, adaptive delay on top.
CONCURRENT_REQUESTS = 32
# Items run through synchronous pipelines: Scrapy would otherwise start CONCURRENT_ITEMS (100)
# cooperative tasks per response — ~100 Deferreds per article for nothing (measured: -14 % wall).
CONCURRENT_ITEMS = 8
CONCURRENT_REQUESTS_PER_DOMAIN = _defaults.CONCURRENT_PER_DOMAIN
DOWNLOAD_DELAY = 0
AUTOTHROTTLE_ENABLED = True
AUTOTHROTTLE_START_DELAY = 0.25
AUTOTHROTTLE_MAX_DELAY = 30
AUTOTHROTTLE_TARGET_CONCURRENCY = 2.0

DOWNLOAD_TIMEOUT = _defaults.DOWNLOAD_TIMEOUT
DOWNLOAD_MAXSIZE = _defaults.MAX_BODY_BYTES
DOWNLOAD_WARNSIZE = 0
REDIRECT_MAX_TIMES = 5
COMPRESSION_ENABLED = True  # gzip, deflate, br (brotli package installed)
COOKIES_ENABLED = False
TELNETCONSOLE_ENABLED = False
REMOTE_CONTROL_ENABLED = False  # Scrapy 2.19: no control port on a monitoring service
# a development-time lint: Scrapy reads and parses each callback's source (inspect.getsource +
# ast) for every new spider — 1–5 ms per callback per crawl job, thousands of jobs an hour
WARN_ON_GENERATOR_RETURN_VALUE = False

RETRY_ENABLED = True
RETRY_TIMES = 2
RETRY_HTTP_CODES = [429, 500, 502, 503, 504, 522, 524, 408]
CHAVDER_RETRY_BACKOFF_BASE = _defaults.RETRY_BACKOFF_BASE   # seconds; doubles per attempt
CHAVDER_RETRY_AFTER_MAX = _defaults.RETRY_AFTER_MAX         # cap on a server's Retry-After
CHAVDER_POLITENESS_LEASE = _defaults.POLITENESS_LEASE_SECONDS   # with redis_url (scale-out)
CHAVDER_POLITENESS_POLL = _defaults.POLITENESS_POLL_SECONDS

# Connections are made by a handler that resolves, then refuses private addresses the source
# does not allow (crawler/download.py), and sends nothing more to a host that challenged the
# source this crawl (crawler/blocking.py); offsite rules apply per source, to every request.
# Certificates are verified (Scrapy does not by default); see crawler/tls.py.
DOWNLOAD_VERIFY_CERTIFICATES = True
DOWNLOAD_HANDLERS = {
    "http": "crawler.blocking.BackoffDownloadHandler",
    "https": "crawler.blocking.BackoffDownloadHandler",
}
DOWNLOADER_MIDDLEWARES = {
    "crawler.middlewares.AddressPolicyMiddleware": 40,
    "scrapy.downloadermiddlewares.offsite.OffsiteMiddleware": None,
    "crawler.middlewares.SourceOffsiteMiddleware": 50,
    "scrapy.downloadermiddlewares.robotstxt.RobotsTxtMiddleware": None,
    "crawler.robots.SharedRobotsTxtMiddleware": 100,
    "crawler.middlewares.ConditionalGetMiddleware": 560,
    "scrapy.downloadermiddlewares.retry.RetryMiddleware": None,
    "crawler.middlewares.BackoffRetryMiddleware": 550,
    "crawler.middlewares.RetryDelayMiddleware": 555,
    # after decompression (590) and redirects (600), before retry (550): see ChallengeMiddleware
    "crawler.blocking.ChallengeMiddleware": 580,
    # before Scrapy's DefaultHeaders (400) and UserAgent (500), which only fill unset headers
    "crawler.middlewares.SourceHeadersMiddleware": 390,
    # last before the downloader: per-domain slots shared by all workers (only with redis_url)
    "crawler.scaleout.politeness.SharedPolitenessMiddleware": 950,
}
ITEM_PIPELINES = {
    "crawler.pipelines.ExtractPipeline": 100,
    "crawler.pipelines.StorePipeline": 500,
    "crawler.pipelines.AlertPipeline": 700,
}
EXTENSIONS = {
    "scrapy.extensions.telnet.TelnetConsole": None,
    "crawler.unexpected.StoreGuard": 490,
    "crawler.extensions.CrawlReport": 500,
    "crawler.unexpected.UnexpectedErrors": 510,
}

# Chavder's own settings. Plain ``scrapy crawl <kind>`` (no Chavder driver) builds the application
# from CHAVDER_CONFIG: a path, relative to this project's scrapy.cfg; $CHAVDER_CONFIG wins over
# the default. CHAVDER_STORE / CHAVDER_SOURCES, when set (``-s``), replace the file's
# ``store:`` / ``sources:``. See ``crawler.appref.app_of``.
CHAVDER_CONFIG = _defaults.CONFIG_FILE
CHAVDER_STORE = None
CHAVDER_SOURCES = None
CHAVDER_PROGRESS_INTERVAL = _defaults.PROGRESS_INTERVAL
# deliver instant alerts during the crawl (chavder crawl/demo and the service set it; a plain
# ``scrapy crawl`` only matches them — ``chavder alerts send`` delivers)
CHAVDER_DELIVER_ALERTS = False

LOG_LEVEL = "INFO"
LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
LOG_DATEFORMAT = "%Y-%m-%d %H:%M:%S"
REQUEST_FINGERPRINTER_IMPLEMENTATION = "2.7"
# Twisted's own epoll reactor, not the asyncio one: on this stack (Twisted 26, Scrapy 2.19,
# Python 3.11) each HTTP exchange under AsyncioSelectorReactor took ~65 ms against ~4 ms under
# epoll (bench: 15 vs 220 pages/s at one request in flight). Nothing in Chavder needs asyncio.
TWISTED_REACTOR = ("twisted.internet.epollreactor.EPollReactor" if sys.platform.startswith("linux")
                   else "twisted.internet.selectreactor.SelectReactor")
FEED_EXPORT_ENCODING = "utf-8"
LOG_FORMATTER = "crawler.logformatter.ChavderLogFormatter"
