"""Search results as one self-contained HTML page (``chavder search … --format html``), for
terminals that do not implement bidi: a browser lays out every result right to left or left to
right by its language (``dir``), isolates mixed Arabic/Latin outlet names (``<bdi>``), and
shows the matched terms in ``<mark>``. Article text is untrusted: Jinja2 autoescapes all of it,
and only http(s) URLs become links."""
from __future__ import annotations

from datetime import datetime, timezone

from jinja2 import Environment, StrictUndefined
from markupsafe import Markup, escape

from crawler.alerts.highlight import highlight
from crawler.cli.results import url_parts
from crawler.mail.compose import safe_url
from crawler.store.base import SearchHit
from crawler.text.direction import text_direction
from crawler.urls import display_url

_PAGE = """\
<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="Chavder">
<title>Chavder search: {{ query }}</title>
<style>
  body { font-family: -apple-system, "Segoe UI", Tahoma, "Noto Sans Arabic", "Noto Naskh Arabic",
         Arial, sans-serif; color: #1d1d1f; background: #f5f5f7; margin: 0; padding: 16px; }
  header, article { max-width: 760px; margin: 0 auto 12px; }
  article { background: #fff; border-radius: 8px; padding: 12px 20px; }
  h1 { font-size: 18px; } h2 { font-size: 19px; line-height: 1.5; margin: 6px 0; }
  h2 a { color: #0b57d0; text-decoration: none; }
  .meta { color: #555; font-size: 14px; margin: 4px 0; }
  .url { font-size: 13px; color: #2a6a2a; overflow-wrap: anywhere; margin: 4px 0; }
  .excerpt { font-size: 16px; line-height: 1.8; margin: 6px 0; }
  mark { background: #ffe58a; color: inherit; padding: 0 2px; }
</style>
</head>
<body>
<header>
<h1>Search <bdi>{{ query }}</bdi> · {{ hits | length }} result{{ "" if hits | length == 1
  else "s" }}</h1>
<p class="meta">{{ store }} · {{ generated }}</p>
</header>
{% for h in hits %}
<article id="article-{{ h.id }}"{% if h.lang %} lang="{{ h.lang }}"{% endif %} dir="{{ h.dir }}">
<h2>{% if h.href %}<a href="{{ h.href }}">{{ h.title }}</a>{% else %}{{ h.title }}{% endif %}</h2>
<p class="meta" dir="ltr"><bdi>{{ h.outlet }}</bdi>
{%- if h.outlet != h.source %} ({{ h.source }}){% endif %} · {{ h.published }}
 · {{ h.lang or "?" }} · score {{ h.score }} · article {{ h.id }} · story {{ h.story }}</p>
<p class="url" dir="ltr">
{%- if h.href %}<a href="{{ h.href }}">{{ h.url }}</a>{% else %}{{ h.url }}{% endif %}</p>
<p class="excerpt">{{ h.excerpt }}</p>
{% if h.also %}
<p class="meta">also reported by: {% for name in h.also %}<bdi>{{ name }}</bdi>
{%- if not loop.last %}, {% endif %}{% endfor %}</p>
{% endif %}
</article>
{% else %}
<article><p>No results.</p></article>
{% endfor %}
</body>
</html>
"""

_ENV = Environment(autoescape=True, undefined=StrictUndefined, trim_blocks=True,
                   lstrip_blocks=True, keep_trailing_newline=True)


def results_page(query: str, hits: list[SearchHit], *, store: str,
                 outlets: dict[str, str] | None = None, now: datetime | None = None) -> str:
    """The HTML page of ``hits`` for ``query`` (``store``: the store they came from;
    ``outlets``: source id → outlet name, shown with the id)."""
    now = now or datetime.now(timezone.utc)
    outlets = outlets or {}
    rows = [{"id": h.article_id, "story": h.story_id, "title": h.title, "source": h.source,
             "outlet": outlets.get(h.source) or h.source,
             "lang": h.language, "dir": text_direction(h.language),
             "published": h.published_at or "undated", "score": f"{h.score:.2f}",
             "href": safe_url(h.url), "url": url_markup(display_url(h.url)),
             "excerpt": highlight(h.excerpt, h.spans), "also": h.also_reported_by}
            for h in hits]
    return _ENV.from_string(_PAGE).render(
        query=query, hits=rows, store=store,
        generated=now.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"))


def url_markup(url: str) -> Markup:
    """A decoded URL as escaped HTML, each right-to-left path segment in its own ``<bdi>`` (so
    ``هەواڵ/2017/06/هەسەدە`` keeps its segments in order); copied, it is the URL's text."""
    return Markup("".join(f"<bdi>{escape(part)}</bdi>" if rtl else str(escape(part))
                          for part, rtl in url_parts(url)))
