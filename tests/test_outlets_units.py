"""The plain parts behind outlets as they publish: source fields for APIs, headers and evidence;
the JSON listing reader; the challenge classifier (on fixture pages modelled on each vendor)."""
from __future__ import annotations

import json
import textwrap
from datetime import datetime
from pathlib import Path

import pytest

from crawler.challenges import classify, explain
from crawler.config import ConfigError, load_sources
from crawler.discovery.api import parse_api

GUARDED = Path(__file__).resolve().parent / "fixtures" / "outlets" / "guarded"
API_ENTRY = """\
sources:
  - id: a
    kind: api
    start_urls: ["https://x.org/api?page={page}"]
"""


def problems_of(tmp_path: Path, text: str) -> list[str]:
    path = tmp_path / "sources.yaml"
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load_sources(path)
    return [p.split(":", 1)[1] for p in info.value.problems]   # "LINE: problem"


# ---------------------------------------------------------------------------- config

def test_api_source_with_headers_user_agent_and_evidence_loads(tmp_path):
    path = tmp_path / "sources.yaml"
    path.write_text(API_ENTRY + """\
    api: {items: Data.CategoryNews.Articles, link: Link, title: Title, body: BodyStripped,
          date: AMPDateTime, max_page: Data.MaxPage, first_page: 1}
    headers: {Accept: application/json, Accept-Language: ku, Referer: "https://x.org/"}
    user_agent: "Mozilla/5.0 (compatible; Chavder; +{contact_url})"
    verified: false
    notes: listing API seen in two scrapers
""", encoding="utf-8")
    (source,) = load_sources(path)
    assert source.kind == "api" and source.api["items"] == "Data.CategoryNews.Articles"
    assert source.headers == {"Accept": "application/json", "Accept-Language": "ku",
                              "Referer": "https://x.org/"}
    assert source.user_agent.startswith("Mozilla/5.0") and source.verified is False
    assert source.notes == "listing API seen in two scrapers"


@pytest.mark.parametrize("extra, line, fragment", [
    ("", 2, "kind api needs an 'api:' block"),
    ("    api: {items: Data.Articles}\n", 5, "api has no 'link'"),
    ("    api: {items: Data.Articles, link: Link, colour: red}\n", 5, "unknown api key 'colour'"),
    ("    api: {items: 'Data..Articles', link: Link}\n", 5, "api 'items' is 'Data..Articles'"),
    ("    api: {items: Data.Articles, link: 3}\n", 5, "api 'link' is 3"),
    ("    api: {items: Data.Articles, link: Link, first_page: -1}\n", 5, "'first_page' is -1"),
    ("    api: [items]\n", 5, "'api' must be a mapping"),
    ("    api: {items: A, link: L}\n    headers: {Cookie: x=1}\n", 6,
     "header 'Cookie' cannot be set per source"),
    ("    api: {items: A, link: L}\n    headers: {User-Agent: x}\n", 6, "'user_agent' field"),
    ("    api: {items: A, link: L}\n    headers: {Accept: 3}\n", 6, "header 'Accept' is 3"),
    ("    api: {items: A, link: L}\n    headers: {Referer: \"https://x.org/é\"}\n", 6,
     "not ASCII"),
    ("    api: {items: A, link: L}\n    headers: [Accept]\n", 6, "'headers' must be a mapping"),
    ("    api: {items: A, link: L}\n    user_agent: \"\"\n", 6, "'user_agent' is ''"),
    ("    api: {items: A, link: L}\n    verified: 'no'\n", 6, "'verified' is 'no'"),
    ("    api: {items: A, link: L}\n    notes: [a, b]\n", 6, "'notes' is"),
])
def test_api_and_header_mistakes_name_the_line_and_fix(tmp_path, extra, line, fragment):
    found = problems_of(tmp_path, API_ENTRY + extra)
    assert len(found) == 1, found
    assert found[0].startswith(f"{line}: "), found
    assert fragment in found[0] and " — " in found[0], found[0]


def test_api_block_on_another_kind_and_two_placeholders(tmp_path):
    found = problems_of(tmp_path, """\
        sources:
          - id: a
            kind: feed
            start_urls: [https://x.org/feed]
            api: {items: A, link: L}
          - id: b
            kind: api
            start_urls: ["https://x.org/{page}/{page}"]
            api: {items: A, link: L}
        """)
    assert any(p.startswith("5: ") and "'api' only applies to kind: api" in p for p in found)
    assert any(p.startswith("8: ") and "more than one {page}" in p for p in found)


# ---------------------------------------------------------------------------- JSON listings

SPEC = {"items": "Data.Articles", "link": "Link", "title": "Title", "body": "Body",
        "date": "Date", "max_page": "Data.MaxPage"}


def listing(*items, max_page=3) -> bytes:
    return json.dumps({"Data": {"MaxPage": max_page, "Articles": list(items)}}).encode()


@pytest.mark.parametrize("raw, expected", [
    ("2025-10-19T14:05:00", "2025-10-19T14:05:00+03:00"),          # naive: the source's zone
    ("2025-10-19T14:05:00Z", "2025-10-19T14:05:00+00:00"),
    ("2025-10-19T14:05:00+02:00", "2025-10-19T14:05:00+02:00"),
    ("/Date(1760871900000)/", "2025-10-19T11:05:00+00:00"),        # ASP.NET
    (1760871900, "2025-10-19T11:05:00+00:00"),                     # epoch seconds
    (1760871900000, "2025-10-19T11:05:00+00:00"),                  # epoch milliseconds
    ("Sun, 19 Oct 2025 14:05:00 +0300", "2025-10-19T14:05:00+03:00"),
    ("19 تشرين الأول 2025", "2025-10-19T00:00:00+03:00"),
])
def test_api_dates_in_the_shapes_outlets_use(raw, expected):
    result = parse_api(listing({"Link": "https://x.org/a/1", "Date": raw}), "https://x.org/api",
                       SPEC, timezone="Asia/Baghdad")
    assert result.problems == []
    assert datetime.fromisoformat(result.entries[0].published_at) == datetime.fromisoformat(
        expected)


def test_api_relative_links_max_page_teasers_and_whole_bodies():
    long_body = "<p>" + "Hewlêr (Rûdaw) – nûçeyeke dirêj. " * 30 + "</p>"
    result = parse_api(listing({"Link": "/kurmanci/1", "Title": "Yek", "Body": "kurt"},
                               {"Link": "/kurmanci/2", "Title": "Du", "Body": long_body},
                               {"Link": "/kurmanci/1", "Title": "Yek dîsa"}, max_page="7"),
                       "https://www.rudaw.net/API/News/Listing/?CurrentPage=1", SPEC)
    assert [e.url for e in result.entries] == ["https://www.rudaw.net/kurmanci/1",
                                               "https://www.rudaw.net/kurmanci/2"]
    assert result.max_page == 7
    assert result.entries[0].content_html is None          # a teaser is not the article
    assert result.entries[1].content_html == long_body


@pytest.mark.parametrize("body, fragment", [
    (b"", "empty body"),
    (b"<!DOCTYPE html><html><title>Just a moment...</title></html>", "not JSON"),
    (b'{"Data": ', "invalid JSON"),
    (b'{"Data": ' + b"[" * 100_000 + b"]" * 100_000 + b"}", "nested deeper than 64"),
    (b'{"Data": {"Other": []}}', "no 'Articles' under Data (keys there: Other)"),
    (b'{"Data": "x"}', "that is a string, not an object"),
    (b'[1, 2]', "no 'Data' under the top level"),
    (b'{"Data": {"Articles": [{"Link": "https://x.org/1", "Date": "soon"}]}}',
     "date field 'Date' not understood"),
    (b'{"Data": {"Articles": [{"Link": "https://x.org/1", "Date": "9999-01-01T00:00:00"}]}}',
     "date field 'Date' not understood"),
    (b'{"Data": {"MaxPage": "many", "Articles": []}}', "max_page 'Data.MaxPage' is a string"),
])
def test_api_bad_input_is_described_never_raised(body, fragment):
    result = parse_api(body, "https://x.org/api", SPEC)
    assert any(fragment in p for p in result.problems), result.problems


def test_api_huge_arrays_are_capped():
    items = [{"Link": f"https://x.org/{n}"} for n in range(7000)]
    result = parse_api(json.dumps({"Data": {"Articles": items}}).encode(), "https://x.org/api",
                       SPEC, max_items=5000)
    assert len(result.entries) == 5000 and result.truncated
    assert any("7000 items: read the first 5000" in p for p in result.problems)


# ---------------------------------------------------------------------------- challenges

@pytest.mark.parametrize("page, status, headers, vendor", [
    ("cf/challenge.html", 403, {"Server": "cloudflare"}, "Cloudflare"),
    ("cf/challenge.html", 503, {}, "Cloudflare"),
    ("sucuri/index.html", 200, {"Server": "Sucuri/Cloudproxy"}, "Sucuri"),
    ("sucuri/index.html", 200, {}, "Sucuri"),
    ("incapsula/feed.xml", 200, {"X-Iinfo": "5-1"}, "Imperva/Incapsula"),
    ("incapsula/feed.xml", 403, {}, "Imperva/Incapsula"),
    ("generic/feed.xml", 429, {}, "generic"),
    ("generic/feed.xml", 403, {"server": "cloudflare"}, "Cloudflare"),
])
def test_fixture_challenge_pages_are_recognised(page, status, headers, vendor):
    found = classify(status, headers, (GUARDED / page).read_bytes())
    assert found is not None and found.vendor == vendor
    assert explain(found.reason) == (f"blocked by an anti-bot challenge ({vendor})",
                                     found.reason.split("not stored; ", 1)[1])


@pytest.mark.parametrize("status, headers, body", [
    # an ordinary article on a Cloudflare-served site: passive bot script, Server header
    (200, {"Server": "cloudflare"}, b"<html><head><title>News</title><script src='/cdn-cgi/"
     b"challenge-platform/scripts/jsd/main.js'></script></head><body><p>Story</p></body></html>"),
    # an article about captchas is an article
    (200, {}, b"<html><title>Why captcha puzzles annoy readers</title><body>" + b"x " * 3000
     + b"</body></html>"),
    (403, {}, b"<html><body><h1>403 Forbidden</h1><p>nginx</p></body></html>"),
    (404, {"Server": "cloudflare"}, b"<html><body>Not found</body></html>"),
    (200, {}, b'{"Data": {"Articles": []}}'),
])
def test_ordinary_pages_and_errors_are_not_challenges(status, headers, body):
    assert classify(status, headers, body) is None


def test_cf_mitigated_header_alone_is_a_challenge():
    found = classify(403, {"cf-mitigated": "challenge"}, b"")
    assert found is not None and found.vendor == "Cloudflare"
    assert "the page was not stored" in found.reason and " — " in found.reason


# ---------------------------------------------------------------------------- shipped list

def test_shipped_list_follows_the_outlet_evidence():
    """Every entry unverified with its evidence; Rudaw through its API and sitemap (its RSS is
    dead), ANF through .rss feeds, Kurdistan24 through listing pages."""
    sources = {s.id: s for s in load_sources(Path(__file__).resolve().parent.parent
                                             / "sources.yaml")}
    assert all(s.verified is False and len(s.notes) > 20 for s in sources.values())
    rudaw = [s for s in sources.values() if s.id.startswith("rudaw")]
    assert {s.kind for s in rudaw} == {"api", "sitemap"}
    assert not any("rss" in u for s in rudaw for u in s.start_urls)
    assert all("{page}" in s.start_urls[0] and s.api["items"] for s in rudaw if s.kind == "api")
    assert all(u.endswith(".rss") for s in sources.values() if s.id.startswith("anf")
               for u in s.start_urls)
    assert sources["kurdistan24-ckb"].kind == "listing"
    expected = {"rudaw-kmr", "rudaw-ckb", "rudaw-ar", "rudaw-sitemap", "kurdistan24-ckb",
                "anf-kmr", "anf-ar", "enab-baladi", "syriahr", "npa-ar", "hawar-en", "xendan",
                "aljazeera", "bbc-arabic", "aawsat"}
    assert expected <= set(sources)


def test_challenge_memory_doubles_caps_and_clears():
    from crawler.blocking import MAX_BACKOFF, ChallengeMemory
    now = [1000.0]
    memory = ChallengeMemory(clock=lambda: now[0])
    key = ("syriahr", "www.syriahr.com")
    assert memory.hit(key, "Cloudflare", 900.0) == 900.0
    assert memory.waiting(key) == ("Cloudflare", 900.0)
    assert memory.hit(key, "Cloudflare", 900.0) == 1800.0           # second in a row
    assert memory.hit(("a", "h"), "Sucuri", 1.0) == 60.0              # floor of a minute
    for _ in range(20):
        wait = memory.hit(key, "Cloudflare", 900.0)
    assert wait == MAX_BACKOFF
    now[0] += MAX_BACKOFF + 1
    assert memory.waiting(key) is None                                # may be tried again
    memory.clear(key)                                                 # an ordinary answer
    assert memory.hit(key, "Cloudflare", 900.0) == 900.0              # streak starts over
