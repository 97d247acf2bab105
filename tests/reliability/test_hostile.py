"""Hostile inputs (tests/fixtures/hostile/cases.yaml): one `chavder crawl` over one source per
case, as a user runs it, with a real SMTP server for the alerts.

For every case: the crawl stays up within a memory bound, an error gives exactly one log line
naming source, URL and reason, nothing wrong is stored, and the good article of the same source
is stored. With CHAVDER_RELIABILITY_FULL=1 every case runs in its own process, so the peak RSS
is known per case.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from email import message_from_bytes, policy
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from tests.reliability.harness import full_mode
from testsupport.config import write_config
from testsupport.processes import Finished, run_chavder
from tests.reliability.hostile_web import Case, HostileWeb, load_cases
from testsupport.smtp_sink import ReceivedMessage, SMTPSink

CASES = load_cases()
RSS_LIMIT_MB = 600
RECIPIENT = "desk@example.org"
_LOG_LINE = re.compile(r"^\S+ (WARNING|ERROR|CRITICAL)\s+(.*)$")
_PROBLEM = re.compile(r"source=(\S+) url=(\S+) reason=(.*)$")


@dataclass
class HostileRun:
    web: HostileWeb
    runs: dict[str, Finished]                 # "all" in CI mode, one per case id in full mode
    rows: list[dict]
    messages: list[ReceivedMessage]
    integrity: str
    warnings: list[str] = field(default_factory=list)   # WARNING/ERROR lines, all runs

    def rows_of(self, case: Case) -> dict[str, dict]:
        return {urlsplit(r["url"]).path.split(f"/c/{case.id}", 1)[-1]: r
                for r in self.rows if r["source"] == case.source_id}


def _config(tmp: Path, web: HostileWeb, smtp_port: int) -> Path:
    (tmp / "sources.yaml").write_text(web.sources_yaml(), encoding="utf-8")
    (tmp / "alerts.yaml").write_text(
        f"rules:\n  - name: raqqa\n    any: [الرقة]\n    recipients: [{RECIPIENT}]\n",
        encoding="utf-8")
    return write_config(tmp, sources=tmp / "sources.yaml", alerts=tmp / "alerts.yaml",
                        concurrent_per_domain=8, smtp_port=smtp_port,
                        mail={"sender": "Chavder <alerts@chavder.test>"})


@pytest.fixture(scope="module")
def hostile(tmp_path_factory) -> HostileRun:
    tmp = tmp_path_factory.mktemp("hostile")
    cache = tmp_path_factory.getbasetemp() / "hostile-generated"
    cache.mkdir(exist_ok=True)
    with SMTPSink() as sink, HostileWeb(CASES, cache) as web:
        config = _config(tmp, web, sink.port)
        crawl = ("crawl", "--json", "--progress-interval", "0")
        if full_mode():
            runs = {c.id: run_chavder(config, *crawl, "--source", c.source_id, timeout=300)
                    for c in CASES}
        else:
            runs = {"all": run_chavder(config, *crawl, timeout=300)}
        from crawler.store import open_store
        store = open_store(f"sqlite:///{tmp / 'data' / 'chavder.db'}")
        try:
            rows = [dict(r) for r in store.iter_articles()]
            integrity = store.integrity_check()
        finally:
            store.close()
        warnings = [m[2] for run in runs.values() for line in run.stderr.splitlines()
                    if (m := _LOG_LINE.match(line))]
        yield HostileRun(web, runs, rows, list(sink.messages), integrity, warnings)


def test_the_corpus_covers_the_issue():
    ids = {c.id for c in CASES}
    assert len(CASES) >= 30 and len(ids) == len(CASES)
    for needed in ("feed-billion-laughs", "feed-quadratic-blowup", "feed-xxe-file",
                   "feed-xxe-network", "http-gzip-bomb", "sitemap-gzip-bomb",
                   "http-endless-chunked", "http-lying-length", "http-slow-drip",
                   "http-redirect-loop", "http-redirect-metadata", "charset-wrong-header",
                   "charset-undeclared-1256", "charset-invalid-utf8", "bytes-nul",
                   "html-single-line-10mb", "html-deep-nesting", "date-malformed",
                   "date-year-9999", "date-before-1900", "html-js-only", "feed-100k-items",
                   "sitemap-index-loop", "title-header-injection", "title-script-injection"):
        assert needed in ids, needed
    for case in CASES:
        assert case.behaviour and case.expect in ("error", "stored"), case.id
        assert case.expect != "error" or case.reason, case.id


def test_crawl_completes_within_the_memory_bound(hostile):
    for name, run in hostile.runs.items():
        assert run.returncode == 0, f"{name}: exit {run.returncode}\n{run.stderr[-4000:]}"
        assert "Traceback" not in run.stderr, f"{name}:\n{run.stderr[-4000:]}"
        summary = json.loads(run.stdout)
        assert set(summary["finish_reasons"].values()) == {"finished"}, summary["finish_reasons"]
    peaks = {name: round(run.peak_rss_mb) for name, run in hostile.runs.items()}
    over = {name: mb for name, mb in peaks.items() if mb >= RSS_LIMIT_MB}
    assert not over, (f"peak RSS over {RSS_LIMIT_MB} MB: {over} (MB; run with "
                      "CHAVDER_RELIABILITY_FULL=1 for one process per case)")


def _case_lines(hostile: HostileRun, case: Case) -> list[str]:
    """WARNING/ERROR lines about this case: its source's problem lines, and any other line
    that names one of its URLs (e.g. a library's own warning)."""
    marker = f"/c/{case.id}/"
    return [line for line in hostile.warnings
            if re.search(rf"source={re.escape(case.source_id)}\s", line) or marker in line]


def _expected_line_url(hostile: HostileRun, case: Case) -> str:
    if case.line_url:
        return hostile.web.url(case, case.line_url)
    first = case.targets[0] if case.role == "article" else case.start[0]
    return hostile.web.url(case, first)


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_hostile_case(hostile, case):
    lines = _case_lines(hostile, case)
    if case.expect == "error":
        assert len(lines) == 1, f"want exactly one line naming source, URL and reason; got {lines}"
        problem = _PROBLEM.search(lines[0])
        assert problem and problem[1] == case.source_id, lines[0]
        assert problem[2] == _expected_line_url(hostile, case), lines[0]
        assert re.search(case.reason, problem[3]), f"reason {problem[3]!r} !~ {case.reason!r}"
    else:
        assert lines == [], f"no error expected; got {lines}"

    stored = hostile.rows_of(case)
    good = stored.pop("/good.html", None)
    assert good is not None, f"the good article of {case.source_id} was not stored: the rest " \
                             "of the crawl must go on"
    assert good["title"] == f"خبر سليم من المصدر {case.id} /good.html"
    if case.stored_count is not None:
        assert len(stored) == case.stored_count, sorted(stored)
    else:
        assert set(stored) == set(case.stored), "stored from the hostile resources: " \
                                                f"{sorted(stored)}, expected {sorted(case.stored)}"
    for path, checks in case.stored.items():
        row = stored.get(path)
        assert row is not None, f"{path} not stored"
        if "title" in checks:
            assert row["title"] == checks["title"], row["title"]
        for fragment in checks.get("title_contains", []):
            assert fragment in row["title"], row["title"]
        for fragment in checks.get("body_contains", []):
            assert fragment in row["body"], row["body"][:300]
        if "published_at" in checks:
            assert row["published_at"] == checks["published_at"], row["published_at"]

    web = hostile.web
    for path in case.fetched_once:
        assert web.fetches(case.id, path) == 1, (path, web.fetches(case.id, path))
    for path in case.never_fetched:
        assert web.fetches(case.id, path) == 0, path
    for path, most in case.max_fetches.items():
        assert 1 <= web.fetches(case.id, path) <= most, (path, web.fetches(case.id, path))


def test_nothing_wrong_is_stored(hostile):
    assert hostile.integrity == "ok"
    latest = datetime.now(timezone.utc) + timedelta(days=2)
    for row in hostile.rows:
        where = row["url"]
        for key in ("published_at", "updated_at"):
            if row[key]:
                when = datetime.fromisoformat(row[key])
                assert 1990 <= when.year and when <= latest, f"{where}: absurd {key} {row[key]}"
        for key in ("title", "body", "authors", "summary"):
            text = row[key] or ""
            assert "root:x:0:0" not in text and "/bin/bash" not in text, f"{where}: leaked file"
            assert "\x00" not in text, f"{where}: NUL in {key}"
            assert "ط§ظ„" not in text, f"{where}: mojibake (UTF-8 read as windows-1256) in {key}"
            assert "lollol" not in text and "AAAAAAAAAA" not in text, f"{where}: expanded entity"


def test_no_request_reaches_an_address_no_source_allows(hostile):
    assert hostile.web.canary_requests == [], hostile.web.canary_requests


def test_alert_mails_escape_hostile_titles_and_cannot_be_injected(hostile):
    mail_cases = [c for c in CASES if c.mail]
    by_case = {c.id: [m for m in hostile.messages if f"/c/{c.id}/" in m.body("plain")]
               for c in mail_cases}
    for case in mail_cases:
        assert len(by_case[case.id]) == 1, (case.id, [m.subject for m in hostile.messages])
    assert len(hostile.messages) == len(mail_cases)
    for msg in hostile.messages:
        assert msg.rcpt_tos == [RECIPIENT], "an injected recipient got the alert"
        parsed = message_from_bytes(msg.raw, policy=policy.default)
        assert parsed["Bcc"] is None and parsed["X-Injected"] is None, parsed.keys()
        assert "\r" not in msg.subject and "\n" not in msg.subject
        html = msg.body("html")
        # the hostile text may appear, but only as escaped text: never as markup
        for raw in ("<script", "<img", "<b ", "<a href=\"javascript:", "href=\"javascript:",
                    "href='javascript:"):
            assert raw not in html, f"unescaped {raw!r} in the HTML part"
    script = by_case["title-script-injection"][0]
    assert "&lt;script&gt;" in script.body("html"), "the title is shown, escaped"


def test_the_readme_table_documents_every_case():
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    missing = [c.id for c in CASES if f"| `{c.id}` |" not in readme]
    assert not missing, f"README 'Bad input' table lacks {missing}: regenerate it from cases.yaml"
