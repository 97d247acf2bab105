"""``chavder show ID``, ``chavder story ID --text`` and ``chavder export`` (issue 16), driven as
the README tells a user: crawl the fixture outlets, find an article with ``search``, read its
stored text, export the store as JSON lines or CSV. Expected texts come from the fixture web's
own ``expected.yaml``, not from the store."""
from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from datetime import datetime, timezone
from urllib.parse import unquote, urlsplit

import pytest
import yaml

from crawler.export import FIELDS
from crawler.sampleweb import default_root
from tests.conftest import ChavderEnv
from testsupport.processes import chavder_env

EXPECTED = yaml.safe_load((default_root() / "expected.yaml").read_text(encoding="utf-8"))
SITES = ("rok", "sorani")
RAQQA_PATH = "/هەواڵ/2017/06/هەسەدە-چوونە-ناو-ڕەققە.html"
RAQQA = EXPECTED["sorani"][RAQQA_PATH]
SORANI_NAME = "دەنگی هەولێر (fixture)"


@pytest.fixture(scope="module")
def crawled(tmp_path_factory, fixture_web) -> ChavderEnv:
    """The Arabic (rok) and Sorani outlets of the fixture web, crawled once by ``chavder crawl``."""
    tmp = tmp_path_factory.mktemp("show-export")
    env = ChavderEnv.create(tmp, fixture_web.write_sources(tmp / "sources.yaml"))
    env.crawl(*SITES)
    return env


def _search(env: ChavderEnv, *words: str) -> list[dict]:
    return [json.loads(x) for x in env.run("search", "--json", *words).stdout.splitlines()]


def _raqqa_hit(env: ChavderEnv) -> dict:
    """The search result (``--json``) of the fixture's Raqqa report: the ids a user passes on."""
    hits = [h for h in _search(env, "ڕەققە") if h["title"] == RAQQA["title"]]
    assert len(hits) == 1, hits
    return hits[0]


@pytest.fixture(scope="module")
def raqqa(crawled) -> dict:
    return _raqqa_hit(crawled)


def _expected_count() -> int:
    return sum(len(EXPECTED[site]) for site in SITES)


# ------------------------------------------------------------------ show / story --text

def test_show_prints_the_stored_text_title_outlet_time_and_decoded_url(crawled, raqqa):
    article = raqqa["id"]
    # the id is what search prints for the user to pass on
    assert f"article {article}" in crawled.run("search", "ڕەققە").stdout
    out = crawled.run("show", str(article)).stdout
    lines = out.splitlines()
    assert lines[0] == RAQQA["title"]
    assert SORANI_NAME in lines[1] and RAQQA["published_at"] in lines[1], lines[1]
    assert urlsplit(lines[2]).path == RAQQA_PATH           # readable, not %D9%87…
    assert "%" not in lines[2]
    for phrase in RAQQA["body_contains"]:
        assert phrase in out, phrase
    for junk in RAQQA["body_excludes"]:
        assert junk not in out.split("\n\n", 1)[1], junk
    assert "\u2068" not in out and "\u2067" not in out     # piped: no isolates


def test_show_json_is_the_exported_article(crawled, raqqa):
    article = raqqa["id"]
    row = json.loads(crawled.run("show", str(article), "--json").stdout)
    assert set(row) == set(FIELDS)
    assert row["id"] == article and row["title"] == RAQQA["title"]
    assert row["source"] == "sorani" and row["language"] == "ckb"
    assert all(phrase in row["body"] for phrase in RAQQA["body_contains"])


def test_show_of_an_unknown_id_says_so(crawled):
    proc = crawled.run("show", "999999", check=False)
    assert proc.returncode == 1 and "no article 999999" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_story_text_prints_the_representatives_body(crawled, raqqa):
    story = raqqa["story_id"]
    plain = crawled.run("story", str(story)).stdout
    with_text = crawled.run("story", str(story), "--text").stdout
    assert with_text.startswith(plain)
    assert RAQQA_PATH in plain                           # the copies' URLs, decoded
    assert all(phrase in with_text for phrase in RAQQA["body_contains"])
    assert not any(phrase in plain for phrase in RAQQA["body_contains"])
    as_json = json.loads(crawled.run("story", str(story), "--text", "--json").stdout)
    assert all(phrase in as_json["text"] for phrase in RAQQA["body_contains"])


# ------------------------------------------------------------------ export

def test_export_jsonl_has_every_article_with_its_body(crawled):
    proc = crawled.run("export")
    rows = [json.loads(x) for x in proc.stdout.splitlines()]
    assert len(rows) == _expected_count()
    assert f"exported {len(rows)} article(s)" in proc.stderr
    by_path = {(r["source"], unquote(urlsplit(r["url"]).path).rstrip("/")): r for r in rows}
    for site in SITES:
        for path, want in EXPECTED[site].items():
            row = by_path.get((site, want["url_path"].rstrip("/")))
            assert row is not None, (site, path, sorted(by_path))
            assert row["title"] == want["title"] and row["language"] == want["language"]
            assert all(phrase in row["body"] for phrase in want.get("body_contains", []))
    # stored URLs stay requestable (percent-encoded); only screens decode them
    assert all(r["url"].isascii() for r in rows)


def _published_between(since: str, until: str) -> set[tuple[str, str]]:
    low, high = (datetime.fromisoformat(d).replace(tzinfo=timezone.utc) for d in (since, until))
    return {(s, p) for s in SITES for p, w in EXPECTED[s].items()
            if low <= datetime.fromisoformat(w["published_at"]) <= high}


@pytest.mark.parametrize("args,expected", [
    (["--source", "sorani"], {("sorani", p) for p in EXPECTED["sorani"]}),
    (["--lang", "ar"], {("rok", p) for p in EXPECTED["rok"]}),
    (["--since", "2017-06-08", "--until", "2017-06-09"],
     _published_between("2017-06-08", "2017-06-09")),
], ids=["source", "lang", "since-until"])
def test_export_filters(crawled, args, expected):
    rows = [json.loads(x) for x in crawled.run("export", *args).stdout.splitlines()]
    want_titles = sorted(EXPECTED[s][p]["title"] for s, p in expected)
    assert sorted(r["title"] for r in rows) == want_titles
    assert rows, "a filter test that exports nothing proves nothing"


def test_export_reads_the_store_page_by_page(crawled):
    """Small pages give the same rows, in id order, as the command's export; no page is read
    twice and none is skipped (the keyset walk over ids)."""
    from crawler.export import ExportFilter, export_rows
    store = crawled.open_store()
    try:
        paged = [r["id"] for r in export_rows(store, ExportFilter(), page=2)]
        sorani = [r["id"] for r in export_rows(store, ExportFilter(source="sorani"), page=4)]
    finally:
        store.close()
    full = [json.loads(x)["id"] for x in crawled.run("export").stdout.splitlines()]
    assert paged == full == sorted(full) and len(set(paged)) == _expected_count()
    assert sorani == [json.loads(x)["id"] for x in
                      crawled.run("export", "--source", "sorani").stdout.splitlines()]


def test_export_refuses_an_unknown_source(crawled):
    proc = crawled.run("export", "--source", "nosuch", check=False)
    assert proc.returncode == 2 and "'nosuch'" in proc.stderr and "sorani" in proc.stderr


def test_export_csv_to_a_file_round_trips_bodies(crawled, tmp_path):
    out = tmp_path / "articles.csv"
    proc = crawled.run("export", "--format", "csv", "-o", str(out))
    assert f"to {out}" in proc.stderr and proc.stdout == ""
    with out.open(encoding="utf-8", newline="") as f:
        reader = csv.DictReader(f)
        assert tuple(reader.fieldnames or ()) == FIELDS
        rows = list(reader)
    jsonl = {r["id"]: r for r in map(json.loads, crawled.run("export").stdout.splitlines())}
    assert len(rows) == len(jsonl) == _expected_count()
    for row in rows:
        want = jsonl[int(row["id"])]
        assert row["body"] == want["body"] and "\n" in row["body"]   # multi-line, quoted
        assert row["title"] == want["title"]
        assert row["authors"] == "; ".join(want["authors"])
    assert not list(tmp_path.glob(".*.part")), "the temporary file was left behind"


def test_export_to_a_folder_that_does_not_exist_says_so(crawled, tmp_path):
    target = tmp_path / "no" / "such" / "dir" / "out.csv"
    proc = crawled.run("export", "-o", str(target), check=False)
    assert proc.returncode == 1 and "Traceback" not in proc.stderr
    assert str(target) in proc.stderr and "No such file or directory" in proc.stderr


def test_export_into_a_closed_pipe_ends_quietly(crawled):
    read_end, write_end = os.pipe()
    os.close(read_end)              # `head` already left: every write meets EPIPE
    try:
        proc = subprocess.Popen([sys.executable, "-m", "crawler.cli", "export", "--format",
                                 "csv"], cwd=crawled.root, env=chavder_env(crawled.config),
                                stdout=write_end, stderr=subprocess.PIPE)
    finally:
        os.close(write_end)
    _, err = proc.communicate(timeout=120)
    stderr = err.decode("utf-8", "replace")
    assert "Traceback" not in stderr and "BrokenPipe" not in stderr, stderr
    assert "Exception ignored" not in stderr, stderr
    assert proc.returncode == 141, (proc.returncode, stderr)


def test_export_head_gets_the_first_rows(crawled):
    """``chavder export | head -3``, through a real shell pipeline."""
    proc = subprocess.run(f"{sys.executable} -m crawler.cli export | head -3", shell=True,
                          cwd=crawled.root, env=chavder_env(crawled.config), capture_output=True,
                          text=True, timeout=120)
    assert proc.returncode == 0 and len(proc.stdout.splitlines()) == 3
    assert all(json.loads(x)["body"] for x in proc.stdout.splitlines())
    assert "Traceback" not in proc.stderr


# ------------------------------------------------------------------ no store: no new store

@pytest.mark.parametrize("command", [["show", "1"], ["export", "--format", "csv"]],
                         ids=" ".join)
def test_on_a_missing_store_says_so_and_creates_nothing(tmp_path, fixture_web, command):
    missing = tmp_path / "not-yet" / "data" / "chavder.db"
    env = ChavderEnv.create(tmp_path, fixture_web.write_sources(tmp_path / "sources.yaml"),
                            store=f"sqlite:///{missing}")
    out = tmp_path / "out.txt"
    extra = ["-o", str(out)] if command[0] == "export" else []
    proc = env.run(*command, *extra, check=False)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "no store at" in lines[0] and str(missing) in lines[0], lines
    assert "chavder crawl" in lines[0] and "CHAVDER_CONFIG" in lines[0]
    assert not (tmp_path / "not-yet").exists(), "a reader created the store's folders"
    assert not out.exists() and proc.stdout == ""


# ------------------------------------------------------------------ the Elasticsearch store

def test_show_and_export_on_an_elasticsearch_store(elasticsearch_node, fixture_web, tmp_path):
    """The same commands on the production store: ids from the engine's search results lead
    to the stored text, and the export holds every crawled article."""
    from tests.test_store_engine import drop_alias, fresh_alias
    from tests.test_store_contract import with_params
    alias = fresh_alias()
    url = with_params(elasticsearch_node.store_url, alias=alias, alerts_alias=f"{alias}-alerts",
                      flush_interval="0.05")
    env = ChavderEnv.create(tmp_path, fixture_web.write_sources(tmp_path / "sources.yaml"),
                            store=url)
    try:
        env.crawl("sorani")
        env.run("es", "flush")
        article = _raqqa_hit(env)["id"]
        out = env.run("show", str(article)).stdout
        assert out.splitlines()[0] == RAQQA["title"]
        assert all(phrase in out for phrase in RAQQA["body_contains"])
        rows = [json.loads(x) for x in env.run("export", "--lang", "ckb").stdout.splitlines()]
        assert sorted(r["title"] for r in rows) == sorted(
            w["title"] for w in EXPECTED["sorani"].values())
        page = env.run("search", "--format", "html", "ڕەققە").stdout
        assert f'id="article-{article}"' in page and 'dir="rtl"' in page
    finally:
        drop_alias(elasticsearch_node, alias)
