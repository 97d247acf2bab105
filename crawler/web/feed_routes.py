"""Atom feeds out: the stories an alert rule matches, and the newest stories of a search."""
from __future__ import annotations

from fastapi import APIRouter, HTTPException, Query
from starlette.requests import Request
from starlette.responses import Response

from crawler import defaults
from crawler.store.base import SearchQuery
from crawler.urls import display_url
from crawler.web import alerts_view
from crawler.web.context import chavder_of, source_names
from crawler.web.feeds import MEDIA_TYPE, Entry, atom

router = APIRouter(prefix="/feeds", tags=["feeds"])


def _story_link(request: Request, story_id: int) -> str:
    return str(request.url_for("story_page", story_id=story_id))


@router.get("/rule/{name}.atom", summary="Atom feed of the stored stories a rule matches",
            response_class=Response, responses={200: {"content": {MEDIA_TYPE: {}}}})
def rule_feed(request: Request, name: str) -> Response:
    """The newest stored articles the rule matches (one per story), by the alert matcher
    itself — what ``chavder search --rule NAME`` lists."""
    from crawler.alerts.search import search_rule
    app = chavder_of(request)
    rule = next((r for r in alerts_view.load_rule_list(app) if r.name == name), None)
    if rule is None:
        raise HTTPException(404, f"no alert rule named {name!r}")
    names = source_names(app)
    rows = search_rule(app.store, rule, limit=defaults.WEB_RECENT)
    entries = [Entry(f"urn:chavder:story:{r['story_id']}", r["title"],
                     _story_link(request, r["story_id"]), r.get("published_at"),
                     summary=f"{names.get(r['source'], r['source'])} · "
                             f"{display_url(r['canonical_url'])} · matched: "
                             f"{', '.join(r['matched_terms'])}",
                     author=names.get(r["source"], r["source"]), language=r.get("language"),
                     categories=tuple(r["matched_terms"])) for r in rows]
    return Response(atom(f"urn:chavder:rule:{name}", f"Chavder — rule {name}",
                         str(request.url), str(request.url_for("alerts_page")), entries),
                    media_type=MEDIA_TYPE)


@router.get("/search.atom", summary="Atom feed of a search, newest stories first",
            response_class=Response, responses={200: {"content": {MEDIA_TYPE: {}}}})
def search_feed(request: Request, q: str = Query(..., min_length=1), lang: str = "",
                source: str = "") -> Response:
    app = chavder_of(request)
    names = source_names(app)
    hits = app.store.search(SearchQuery(text=q, language=lang or None, source=source or None,
                                        limit=defaults.WEB_RECENT, sort="newest"))
    entries = [Entry(f"urn:chavder:story:{h.story_id}", h.title,
                     _story_link(request, h.story_id), h.published_at,
                     summary=h.excerpt, author=names.get(h.source, h.source),
                     language=h.language) for h in hits]
    page = str(request.url_for("search_page")) + "?" + request.url.query
    return Response(atom(f"urn:chavder:search:{request.url.query}", f"Chavder — search {q}",
                         str(request.url), page, entries), media_type=MEDIA_TYPE)
