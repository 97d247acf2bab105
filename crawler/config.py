"""Declarative configuration: ``sources.yaml`` (what to poll) and ``chavder.yaml`` (how to run).

Everything is validated up front into dataclasses; every problem is reported as
``file:line: what is wrong — how to fix it`` and all problems of a file are reported at once.
Every numeric field has a sane range (``SETTING_RANGES``, ``SOURCE_RANGES``, ``MAIL_RANGES``):
no value switches a limit off, and a poll interval has a politeness floor (``MIN_INTERVAL``).
"""
from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, available_timezones

from crawler import defaults as builtin
from crawler.addresses import is_private_host
from crawler.source_fields import (api_problems, ca_bundle_problem, header_problems, url_problem,
                                   user_agent_problem)
from crawler.source_fields import API_KEYS, API_REQUIRED, HEADER_NAMES  # noqa: F401 - re-exported
from crawler.yamlconf import ConfigError, Located, load_located, unwrap

SOURCE_KINDS = ("feed", "sitemap", "listing", "api")
SELECTOR_KEYS = ("article_links", "next_page", "title", "body", "date", "author", "remove")
#: The page placeholder of an api source's URL template.
PAGE_PLACEHOLDER = "{page}"
_ID_RE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")
_INTERVAL_RE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(s|sec|m|min|h|d)?\s*$")
_UNITS = {None: 1, "s": 1, "sec": 1, "m": 60, "min": 60, "h": 3600, "d": 86400}


@dataclass(frozen=True)
class Range:
    """The sane values of a numeric setting, and why (shown when a value is outside)."""

    low: float
    high: float
    unit: str
    why: str

    def problem(self, key: str, value: float) -> str | None:
        """``'key' must be … — why`` when ``value`` is outside, else None."""
        if self.low <= value <= self.high:
            return None
        low = "0 or more" if self.low == 0 else f"at least {_num(self.low)}"
        unit = f" {self.unit}" if self.unit else ""
        return (f"'{key}' must be {low} and at most {_num(self.high)}{unit}, not "
                f"{_num(value)} — {self.why}")


def _num(value: float) -> str:
    return f"{int(value):,}" if float(value).is_integer() else f"{value:g}"


#: Politeness floor of a source's poll interval. Outlets publish a few stories an hour; polling
#: a third-party site more than once a minute only adds load (and gets crawlers blocked).
MIN_INTERVAL = 60.0
#: Sources on one's own network (``allow_private: true``: fixtures, an internal mirror) may be
#: polled faster, down to this.
MIN_PRIVATE_INTERVAL = 1.0

#: Most screens an infinite-scroll listing is scrolled (``scrolls:``, render: browser only).
MAX_SCROLLS = 20

#: Numeric fields of a sources.yaml entry (interval: see MIN_INTERVAL).
SOURCE_RANGES: dict[str, Range] = {
    "interval": Range(MIN_INTERVAL, 30 * 86400, "seconds",
                      "poll an outlet at most once a minute and at least once a month "
                      "(write e.g. '15m', '1h'); sources with allow_private: true may go down "
                      "to 1 s"),
    "max_pages": Range(1, 1000, "pages", "listing pagination bound: 1 reads the first page"),
    "max_articles": Range(1, 100_000, "articles", "articles fetched per crawl, newest first"),
    "scrolls": Range(0, MAX_SCROLLS, "scrolls", "an infinite-scroll listing is read this many "
                     "screens down; past a few screens the outlet's API or sitemap is the "
                     "better source"),
}
#: What ``render:`` may say: ``browser`` fetches the source's pages through headless Chromium
#: (crawler/browser.py); leave it out for plain HTTP.
RENDER_CHOICES = ("browser",)

#: Numeric settings of chavder.yaml. 0 never means "unlimited": a limit that can be switched
#: off by accident (max_body_bytes: 0 buffered 650 MB) is not a limit.
SETTING_RANGES: dict[str, Range] = {
    "concurrent_per_domain": Range(1, 32, "requests", "requests in flight per site; 2 is "
                                   "polite"),
    "download_timeout": Range(1, 3600, "seconds", "0 would fail every fetch; 30 is the "
                              "default"),
    "max_body_bytes": Range(1024, 256 * 1024 * 1024, "bytes", "the largest page or feed "
                            "kept in memory (default 10485760 = 10 MiB); there is no "
                            "'unlimited'"),
    "alert_retry_seconds": Range(0, 86400, "seconds", "first retry delay of a failed alert "
                                 "(it doubles)"),
    "article_retry_seconds": Range(0, 7 * 86400, "seconds", "first retry delay of a failed "
                                   "article (it doubles); 0 retries on every poll"),
    "alert_sweep_seconds": Range(0, 3600, "seconds", "how soon during a crawl a matched "
                                 "alert is sent; 0 sends them when the crawl is over"),
    "alert_max_attempts": Range(1, 100, "attempts", "deliveries tried before an alert is "
                                "marked failed"),
    "health_port": Range(-1, 65535, "", "a TCP port; 0 picks a free one, -1 turns the health "
                         "server off"),
    "web_port": Range(-1, 65535, "", "a TCP port for the web interface of chavder run; 0 "
                      "picks a free one, -1 (the default) turns it off"),
    "max_concurrent_crawls": Range(1, 64, "crawls", "crawls the service runs at once"),
    "alert_dispatch_seconds": Range(1, 3600, "seconds", "how often queued alerts are sent"),
    "digest_check_seconds": Range(1, 3600, "seconds", "how often due digests are looked for"),
    "digest_grace_hours": Range(0, 168, "hours", "how late a digest missed while down is "
                                "still sent"),
    "shutdown_timeout": Range(1, 3600, "seconds", "how long a stop waits for running crawls"),
    "browser_max_pages": Range(1, 16, "pages", "pages rendered at once by headless Chromium "
                               "(render: browser sources); 4 at once took ~650 MB "
                               "(bench/browser.py)"),
    "browser_page_timeout": Range(1, 300, "seconds", "how long one rendered page may take, "
                                  "challenge and scrolling included"),
    "revision_text_keep": Range(0, 1000, "revisions", "earlier revisions of an article whose "
                                "text is kept (older ones keep their hash and time); 0 keeps "
                                "hashes only"),
}
MAIL_RANGES: dict[str, Range] = {
    "smtp_port": Range(1, 65535, "", "the SMTP server's port: 587 (starttls), 465 (ssl) or 25"),
}


def number_problem(ranges: dict[str, Range], key: str, value: Any,
                   whole: bool) -> str | None:
    """Why ``value`` is not an acceptable ``key`` (wrong type or out of range), or None."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or (
            whole and not isinstance(value, int)):
        kind = "whole number" if whole else "number"
        return f"'{key}' must be a {kind}, not {value!r} — write it without quotes, e.g. 2"
    rng = ranges.get(key)
    return rng.problem(key, value) if rng is not None else None


@dataclass
class SourceConfig:
    """One outlet entry point, polled by the spider of its ``kind``."""

    id: str
    name: str
    kind: str
    start_urls: list[str]
    languages: list[str] = field(default_factory=list)
    timezone: str = "UTC"
    interval: float = builtin.SOURCE_INTERVAL   # poll interval, seconds
    selectors: dict[str, str] = field(default_factory=dict)
    allowed_domains: list[str] = field(default_factory=list)
    max_pages: int = 3                      # listing pagination bound
    max_articles: int = 200                 # per crawl, newest first
    allow_private: bool = False             # may fetch loopback/private addresses (fixtures only)
    verified: bool = True                   # False: URL not confirmed by a human yet
    enabled: bool = True
    notes: str = ""                         # the evidence behind the entry (free text)
    api: dict[str, Any] = field(default_factory=dict)   # kind api: see API_KEYS
    headers: dict[str, str] = field(default_factory=dict)  # extra request headers
    user_agent: str | None = None           # overrides chavder.yaml's user_agent
    ca_bundle: str | None = None            # PEM file of extra CAs to trust (crawler/tls.py)
    tls_verify: bool = True                 # False: accept any certificate (warned about)
    render: str = ""                        # "browser": pages through headless Chromium
    scrolls: int = 0                        # render: browser listings: screens scrolled down
    line: int = 0                           # where the entry starts in its file

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)


def parse_interval(value: Any) -> float | None:
    """``900``, ``"15m"``, ``"1h"``, ``"30s"`` → seconds; None when unreadable."""
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return float(value)
    m = _INTERVAL_RE.match(str(value))
    if not m:
        return None
    return float(m[1]) * _UNITS[m[2]]


#: below this a real outlet's poll is legal but impolite (and rarely useful): warned about
POLITE_INTERVAL = 300.0


def source_warnings(path: str | Path, sources: list[SourceConfig]) -> list[str]:
    """Legal but doubtful entries, as ``file:line: warning — fix`` lines (``sources check``)."""
    out = []
    for s in sources:
        where = f"{path}:{s.line}: source '{s.id}'"
        if not s.tls_verify:
            out.append(f"{where}: tls_verify: false — its certificates are not checked; prefer "
                       "'ca_bundle: PATH' with the outlet's CA")
        if "ku" in s.languages:
            out.append(f"{where}: languages: [ku] is ambiguous — write ckb (Sorani, Arabic "
                       "script) or kmr (Kurmanji, Latin script)")
        if s.interval < POLITE_INTERVAL and not s.allow_private:
            out.append(f"{where}: interval {s.interval:g} s is below the polite "
                       f"{POLITE_INTERVAL:g} s for a public outlet — most outlets publish a "
                       "few articles an hour; write e.g. '10m'")
    return out


def load_sources(path: str | Path, *, text: str | None = None,
                 only_enabled: bool = False) -> list[SourceConfig]:
    """Load and validate a source list; raise ConfigError listing every problem."""
    path = Path(path)
    doc = load_located(path, text)
    problems: list[str] = []

    def err(line: int, message: str) -> None:
        problems.append(f"{path}:{line}: {message}")

    if not isinstance(doc, dict) or "sources" not in doc:
        raise ConfigError([f"{path}:1: expected a top-level 'sources:' list — see the shipped "
                           "sources.yaml for the format"])
    defaults_loc = doc.get("defaults")
    defaults = unwrap(defaults_loc) if defaults_loc else {}
    if not isinstance(defaults, dict):
        err(defaults_loc.line, "'defaults' must be a mapping of source fields")
        defaults = {}
    entries = doc["sources"]
    if not isinstance(entries.value, list):
        raise ConfigError([f"{path}:{entries.line}: 'sources' must be a list of entries "
                           "starting with '- id: …'"])
    known_fields = {"id", "name", "kind", "start_urls", "languages", "timezone", "interval",
                    "selectors", "allowed_domains", "max_pages", "max_articles",
                    "allow_private", "verified", "enabled", "notes", "api", "headers",
                    "user_agent", "ca_bundle", "tls_verify", "render", "scrolls"}
    seen: dict[str, int] = {}
    sources: list[SourceConfig] = []
    zones = available_timezones()
    for item in entries.value:
        entry = item.value
        if not isinstance(entry, dict):
            err(item.line, "each source must be a mapping with id, kind and start_urls")
            continue
        merged: dict[str, Located] = {k: Located(v, item.line) for k, v in defaults.items()}
        merged.update(entry)

        def get(key: str, default: Any = None) -> Any:
            return unwrap(merged[key]) if key in merged else default

        def line_of(key: str) -> int:
            return merged[key].line if key in merged else item.line

        for key in entry:
            if key not in known_fields:
                err(entry[key].line, f"unknown field '{key}' — valid fields: "
                    + ", ".join(sorted(known_fields)))
        sid = get("id")
        if not isinstance(sid, str) or not _ID_RE.match(sid):
            err(line_of("id"), f"source id {sid!r} is missing or invalid — use lower-case "
                "letters, digits, '-' or '_' (e.g. rudaw-ar)")
            continue
        if sid in seen:
            err(line_of("id"), f"duplicate source id '{sid}' (first defined on line "
                f"{seen[sid]}) — give each source its own id")
            continue
        seen[sid] = line_of("id")
        kind = get("kind")
        if kind not in SOURCE_KINDS:
            err(line_of("kind"), f"source '{sid}': unknown kind {kind!r} — use one of "
                + ", ".join(SOURCE_KINDS))
        urls = get("start_urls", [])
        if isinstance(urls, str):
            urls = [urls]
        if not urls:
            err(line_of("start_urls"), f"source '{sid}': start_urls is empty — give at "
                "least one feed, sitemap or section URL")
        allow_private = bool(get("allow_private", False))
        for n, url in enumerate(urls):
            url_line = merged["start_urls"].value[n].line if isinstance(
                merged.get("start_urls", Located(None, 0)).value, list) else line_of("start_urls")
            problem = url_problem(url)
            if problem:
                err(url_line, f"source '{sid}': start URL {url!r} {problem} — write a full "
                    "URL such as https://example.com/feed/")
            elif is_private_host(urlsplit(url).hostname or "") and not allow_private:
                err(url_line, f"source '{sid}': start URL {url!r} points to a private or "
                    "loopback address — set 'allow_private: true' if that is intended")
        tz = get("timezone", "UTC")
        if not isinstance(tz, str) or tz not in zones:
            err(line_of("timezone"), f"source '{sid}': unknown time zone {tz!r} — use an "
                "IANA name such as Asia/Baghdad, Asia/Damascus or Europe/Istanbul")
            tz = "UTC"
        interval = parse_interval(get("interval", builtin.SOURCE_INTERVAL))
        if interval is None or interval <= 0:
            err(line_of("interval"), f"source '{sid}': interval {get('interval')!r} is not a "
                "duration — write seconds or e.g. '15m', '1h'")
            interval = builtin.SOURCE_INTERVAL
        else:
            floor = MIN_PRIVATE_INTERVAL if allow_private else MIN_INTERVAL
            rng = SOURCE_RANGES["interval"]
            problem = Range(floor, rng.high, rng.unit, rng.why).problem("interval", interval)
            if problem:
                err(line_of("interval"), f"source '{sid}': {problem}")
        selectors = get("selectors", {}) or {}
        if not isinstance(selectors, dict):
            err(line_of("selectors"), f"source '{sid}': selectors must be a mapping")
            selectors = {}
        for key in selectors:
            if key not in SELECTOR_KEYS:
                err(line_of("selectors"), f"source '{sid}': unknown selector '{key}' — valid: "
                    + ", ".join(SELECTOR_KEYS))
        languages = get("languages", []) or []
        if isinstance(languages, str):
            languages = [languages]
        domains = get("allowed_domains", None)
        if not domains:
            domains = sorted({urlsplit(u).hostname for u in urls
                              if isinstance(u, str) and urlsplit(u).hostname})
        for key in ("max_pages", "max_articles"):
            problem = number_problem(SOURCE_RANGES, key, get(key, 1), whole=True)
            if problem:
                err(line_of(key), f"source '{sid}': {problem}")
        for key in ("verified", "enabled", "allow_private", "tls_verify"):
            if key in merged and not isinstance(get(key), bool):
                err(line_of(key), f"source '{sid}': '{key}' is {get(key)!r} — write true or "
                    "false")
        notes = get("notes", "")
        if notes is None:
            notes = ""
        if not isinstance(notes, str):
            err(line_of("notes"), f"source '{sid}': 'notes' is {notes!r} — write text that "
                "says what the evidence for the entry is")
            notes = str(notes)
        def inner_line(field_name: str, key: str | None) -> int:
            block = merged.get(field_name)
            inner = block.value if block is not None else None
            if key is not None and isinstance(inner, dict) and isinstance(inner.get(key), Located):
                return inner[key].line
            return line_of(field_name)

        api = get("api", None)
        if kind == "api" and api is None:
            err(item.line, f"source '{sid}': kind api needs an 'api:' block — e.g. api: "
                "{items: Data.CategoryNews.Articles, link: Link, title: Title, date: Date}")
        elif kind == "api":
            for key, problem in api_problems(api):
                err(inner_line("api", key), f"source '{sid}': {problem}")
            for n, url in enumerate(urls):
                if isinstance(url, str) and url.count(PAGE_PLACEHOLDER) > 1:
                    err(line_of("start_urls"), f"source '{sid}': URL template {url!r} has "
                        f"more than one {PAGE_PLACEHOLDER} — keep one, where the page number "
                        "goes")
        elif api is not None:
            err(line_of("api"), f"source '{sid}': 'api' only applies to kind: api — remove "
                "it or change the kind")
        headers = get("headers", None) or {}
        for key, problem in header_problems(headers):
            err(inner_line("headers", key), f"source '{sid}': {problem}")
        user_agent = get("user_agent", None)
        if (problem := user_agent_problem(user_agent)):
            err(line_of("user_agent"), f"source '{sid}': {problem}")
        ca_bundle = get("ca_bundle", None)
        if ca_bundle is not None:
            if not isinstance(ca_bundle, str) or not ca_bundle.strip():
                err(line_of("ca_bundle"), f"source '{sid}': 'ca_bundle' is {ca_bundle!r} — "
                    "give the path of a PEM file of CA certificates")
                ca_bundle = None
            else:
                ca_bundle = str((Path(path).parent / ca_bundle).resolve())
                if (problem := ca_bundle_problem(ca_bundle)):
                    err(line_of("ca_bundle"), f"source '{sid}': {problem}")
        render = get("render", None)
        if render is not None and render not in RENDER_CHOICES:
            err(line_of("render"), f"source '{sid}': 'render' is {render!r} — write "
                "'render: browser' (headless Chromium) or leave it out (plain HTTP)")
            render = None
        scrolls = get("scrolls", 0)
        if (problem := number_problem(SOURCE_RANGES, "scrolls", scrolls, whole=True)):
            err(line_of("scrolls"), f"source '{sid}': {problem}")
            scrolls = 0
        elif scrolls and (render != "browser" or kind != "listing"):
            err(line_of("scrolls"), f"source '{sid}': 'scrolls' needs kind: listing and "
                "render: browser — add both, or (better) use the outlet's API or sitemap")
            scrolls = 0
        sources.append(SourceConfig(
            id=sid, name=str(get("name", sid)), kind=str(kind), start_urls=list(urls),
            languages=[str(x) for x in languages], timezone=tz, interval=interval,
            selectors={str(k): str(v) for k, v in selectors.items()},
            allowed_domains=[str(d) for d in domains],
            max_pages=int(get("max_pages", 3)) if isinstance(get("max_pages", 3), int) else 3,
            max_articles=int(get("max_articles", 200)) if isinstance(get("max_articles", 200), int) else 200,
            allow_private=allow_private, verified=get("verified", True) is True,
            enabled=get("enabled", True) is not False, notes=notes,
            api=dict(api) if isinstance(api, dict) else {},
            headers={str(k): str(v) for k, v in headers.items()}
            if isinstance(headers, dict) else {},
            user_agent=user_agent if isinstance(user_agent, str) else None,
            ca_bundle=ca_bundle, tls_verify=get("tls_verify", True) is not False,
            render=render or "", scrolls=int(scrolls), line=item.line))
    if problems:
        raise ConfigError(problems)
    if only_enabled:
        sources = [s for s in sources if s.enabled]
    return sources


# --------------------------------------------------------------------------- settings

@dataclass
class MailSettings:
    smtp_host: str | None = None            # None: write .eml files to the outbox
    smtp_port: int = builtin.SMTP_PORT
    security: str = "starttls"              # starttls | ssl | none
    username: str | None = None
    password_env: str = builtin.SMTP_PASSWORD_ENV
    password_file: str | None = None
    sender: str = builtin.MAIL_SENDER
    outbox: str = builtin.OUTBOX_DIR       # relative to data_dir


@dataclass
class Settings:
    """How Chavder runs. Every field has an embedded default; ``chavder.yaml`` overrides."""

    data_dir: str = builtin.DATA_DIR
    store: str = builtin.STORE_URL
    sources: str = builtin.SOURCES_FILE
    alerts: str = builtin.ALERTS_FILE
    contact_url: str = builtin.CONTACT_URL
    user_agent: str = builtin.USER_AGENT
    concurrent_per_domain: int = builtin.CONCURRENT_PER_DOMAIN
    download_timeout: float = builtin.DOWNLOAD_TIMEOUT
    max_body_bytes: int = builtin.MAX_BODY_BYTES
    log_format: str = "text"                # text | json
    alert_retry_seconds: float = builtin.ALERT_RETRY_SECONDS      # first retry; doubles
    article_retry_seconds: float = builtin.ARTICLE_RETRY_SECONDS  # first retry; doubles
    alert_max_attempts: int = builtin.ALERT_MAX_ATTEMPTS
    alert_sweep_seconds: float = builtin.ALERT_SWEEP_SECONDS      # 0: after the crawl
    # the service (chavder run)
    health_host: str = builtin.HEALTH_HOST
    health_port: int = builtin.HEALTH_PORT  # /healthz and /metrics; -1 turns it off
    # the web interface (chavder web; chavder run when web_port is not -1)
    web_host: str = builtin.WEB_HOST        # not loopback: needs a token or basic auth
    web_port: int = builtin.WEB_PORT
    web_token_file: str = ""                # a file holding the access token (or env)
    max_concurrent_crawls: int = builtin.MAX_CONCURRENT_CRAWLS
    alert_dispatch_seconds: float = builtin.ALERT_DISPATCH_SECONDS
    digest_check_seconds: float = builtin.DIGEST_CHECK_SECONDS
    digest_grace_hours: float = builtin.DIGEST_GRACE_HOURS  # late sending of a missed digest
    digest_empty_policy: str = "skip"       # skip | nothing-new
    shutdown_timeout: float = builtin.SHUTDOWN_TIMEOUT
    redis_url: str = builtin.REDIS_URL      # scale-out frontier (crawler/scaleout); "": none
    store_writer: str = builtin.STORE_WRITER   # workers | controller (workers on many machines)
    # headless Chromium for render: browser sources (crawler/browser.py)
    browser_max_pages: int = builtin.BROWSER_MAX_PAGES
    browser_page_timeout: float = builtin.BROWSER_PAGE_TIMEOUT
    browser_executable: str = ""            # "": chromium found on PATH
    revision_text_keep: int = builtin.REVISION_TEXT_KEEP   # earlier revisions keeping text
    mail: MailSettings = field(default_factory=MailSettings)
    path: str | None = None                 # the file it came from, if any

    @property
    def resolved_user_agent(self) -> str:
        return self.user_agent.format(contact_url=self.contact_url)

    @property
    def outbox_dir(self) -> Path:
        return Path(self.data_dir) / self.mail.outbox


_CHOICES = {"digest_empty_policy": ("skip", "nothing-new"),
            "store_writer": ("workers", "controller")}


def _redis_url_problem(value: object) -> str | None:
    from crawler.redisurl import redis_url_problem
    return redis_url_problem(value)


def load_settings(path: str | Path | None = None) -> Settings:
    """Load ``chavder.yaml`` (or ``$CHAVDER_CONFIG``) if present; defaults otherwise."""
    candidate = path or os.environ.get(builtin.CONFIG_ENV) or builtin.CONFIG_FILE
    settings = Settings()
    if not Path(candidate).exists():
        if path:
            raise ConfigError([f"{path}: file not found — create it or omit --config"])
        return settings
    doc = load_located(candidate)
    if doc is None:
        return settings
    problems: list[str] = []
    if not isinstance(doc, dict):
        raise ConfigError([f"{candidate}:1: expected a mapping of settings"])
    for key, loc in doc.items():
        value = unwrap(loc)
        if key == "mail":
            if not isinstance(value, dict):
                problems.append(f"{candidate}:{loc.line}: 'mail' must be a mapping")
                continue
            for mkey, mval in value.items():
                mline = loc.value[mkey].line
                if not hasattr(settings.mail, mkey):
                    problems.append(f"{candidate}:{mline}: unknown mail setting "
                                    f"'{mkey}' — valid: " + ", ".join(MailSettings.__dataclass_fields__))
                elif mkey in MAIL_RANGES and (problem := number_problem(
                        MAIL_RANGES, mkey, mval, whole=True)):
                    problems.append(f"{candidate}:{mline}: mail: {problem}")
                else:
                    setattr(settings.mail, mkey, mval)
        elif key in Settings.__dataclass_fields__ and key not in ("path",):
            expected = type(getattr(settings, key))
            if expected in (int, float):
                problem = number_problem(SETTING_RANGES, key, value, whole=expected is int)
                if problem:
                    problems.append(f"{candidate}:{loc.line}: {problem}")
                    continue
                value = expected(value)
            if not isinstance(value, expected):
                problems.append(f"{candidate}:{loc.line}: '{key}' must be a {expected.__name__}")
                continue
            if key == "redis_url" and (problem := _redis_url_problem(value)):
                problems.append(f"{candidate}:{loc.line}: {problem}")
                continue
            if key in _CHOICES and value not in _CHOICES[key]:
                problems.append(f"{candidate}:{loc.line}: '{key}' is {value!r} — use one of: "
                                + ", ".join(_CHOICES[key]))
                continue
            setattr(settings, key, value)
        else:
            problems.append(f"{candidate}:{loc.line}: unknown setting '{key}' — valid: "
                            + ", ".join(k for k in Settings.__dataclass_fields__ if k != "path"))
    if problems:
        raise ConfigError(problems)
    settings.path = str(candidate)
    return settings
