"""The JSON API behind the pages (described at /openapi.json): the same functions, as data."""
from __future__ import annotations

from fastapi import APIRouter, HTTPException, Query
from starlette.requests import Request

from crawler import defaults
from crawler.web import search_view, sources_view, story_view
from crawler.web.context import chavder_of, source_names, utc_now

router = APIRouter(prefix="/api", tags=["api"])

_Q = Query("", description="query, the syntax of `chavder search` (words, \"phrases\", OR)")
_LANG = Query("", description="language code: ar, ckb, kmr, …")
_SOURCE = Query("", description="source id")
_RANGE = Query("", description="24h, 7d or 30d before now (instead of since/until)")
_SINCE = Query("", description="oldest publication date, YYYY-MM-DD")
_UNTIL = Query("", description="newest publication date, YYYY-MM-DD (inclusive)")


def _form(q: str, lang: str, source: str, range: str, since: str, until: str,  # noqa: A002
          **more: str) -> search_view.SearchForm:
    return search_view.SearchForm.from_params({"q": q, "lang": lang, "source": source,
                                               "range": range, "since": since,
                                               "until": until, **more})


@router.get("/search", summary="stories matching a query, one row per story")
def api_search(request: Request, q: str = _Q, lang: str = _LANG, source: str = _SOURCE,
               range: str = _RANGE, since: str = _SINCE, until: str = _UNTIL,  # noqa: A002
               sort: str = Query("relevance", description="relevance or newest"),
               offset: int = Query(0, ge=0), limit: int = Query(defaults.WEB_PAGE_SIZE, ge=1,
                                                                 le=100)) -> dict:
    app = chavder_of(request)
    form = _form(q, lang, source, range, since, until, sort=sort, offset=str(offset),
                 limit=str(limit))
    if form.problems:
        raise HTTPException(400, "; ".join(form.problems))
    page = search_view.search_page(app.store, form, utc_now(), source_names(app))
    return {"query": form.params(), "total": page.total, "offset": page.offset,
            "next_offset": page.offset + len(page.rows) if page.has_next else None,
            "results": [{**row.hit.to_json(), "direction": row.dir, "display_url": row.url}
                        for row in page.rows]}


@router.get("/attention", summary="matching stories per day or hour, split by language or "
            "source")
def api_attention(request: Request, q: str = _Q, lang: str = _LANG, source: str = _SOURCE,
                  range: str = _RANGE, since: str = _SINCE, until: str = _UNTIL,  # noqa: A002
                  split: str = Query("language", description="language, source or none"),
                  interval: str = Query("auto", description="auto, day or hour")) -> dict:
    app = chavder_of(request)
    form = _form(q, lang, source, range, since, until, split=split, interval=interval)
    chart = search_view.attention_chart(app.store, form, utc_now())
    return chart.to_json()


@router.get("/story/{story_id}", summary="a story: its text, copies and revisions")
def api_story(request: Request, story_id: int) -> dict:
    app = chavder_of(request)
    story = story_view.story_page(app.store, story_id, source_names(app))
    if story is None:
        raise HTTPException(404, f"no story {story_id}")
    return story.to_json()


@router.get("/sources", summary="per source: health, back-off and articles per day")
def api_sources(request: Request) -> dict:
    rows = sources_view.source_rows(chavder_of(request), utc_now())
    return {"days": defaults.WEB_SPARK_DAYS, "sources": [r.to_json() for r in rows]}
