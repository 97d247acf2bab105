"""Every built-in default of Chavder, in one place (Scrapy's ``default_settings`` habit).

``crawler.config.Settings`` (what ``chavder.yaml`` overrides), the Scrapy settings module
(``crawler.settings``), the crawl driver, the service and the CLI's help texts all read these
names, so a default is changed here once. Plain constants only: importing this module costs
nothing, not even a YAML parser.
"""
from __future__ import annotations

# --------------------------------------------------------------------------- files and store
CONFIG_FILE = "chavder.yaml"             # CLI: --config or $CHAVDER_CONFIG, else this if present
CONFIG_ENV = "CHAVDER_CONFIG"
DATA_DIR = "data"
STORE_URL = "sqlite:///data/chavder.db"
SOURCES_FILE = "sources.yaml"
ALERTS_FILE = "alerts.yaml"
OUTBOX_DIR = "outbox"                    # relative to the data directory
REVISION_TEXT_KEEP = 5                   # earlier revisions of an article that keep their text

# --------------------------------------------------------------------------- fetching
CONTACT_URL = "https://github.com/chavder/chavder"
USER_AGENT = "Chavder/0.1 (news monitor; +{contact_url})"
CONCURRENT_PER_DOMAIN = 2
POLITENESS_LEASE_SECONDS = 10.0          # with redis_url: a worker's per-domain slot lapses this
                                         # long after it stops renewing it (kill -9)
POLITENESS_POLL_SECONDS = 0.02           # a worker waiting on a full domain asks Redis this often
DOWNLOAD_TIMEOUT = 30.0                  # seconds
MAX_BODY_BYTES = 10 * 1024 * 1024
SOURCE_INTERVAL = 900.0                  # a source's poll interval, seconds
RETRY_BACKOFF_BASE = 1.0                 # seconds before the first HTTP retry; doubles
RETRY_AFTER_MAX = 120.0                  # cap on a server's Retry-After, seconds
ARTICLE_RETRY_SECONDS = 900.0            # first wait after a failed article; doubles
ROBOTS_TTL_SECONDS = 86400.0             # a parsed robots.txt is kept this long (as Google)
PROGRESS_INTERVAL = 10.0                 # seconds between progress lines; 0 = none
SOURCES_PER_CRAWLER = 50                 # one Scrapy crawler polls at most this many sources
DEDUP_WINDOW_DAYS = 30.0                 # older stories are no longer candidates

# --------------------------------------------------------------------------- alerts and mail
ALERT_RETRY_SECONDS = 30.0               # first retry delay of a failed alert; doubles
ALERT_MAX_ATTEMPTS = 10
ALERT_SWEEP_SECONDS = 1.0               # during a crawl, matched alerts go out this soon
SMTP_PORT = 587
SMTP_PASSWORD_ENV = "CHAVDER_SMTP_PASSWORD"
MAIL_SENDER = "Chavder <chavder@localhost>"

# --------------------------------------------------------------------------- the service
HEALTH_HOST = "127.0.0.1"
HEALTH_PORT = 9410                       # /healthz and /metrics; 0 = any free port; -1 = off
MAX_CONCURRENT_CRAWLS = 4
ALERT_DISPATCH_SECONDS = 15.0
DIGEST_CHECK_SECONDS = 60.0
DIGEST_GRACE_HOURS = 6.0                 # a digest missed while down is still sent this late
SHUTDOWN_TIMEOUT = 10.0
FIRST_RUN_STAGGER_SECONDS = 60.0         # overdue sources are spread over this window
BATCH_WINDOW_SECONDS = 0.5               # sources due together share one crawler

# --------------------------------------------------------------------------- scale-out (Redis)
REDIS_URL = ""                           # "": no Redis, everything in one process (embedded)
FRONTIER_PREFIX = "chavder"              # Redis keys of the frontier start with this
CONTROLLER_LEASE_SECONDS = 15.0          # a controller that stops renewing loses it this late
WORKER_HEARTBEAT_SECONDS = 2.0           # a worker says it lives this often …
WORKER_DEAD_SECONDS = 10.0               # … and counts as dead after this long without
WORKER_PREFETCH = 32                     # frontier entries a worker holds unacknowledged
WORKER_MAX_DISCOVERIES = 4               # index crawls (jobs) a worker runs at once
FRONTIER_RECLAIM_SECONDS = 300.0         # an entry unacknowledged this long is retried
FRONTIER_STALE_JOB_SECONDS = 3600.0      # a job older than this no longer blocks its source
FRONTIER_KNOWN_DAYS = 3                  # store_writer: controller — what workers know it stored
STORE_BATCH = 8                          # articles a crawl stores in one transaction, at most
STORE_BATCH_SECONDS = 0.05               # … gathered for at most this long
STORE_WRITER = "workers"                 # who writes the store with redis_url (or "controller")

# --------------------------------------------------------------------------- the web interface
WEB_HOST = "127.0.0.1"                   # other addresses need CHAVDER_WEB_TOKEN or basic auth
WEB_PORT = -1                            # `chavder run` serves the web interface: -1 = off
WEB_CLI_PORT = 9420                      # `chavder web` without --port (0 = any free port)
WEB_PAGE_SIZE = 20                       # search results per page
WEB_SPARK_DAYS = 14                      # days of the sources page's sparklines
WEB_RECENT = 20                          # recent articles per source, alerts, feed entries
WEB_FACETS_SECONDS = 60.0                # the search filters' stored languages/sources, cached

# --------------------------------------------------------------------------- browser rendering
BROWSER_MAX_PAGES = 2                    # pages headless Chromium renders at once (per process)
BROWSER_PAGE_TIMEOUT = 30.0              # seconds for one rendered page
BROWSER_EXECUTABLES = ("chromium", "chromium-browser", "google-chrome")   # looked up on PATH
