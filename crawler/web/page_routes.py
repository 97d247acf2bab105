"""The HTML pages: search (with the attention chart), story, alerts, sources."""
from __future__ import annotations

from urllib.parse import urlencode

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response

from crawler import defaults
from crawler.web import alerts_view, search_view, sources_view, story_view
from crawler.web.context import chavder_of, filter_choices, source_names, utc_now

router = APIRouter(include_in_schema=False)


def render(request: Request, name: str, status: int = 200, **context: object) -> Response:
    return request.app.state.templates.TemplateResponse(request, name, context,
                                                        status_code=status)


def not_found(request: Request, what: str) -> Response:
    return render(request, "error.html", 404, title="Not found", message=what)


@router.api_route("/", methods=["GET", "HEAD"], response_class=HTMLResponse)
def search_page(request: Request) -> Response:
    """The search form, the attention chart of the query and one page of story rows."""
    app = chavder_of(request)
    form = search_view.SearchForm.from_params(request.query_params)
    now = utc_now()
    page = search_view.search_page(app.store, form, now, source_names(app))
    chart = search_view.attention_chart(app.store, form, now) if form.q else None

    def link(**changes: object) -> str:
        return "/?" + urlencode(form.params(**changes))

    feed = "/feeds/search.atom?" + urlencode({k: v for k, v in form.params().items()
                                             if k in ("q", "lang", "source")})
    return render(request, "search.html", form=form, page=page, chart=chart,
                  choices=filter_choices(app), link=link, feed=feed,
                  ranges=search_view.RANGES, colours=chart and _colours(chart))


def _colours(chart: search_view.AttentionChart) -> list[tuple[str, str]]:
    from crawler.web.charts import colours
    return [("all" if k is None else k, c) for k, c in colours(chart.keys).items()]


@router.api_route("/story/{story_id}", methods=["GET", "HEAD"], response_class=HTMLResponse)
def story_page(request: Request, story_id: int) -> Response:
    app = chavder_of(request)
    story = story_view.story_page(app.store, story_id, source_names(app))
    if story is None:
        return not_found(request, f"There is no story {story_id} in the store.")
    return render(request, "story.html", story=story)


@router.api_route("/alerts", methods=["GET", "HEAD"], response_class=HTMLResponse)
def alerts_page(request: Request) -> Response:
    """Rules, the rule test form (GET: it changes nothing), recent alerts, digest previews."""
    app = chavder_of(request)
    rules = alerts_view.load_rule_list(app)
    params = request.query_params
    test = None
    chosen = params.get("rule") or ""
    text = (params.get("text") or "")[:20_000]
    if chosen and text.strip():
        rule = next((r for r in rules if r.name == chosen), None)
        if rule is not None:
            test = alerts_view.test_rule(rule, text, params.get("lang") or None,
                                         params.get("source") or None)
    return render(request, "alerts.html", rules=alerts_view.rule_views(rules),
                  alerts_file=app.settings.alerts, test=test, chosen=chosen, text=text,
                  test_lang=params.get("lang") or "",
                  alerts=alerts_view.recent_alerts(app.store),
                  digests=alerts_view.digest_previews(app) if rules else [])


@router.api_route("/sources", methods=["GET", "HEAD"], response_class=HTMLResponse)
def sources_page(request: Request) -> Response:
    app = chavder_of(request)
    return render(request, "sources.html", rows=sources_view.source_rows(app, utc_now()),
                  days=defaults.WEB_SPARK_DAYS)


@router.api_route("/sources/{source_id}", methods=["GET", "HEAD"], response_class=HTMLResponse)
def source_page(request: Request, source_id: str) -> Response:
    app = chavder_of(request)
    rows = [r for r in sources_view.source_rows(app, utc_now()) if r.id == source_id]
    if not rows:
        return not_found(request, f"There is no source {source_id!r}.")
    return render(request, "source.html", row=rows[0],
                  articles=sources_view.recent_articles(app.store, source_id),
                  days=defaults.WEB_SPARK_DAYS)
