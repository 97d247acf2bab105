"""What ``chavder demo`` sets up: the bundled sample outlets plus a wire outlet that republishes
one of their stories (so the demo store has a syndicated story and search shows "also reported
by"), the demo's alert rule, and — when the store is kept — a ``chavder.yaml`` that points every
other command at it (``chavder --config DIR/chavder.yaml search داعش``).

Plain files and text only: the CLI command (crawler/cli/crawl.py) serves and crawls them.
"""
from __future__ import annotations

from html import escape
from pathlib import Path
from typing import Any

import yaml

#: the sample outlet the demo republishes from, and the story (its ``_src`` entry's path)
SYNDICATED_FROM = "rok"
SYNDICATED_PATH = "/2017/06/روسيا-داعش-الرقة/"
WIRE_SITE = "wire"
WIRE_NAME = "ANHA wire — وكالة أنباء هاوار (sample)"
WIRE_PAGE = "/news/2017/06/روسيا-تهدد-بضرب-عناصر-داعش-الخارجين-من-الرقة.html"

#: the demo's rule: instant alerts and a daily digest, so ``digest preview`` has something
ALERT_RULES = """\
rules:
  - name: raqqa
    any: [[الرقة, ڕەققە, Reqa, Raqqa]]
    mode: both
    recipients: [desk@example.org]
"""


def story_to_syndicate(sample_root: Path) -> dict[str, Any]:
    """Title, publication time and paragraphs of the sample story the wire republishes."""
    source = yaml.safe_load((sample_root / "_src" / f"{SYNDICATED_FROM}.yaml")
                            .read_text(encoding="utf-8"))
    for article in source["articles"]:
        if article["path"] == SYNDICATED_PATH:
            return article
    raise LookupError(f"{SYNDICATED_PATH} is not in {SYNDICATED_FROM}'s sample articles")


def write_wire_outlet(sample_root: Path, target: Path) -> Path:
    """A one-story wire site under ``target`` (its feed and the republished article, two hours
    after the original, under a new headline); returns the site directory."""
    story = story_to_syndicate(sample_root)
    site = target / WIRE_SITE
    page = site / WIRE_PAGE.lstrip("/")
    page.parent.mkdir(parents=True, exist_ok=True)
    title = "عاجل | " + str(story["title"])
    published = "2017-06-01T16:05:00+03:00"
    body = "".join(f"<p>{escape(' '.join(str(p).split()))}</p>" for p in story["paragraphs"])
    page.write_text(
        '<!DOCTYPE html><html lang="ar" dir="rtl"><head><meta charset="utf-8">'
        f"<title>{escape(title)}</title>"
        f'<meta property="article:published_time" content="{published}"></head><body>'
        f"<article><h1>{escape(title)}</h1><div class=\"entry-content\">{body}"
        "<p>المصدر: وكالات</p></div></article></body></html>", encoding="utf-8")
    link = f"http://{WIRE_SITE}.fixture{WIRE_PAGE}"
    (site / "feed.xml").write_text(
        '<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel>'
        f"<title>{escape(WIRE_NAME)}</title><item><title>{escape(title)}</title>"
        f"<link>{escape(link)}</link><pubDate>Thu, 01 Jun 2017 16:05:00 +0300</pubDate>"
        "</item></channel></rss>", encoding="utf-8")
    return site


def wire_source_yaml() -> str:
    """The wire outlet's entry for the demo's ``sources.yaml`` (placeholder URL, substituted
    when the sample web writes the file)."""
    return (f"\n  - id: {WIRE_SITE}\n    name: {WIRE_NAME}\n    kind: feed\n"
            f"    start_urls: [http://{WIRE_SITE}.fixture/feed.xml]\n    languages: [ar]\n"
            "    timezone: Asia/Damascus\n")


def write_settings(directory: Path, store: str, sources: Path, alerts: Path) -> Path:
    """``DIR/chavder.yaml`` for a kept demo: the other commands then read the demo store."""
    path = directory / "chavder.yaml"
    path.write_text(yaml.safe_dump({"data_dir": str(directory), "store": store,
                                    "sources": str(sources), "alerts": str(alerts)},
                                   allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path
