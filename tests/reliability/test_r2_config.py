"""Hostile input, round two (issue 13): what a careless operator or a broken store does.

* 4 — an exception inside a spider callback, an item pipeline or a signal handler is one ERROR
  line (source, URL, Class: message; the traceback only with -v), counted in ``errors`` and a
  failing exit code; a later crawl still fetches what the failed one could not finish;
* 7 — YAML alias bombs, recursive aliases and absurd nesting in sources.yaml, alerts.yaml and
  chavder.yaml are refused with ``file:line`` and exit 2, in bounded memory;
* 8 — a password in the store URL never appears in any output (text or JSON logs, -v, the
  service's start line, status, errors);
* 11 — numeric settings outside their range (``max_body_bytes: 0`` or ``-1``,
  ``download_timeout: 0``, a poll interval below the politeness floor) are refused with
  ``file:line`` and exit 2;
* 18 — ``alerts check`` of a 17,940-rule file completes with the right count in bounded memory
  (timings: ``bench/alerts_check.py``).

Faults inside a running crawl are injected by a prelude in the ``chavder`` process (the
harness's ``python_prelude``); the product code is untouched.
"""
from __future__ import annotations

import json
import random
import re
import resource
import secrets
import sqlite3
import textwrap
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import pytest

from bench.alerts_check import write_rules
from testsupport.config import feed_source, write_config
from testsupport.fixtureweb import FixtureWeb
from testsupport.articles import story_page
from testsupport.processes import ServiceProcess, chavder_env, run_chavder
from testsupport.fake_es import FakeElasticsearch
from testsupport.pages import rss_feed
from testsupport.polling import wait_for

CRAWL = ("crawl", "--json", "--progress-interval", "0")
ARTICLES = 6


@contextmanager
def _outlet(root: Path, articles: int = ARTICLES) -> Iterator[FixtureWeb]:
    """One fixture outlet ('desk') serving a feed of ``articles`` distinct stories."""
    (root / "desk").mkdir(parents=True)
    with FixtureWeb(root) as web:   # published once serving: placeholders need the port
        rng, items = random.Random(13), []
        for n in range(articles):
            title, page = story_page(n, rng)
            web.publish("desk", f"/n/{n}.html", page)
            items.append((title, f"/n/{n}.html"))
        web.publish("desk", "/feed.xml", rss_feed("desk", items[::-1]))
        yield web


def _config(tmp: Path, web: FixtureWeb, store: str | None = None, extra: str = "") -> Path:
    sources = tmp / "sources.yaml"
    sources.write_text(web.substitute(feed_source(interval="1s")), encoding="utf-8")
    return write_config(tmp, store=store or f"sqlite:///{tmp / 'data' / 'c.db'}", sources=sources,
                        alerts=tmp / "alerts.yaml", health_port=-1, extra=extra)


def _stored(db: Path) -> int:
    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        return con.execute("SELECT COUNT(*) FROM articles").fetchone()[0]
    finally:
        con.close()


def _error_lines(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if re.match(r"\d\d:\d\d:\d\d ERROR ", line)]


# ------------------------------------------------------------------ 4: exceptions mid-crawl

# The store's 'known' query (run for every index page) fails as on a damaged database.
_BROKEN_KNOWN = """
import sqlite3
from crawler.store.sqlite import SQLiteStore
def _known(self, keys):
    raise sqlite3.DatabaseError("database disk image is malformed")
SQLiteStore.known = _known
"""

# One article makes a pipeline raise (not a DropItem: a bug).
_BROKEN_PIPELINE = """
from crawler import pipelines
_original = pipelines.ExtractPipeline.process_item
def _process(self, item):
    if getattr(item, "url", "").endswith("/n/3.html"):
        raise RuntimeError("boom in a pipeline")
    return _original(self, item)
pipelines.ExtractPipeline.process_item = _process
"""

# A signal handler (the crawl report, at spider_closed) raises.
_BROKEN_SIGNAL = """
from crawler import extensions
def _closed(self, spider, reason):
    raise KeyError("report table gone")
extensions.CrawlReport.spider_closed = _closed
"""


def test_exception_in_a_spider_callback_is_one_error_line_counted_and_fails_the_crawl(tmp_path):
    with _outlet(tmp_path / "web") as web:
        config = _config(tmp_path, web)
        feed = web.substitute("http://desk.fixture/feed.xml")
        broken = run_chavder(config, *CRAWL, python_prelude=_BROKEN_KNOWN)
        verbose = run_chavder(config, "-v", *CRAWL, python_prelude=_BROKEN_KNOWN)
        fixed = run_chavder(config, *CRAWL)
    assert broken.returncode == 1, broken.output[-3000:]
    errors = _error_lines(broken.stderr)
    assert len(errors) == 1, broken.stderr[-3000:]
    assert "source=desk" in errors[0] and f"url={feed}" in errors[0], errors
    assert "DatabaseError: database disk image is malformed" in errors[0], errors
    assert "Traceback" not in broken.stderr, "the traceback is for -v only"
    summary = json.loads(broken.stdout.splitlines()[-1])
    assert summary["totals"]["errors"] == 1 and summary["unexpected_errors"] == 1, summary
    assert "Traceback" in verbose.stderr and "DatabaseError" in verbose.stderr
    assert verbose.returncode == 1
    # the failed index was not marked as read: once the store works, everything is fetched
    assert fixed.returncode == 0, fixed.output[-3000:]
    assert json.loads(fixed.stdout.splitlines()[-1])["totals"]["new"] == ARTICLES
    assert _stored(tmp_path / "data" / "c.db") == ARTICLES


def test_exception_in_a_pipeline_names_the_article_and_the_rest_is_stored(tmp_path):
    with _outlet(tmp_path / "web") as web:
        config = _config(tmp_path, web)
        article = web.substitute("http://desk.fixture/n/3.html")
        result = run_chavder(config, *CRAWL, python_prelude=_BROKEN_PIPELINE)
    assert result.returncode == 1, result.output[-3000:]
    errors = _error_lines(result.stderr)
    assert len(errors) == 1, result.stderr[-3000:]
    assert "source=desk" in errors[0] and f"url={article}" in errors[0], errors
    assert "item pipeline" in errors[0] and "RuntimeError: boom in a pipeline" in errors[0]
    assert "Traceback" not in result.stderr
    summary = json.loads(result.stdout.splitlines()[-1])
    assert summary["totals"]["errors"] == 1 and summary["totals"]["new"] == ARTICLES - 1
    assert _stored(tmp_path / "data" / "c.db") == ARTICLES - 1


def test_exception_in_a_signal_handler_is_reported_and_fails_the_crawl(tmp_path):
    with _outlet(tmp_path / "web") as web:
        config = _config(tmp_path, web)
        result = run_chavder(config, *CRAWL, python_prelude=_BROKEN_SIGNAL)
    assert result.returncode == 1, result.output[-3000:]
    errors = _error_lines(result.stderr)
    assert len(errors) == 1, result.stderr[-3000:]
    assert "source=desk" in errors[0] and "signal handler" in errors[0], errors
    assert "KeyError: 'report table gone'" in errors[0], errors
    assert "Traceback" not in result.stderr
    assert json.loads(result.stdout.splitlines()[-1])["totals"]["errors"] == 1


# ------------------------------------------------------------------ 7: YAML alias bombs

def _bomb(levels: int = 9, width: int = 9) -> str:
    lines = ["a0: &a0 [" + ", ".join(["lol"] * width) + "]"]
    lines += [f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * width) + "]"
              for i in range(1, levels)]
    return "\n".join(lines) + "\n"


def _sources_with(anchor_block: str, use: str) -> str:
    return (f"x-anchors:\n{textwrap.indent(anchor_block, '  ')}sources:\n  - id: a\n"
            f"    kind: feed\n    start_urls: [https://example.org/feed]\n"
            f"    languages: {use}\n")


def _alerts_with(anchor_block: str, use: str) -> str:
    return (f"x-anchors:\n{textwrap.indent(anchor_block, '  ')}rules:\n  - name: r\n"
            f"    any: {use}\n    recipients: [desk@example.org]\n")


def _limit_memory() -> None:
    """1.5 GB of address space: the old loader dies of it instead of taking the machine."""
    resource.setrlimit(resource.RLIMIT_AS, (1536 << 20, 1536 << 20))


CASES = {
    "sources": ("sources.yaml", ("sources", "check", "{file}"), _sources_with),
    "alerts": ("alerts.yaml", ("alerts", "check", "{file}"), _alerts_with),
    "settings": ("chavder.yaml", ("--config", "{file}", "status"), None),
}


@pytest.mark.parametrize("which", sorted(CASES))
@pytest.mark.parametrize("attack", ["bomb", "recursive", "deep"])
def test_yaml_alias_bombs_and_recursive_aliases_are_refused_with_file_and_line(
        tmp_path, which, attack):
    name, args, wrap = CASES[which]
    target = tmp_path / name
    if attack == "bomb":
        block, use = _bomb(), "*a8"
    elif attack == "recursive":
        block, use = "loop: &loop [x, *loop]\n", "*loop"
    else:   # 500 nested lists: a RecursionError in the old loader
        block, use = "deep: " + "[" * 500 + "]" * 500 + "\n", "[x]"
    if wrap is None:   # chavder.yaml: the anchors are values of (unknown) settings
        text = f"data_dir: {tmp_path / 'data'}\n{block}use: {use}\n"
    else:
        text = wrap(block, use)
    target.write_text(text, encoding="utf-8")
    config = write_config(tmp_path, name="base.yaml", store=None, sources=tmp_path / "none.yaml",
                          download_timeout=None)
    argv = [a.format(file=target) for a in args]
    result = run_chavder(config, *argv, timeout=60, preexec_fn=_limit_memory)
    assert result.returncode == 2, (result.returncode, result.output[-2000:])
    assert len(result.stderr.splitlines()) <= 5, result.stderr[-3000:]
    assert "Traceback" not in result.stderr and "RecursionError" not in result.stderr
    found = re.search(rf"{re.escape(str(target))}:(\d+): (.*)", result.stderr)
    assert found, result.stderr
    if attack == "bomb":
        assert "alias" in found[2] and "nodes" in found[2], found[0]
    elif attack == "deep":
        assert found[1] == "2" and "nested more than" in found[2], found[0]
    else:
        assert found[1] == "2" and "recursive alias" in found[2], found[0]
    assert result.peak_rss_mb < 300, result.peak_rss_mb


# ------------------------------------------------------------------ 8: secrets in store URLs

def test_password_in_the_store_url_never_appears_in_any_output(tmp_path):
    password = "Pw-" + secrets.token_urlsafe(12)
    fake = FakeElasticsearch().start()
    try:
        with _outlet(tmp_path / "web") as web:
            store = f"http://elastic:{password}@127.0.0.1:{fake.port}/?sync=true"
            config = _config(tmp_path, web, store=store)
            outputs = [run_chavder(config, *CRAWL), run_chavder(config, "-v", *CRAWL),
                       run_chavder(config, "--log-json", *CRAWL),
                       run_chavder(config, "status"), run_chavder(config, "status", "--json"),
                       run_chavder(config, "es", "status"),
                       run_chavder(config, "search", "الرقة")]
            service = ServiceProcess(config, tmp_path / "service.log",
                                     env=chavder_env(config)).start()
            try:
                assert wait_for(service.started, 60), service.text()[-3000:]
            finally:
                service.stop()
            (tmp_path / "bad").mkdir()
            bad_scheme = _config(tmp_path / "bad", web, store=f"foo://elastic:{password}@h/x")
            outputs.append(run_chavder(bad_scheme, "status"))
    finally:
        fake.stop()
    assert outputs[0].returncode == 0, outputs[0].output[-3000:]
    assert json.loads(outputs[0].stdout.splitlines()[-1])["totals"]["new"] == ARTICLES
    assert "crawling 1 source(s) into http://elastic:***@127.0.0.1" in outputs[0].stderr
    assert "store http://elastic:***@127.0.0.1" in service.text(), service.text()[-3000:]
    assert outputs[-1].returncode != 0 and "foo://elastic:***@h" in outputs[-1].stderr
    for result in outputs:
        assert password not in result.output, (result.args, result.output[-3000:])
    assert password not in service.text()
    leaked = [p for p in (tmp_path / "data").rglob("*") if p.is_file()
              and password.encode() in p.read_bytes()]
    assert not leaked, leaked


# ------------------------------------------------------------------ 11: numeric ranges

@pytest.mark.parametrize("setting, value", [("max_body_bytes", "0"), ("max_body_bytes", "-1"),
                                            ("download_timeout", "0"),
                                            ("concurrent_per_domain", "0"),
                                            ("max_body_bytes", "yes")])
def test_numeric_settings_out_of_range_are_refused_with_file_and_line(tmp_path, setting, value):
    with _outlet(tmp_path / "web") as web:
        config = _config(tmp_path, web, extra=f"{setting}: {value}\n")
        result = run_chavder(config, *CRAWL)
        assert web.request_count("desk", "/feed.xml") == 0
    line = next(n for n, text in enumerate(config.read_text().splitlines(), 1)
                if text.startswith(f"{setting}:"))
    assert result.returncode == 2, result.output[-2000:]
    assert f"{config}:{line}: '{setting}' must be" in result.stderr, result.stderr
    assert " — " in result.stderr


@pytest.mark.parametrize("interval, ok", [("10s", False), ("59", False), ("1m", True),
                                          ("15m", True), ("400d", False)])
def test_source_interval_below_the_politeness_floor_is_refused(tmp_path, interval, ok):
    sources = tmp_path / "sources.yaml"
    sources.write_text("sources:\n  - id: a\n    kind: feed\n"
                       "    start_urls: [https://example.org/feed]\n"
                       f"    interval: {interval}\n    max_pages: 0\n" if not ok else
                       "sources:\n  - id: a\n    kind: feed\n"
                       f"    start_urls: [https://example.org/feed]\n    interval: {interval}\n",
                       encoding="utf-8")
    config = write_config(tmp_path, store=None, download_timeout=None)
    result = run_chavder(config, "sources", "check", str(sources))
    if ok:
        assert result.returncode == 0, result.output
        return
    assert result.returncode == 2, result.output
    assert f"{sources}:5: source 'a': 'interval' must be at least 60" in result.stderr
    assert f"{sources}:6: source 'a': 'max_pages' must be at least 1" in result.stderr


# ------------------------------------------------------------------ 18: big alerts.yaml

def test_alerts_check_of_17940_rules_completes_in_bounded_memory(tmp_path):
    rules = tmp_path / "alerts.yaml"
    write_rules(rules, 17940)
    config = write_config(tmp_path, store=None, sources=tmp_path / "none.yaml",
                          download_timeout=None)
    result = run_chavder(config, "alerts", "check", str(rules), timeout=120)
    assert result.returncode == 0, result.output[-2000:]
    assert result.stdout.strip() == f"{rules}: 17940 rules OK, 47 recipients"
    assert result.peak_rss_mb < 250, result.peak_rss_mb
