"""The everyday commands start without Scrapy or Twisted (issue 14, "fast CLI").

``chavder --help``, ``search``, ``status`` and ``alerts test`` run as a user runs them (a
subprocess, ``python -X importtime -m crawler.cli …``) against a small store; the interpreter's
own import report must not list a ``scrapy`` or ``twisted`` module. That is what made
``--help`` cost ~0.75 s; the time itself is measured in bench/cli_startup.py, not here.
"""
from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path

import pytest

from crawler.models import Article
from crawler.store.sqlite import SQLiteStore

REPO = Path(__file__).resolve().parent.parent
HEAVY = ("scrapy", "twisted")


@pytest.fixture(scope="module")
def home(tmp_path_factory) -> Path:
    """A data dir with one stored article, one source and one alert rule."""
    root = tmp_path_factory.mktemp("cli-startup")
    data = root / "data"
    data.mkdir()
    store = SQLiteStore(data / "chavder.db")
    body = "اشتباكات جديدة في مدينة الرقة اليوم بين القوات."
    article = Article(source="demo", url="https://news.example.org/1",
                      canonical_url="https://news.example.org/1", title="اشتباكات في الرقة",
                      body=body, language="ar", published_at="2017-06-01T10:00:00+03:00",
                      content_hash=hashlib.sha1(body.encode()).hexdigest(),
                      fetched_at="2017-06-01T08:00:00+00:00")
    store.upsert(article, article.url)
    store.close()
    (root / "sources.yaml").write_text(
        "sources:\n  - id: demo\n    kind: feed\n    start_urls: [https://news.example.org/feed]\n"
        "    languages: [ar]\n", encoding="utf-8")
    (root / "alerts.yaml").write_text(
        "rules:\n  - name: raqqa\n    any: [[الرقة, Raqqa]]\n    recipients: [desk@example.org]\n",
        encoding="utf-8")
    (root / "chavder.yaml").write_text(
        f"data_dir: {data}\nstore: sqlite:///{data / 'chavder.db'}\n"
        f"sources: {root / 'sources.yaml'}\nalerts: {root / 'alerts.yaml'}\n", encoding="utf-8")
    return root


def chavder_importtime(home: Path, *args: str) -> tuple[subprocess.CompletedProcess, set[str]]:
    """Run ``chavder ARGS`` with ``-X importtime``; (the process, the modules it imported)."""
    env = {**os.environ, "CHAVDER_CONFIG": str(home / "chavder.yaml")}
    proc = subprocess.run([sys.executable, "-X", "importtime", "-m", "crawler.cli", *args],
                          cwd=home, env=env, capture_output=True, text=True, timeout=120)
    modules = {line.rsplit("|", 1)[1].strip() for line in proc.stderr.splitlines()
               if line.startswith("import time:") and line.count("|") == 2}
    return proc, modules


@pytest.mark.parametrize("args, shows", [
    (["--help"], "search"),
    (["search", "الرقة"], "اشتباكات في الرقة"),
    (["status"], "demo"),
    (["alerts", "test", "raqqa", "--text", "هجوم في الرقة"], "rule 'raqqa': MATCH"),
], ids=["help", "search", "status", "alerts-test"])
def test_everyday_commands_import_neither_scrapy_nor_twisted(home, args, shows):
    proc, modules = chavder_importtime(home, *args)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert shows in proc.stdout
    assert any(m.startswith("crawler.") for m in modules)   # the report is there: silence counts
    heavy = sorted(m for m in modules if m.split(".")[0] in HEAVY)
    assert not heavy, f"chavder {' '.join(args)} imported {len(heavy)} modules: {heavy[:8]}"


def test_a_usage_error_is_one_message_and_exit_2(home):
    proc, _ = chavder_importtime(home, "search", "--since", "lastweek", "الرقة")
    assert proc.returncode == 2
    assert "'lastweek' is not a date — use YYYY-MM-DD" in proc.stderr
    assert "Traceback" not in proc.stderr
