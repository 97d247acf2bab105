"""The sources page's logic: per source the health ``chavder status`` shows (last success,
next run, articles in 24 h, last error with its reason), the URLs held back by the failed-article
back-off, a sparkline of articles per day, and a source's recent articles."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Iterable

from markupsafe import Markup

from crawler import defaults
from crawler.backoff import doubling
from crawler.challenges import explain
from crawler.redact import redact_text
from crawler.store.base import STORE_FAULT_PREFIX
from crawler.text.dates import parse_iso
from crawler.urls import display_url
from crawler.web.charts import sparkline_svg
from crawler.web.search_view import direction

#: The spiders' cap on one URL's wait (crawler/spiders/base.py) and how far back they look.
MAX_WAIT_SECONDS = 86_400.0
FAILURE_WINDOW = timedelta(days=7)


@dataclass
class Backoff:
    """URLs of a source that the next crawl skips because they failed recently."""

    urls: int = 0
    until: str | None = None        # when the last of them may be fetched again (UTC ISO)


@dataclass
class SourceRow:
    id: str
    name: str
    kind: str
    enabled: bool
    languages: list[str]
    interval_minutes: float | None
    last_success: str | None
    last_crawl: str | None
    next_run: str | None
    articles_24h: int
    articles_total: int
    last_error: dict | None         # at, url (decoded), reason (redacted), advice
    backoff: Backoff
    activity: list[int] = field(default_factory=list)
    sparkline: Markup = Markup("")

    def to_json(self) -> dict:
        data = {k: v for k, v in vars(self).items() if k not in ("sparkline", "backoff")}
        data["backoff"] = vars(self.backoff)
        return data


def backoff(errors: Iterable[dict], now: datetime, base_seconds: float,
            polled: Iterable[str] = ()) -> Backoff:
    """The failed-article back-off of the spiders, recomputed from the fetch errors: the n-th
    failure of a URL in the last 7 days waits ``base × 2^(n-1)`` (at most a day). ``polled``:
    the source's feeds and index pages, fetched on every run whatever they answered."""
    if base_seconds <= 0:
        return Backoff()
    since = now - FAILURE_WINDOW
    skip = set(polled)
    per_url: dict[str, tuple[int, datetime]] = {}
    for row in errors:
        at = parse_iso(row.get("at"))
        if at is None or at < since or row["url"] in skip \
                or str(row.get("reason", "")).startswith(STORE_FAULT_PREFIX):
            continue
        n, last = per_url.get(row["url"], (0, at))
        per_url[row["url"]] = (n + 1, max(last, at))
    waiting = [last + timedelta(seconds=doubling(base_seconds, n, MAX_WAIT_SECONDS))
               for n, last in per_url.values()]
    waiting = [t for t in waiting if t > now]
    return Backoff(len(waiting), max(waiting).isoformat() if waiting else None)


def _error(err: dict | None) -> dict | None:
    if not err:
        return None
    reason = redact_text(str(err.get("reason") or ""))
    blocked = explain(reason)
    return {"at": err.get("at"), "url": display_url(err.get("url")),
            "reason": blocked[0] if blocked else reason,
            "advice": blocked[1] if blocked else None}


def source_rows(app: Any, now: datetime, days: int = defaults.WEB_SPARK_DAYS) -> list[SourceRow]:
    """Every listed source, then any other source the store has articles or errors of."""
    store = app.store
    listed = app.known_sources()
    status = store.source_status()
    schedule = store.schedule_state()
    activity = store.source_activity(days, now)
    ids = [s.id for s in listed] + sorted((set(status) | set(activity)) - {s.id for s in listed})
    by_id = {s.id: s for s in listed}
    base = float(app.settings.article_retry_seconds)
    rows = []
    for sid in ids:
        src = by_id.get(sid)
        st = status.get(sid, {})
        counts = activity.get(sid, [0] * days)
        rows.append(SourceRow(
            sid, src.name if src else sid, src.kind if src else "?",
            src.enabled if src else False, list(src.languages) if src else [],
            round(src.interval / 60, 1) if src else None,
            st.get("last_success"), st.get("last_crawl"), schedule.get(sid, {}).get("next_run"),
            int(st.get("articles_24h", 0)), store.count_articles(sid),
            _error(st.get("last_error")),
            backoff(store.fetch_errors(sid), now, base, src.start_urls if src else ())
            if st.get("last_error") else Backoff(),
            counts, sparkline_svg(counts, title=f"{sid}: {sum(counts)} articles in the last "
                                                f"{len(counts)} days")))
    return rows


@dataclass
class RecentArticle:
    id: int
    story_id: int
    title: str
    url: str
    language: str | None
    dir: str
    published_at: str | None
    first_seen: str


def recent_articles(store: Any, source: str, limit: int = defaults.WEB_RECENT
                    ) -> list[RecentArticle]:
    """The source's latest articles by first-seen time."""
    rows = store.recent_articles(source, limit)
    return [RecentArticle(r["id"], r["story_id"], r["title"], display_url(r["canonical_url"]),
                          r.get("language"), direction(r.get("language")), r.get("published_at"),
                          r.get("first_seen") or "") for r in rows]
