"""``chavder search`` output a person can read (issue 16): the query needs no shell quotes,
filters that can match nothing are refused, times can be relative, results can be sorted."""
from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import pytest

from crawler.models import Article

NOW = datetime.now(timezone.utc)


def _article(n: int, title: str, body: str, *, lang: str, source: str, age: timedelta) -> Article:
    url = f"https://example.org/{source}/{n}"
    return Article(source=source, url=url, canonical_url=url, title=title, body=body,
                   language=lang, published_at=(NOW - age).isoformat(timespec="seconds"),
                   content_hash=f"h{n}", fetched_at=NOW.isoformat(timespec="seconds"))


ARTICLES = [
    _article(1, "روسيا: سنقصف عناصر داعش إذا حاولوا الفرار من الرقة",
             "قالت وزارة الدفاع الروسية إنها ستقصف عناصر التنظيم.",
             lang="ar", source="rok", age=timedelta(days=3)),
    _article(2, "هێزەکان لە ڕەققە", "هێزەکانی سووریای دیموکرات گەیشتنە ناو شاری ڕەققە.",
             lang="ckb", source="sorani", age=timedelta(hours=2)),
    _article(3, "أمطار في الرقة", "هطلت أمطار على مدينة الرقة صباح اليوم. الرقة الرقة الرقة الرقة.",
             lang="ar", source="rok", age=timedelta(days=10)),
]


@pytest.fixture
def filled(chavder):
    store = chavder.open_store()
    try:
        for a in ARTICLES:
            store.upsert(a, a.url.split("://", 1)[1])
    finally:
        store.close()
    return chavder


def _titles(proc) -> list[str]:
    return [json.loads(line)["title"] for line in proc.stdout.splitlines()]


def test_unquoted_words_are_one_query(filled):
    quoted = filled.run("search", "--json", "الرقة OR ڕەققە")
    unquoted = filled.run("search", "--json", "الرقة", "OR", "ڕەققە")
    assert sorted(_titles(unquoted)) == sorted(_titles(quoted))
    assert {"هێزەکان لە ڕەققە", "أمطار في الرقة"} <= set(_titles(unquoted))


@pytest.mark.parametrize("option,value,valid", [("--lang", "xx", "ar, ckb"),
                                                ("--source", "nosuch", "rok")])
def test_unknown_lang_or_source_is_refused_with_the_valid_ones(filled, option, value, valid):
    proc = filled.run("search", option, value, "الرقة", check=False)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert repr(value) in proc.stderr and valid in proc.stderr
    assert "sorani" in proc.stderr or option == "--lang"
    assert "Traceback" not in proc.stderr


def test_known_lang_and_source_still_filter(filled):
    assert _titles(filled.run("search", "--json", "--lang", "ckb", "ڕەققە")) == ["هێزەکان لە ڕەققە"]
    assert "أمطار في الرقة" in _titles(filled.run("search", "--json", "--source", "rok", "الرقة"))


@pytest.mark.parametrize("since,expected", [
    ("24h", {"هێزەکان لە ڕەققە"}),
    ("yesterday", {"هێزەکان لە ڕەققە"}),
    ("7d", {"هێزەکان لە ڕەققە", "روسيا: سنقصف عناصر داعش إذا حاولوا الفرار من الرقة"}),
    ((NOW - timedelta(days=30)).date().isoformat(), {a.title for a in ARTICLES}),
])
def test_since_takes_relative_times(filled, since, expected):
    proc = filled.run("search", "--json", "--all", "--since", since, "الرقة", "OR", "ڕەققە")
    assert set(_titles(proc)) == expected


def test_since_rejects_nonsense(filled):
    proc = filled.run("search", "--since", "lastweek", "الرقة", check=False)
    assert proc.returncode == 2 and "24h, 7d, yesterday" in proc.stderr and "YYYY-MM-DD" in proc.stderr


def test_sort_newest_and_relevance(filled):
    newest = _titles(filled.run("search", "--json", "--sort", "newest", "الرقة"))
    assert newest == ["روسيا: سنقصف عناصر داعش إذا حاولوا الفرار من الرقة", "أمطار في الرقة"]
    best = _titles(filled.run("search", "--json", "--sort", "relevance", "الرقة"))
    assert best == newest[::-1]  # the older story says الرقة more often
    assert best == _titles(filled.run("search", "--json", "الرقة"))  # still the default
    proc = filled.run("search", "--sort", "oldest", "الرقة", check=False)
    assert proc.returncode == 2


def _on_terminal(env, *args: str) -> str:
    """``chavder ARGS`` with stdout a pseudo-terminal, as a user at a shell sees it."""
    import os
    import pty
    import subprocess
    import sys
    from testsupport.processes import chavder_env
    master, slave = pty.openpty()
    proc = subprocess.Popen([sys.executable, "-m", "crawler.cli", *args], cwd=env.root,
                            env=chavder_env(env.config), stdout=slave, stderr=subprocess.PIPE)
    os.close(slave)
    chunks = []
    while True:
        try:
            data = os.read(master, 65536)
        except OSError:
            break
        if not data:
            break
        chunks.append(data)
    proc.wait(timeout=120)
    os.close(master)
    assert proc.returncode == 0, proc.stderr.read()
    return b"".join(chunks).decode("utf-8")


def test_hits_are_bold_on_a_terminal_and_plain_otherwise(filled):
    tty = _on_terminal(filled, "search", "ڕەققە")
    assert "\x1b[1;4mڕەققە\x1b[22;24m" in tty
    piped = filled.run("search", "ڕەققە").stdout
    assert "ڕەققە" in piped and "\x1b" not in piped
    assert "«" not in piped and "»" not in piped


def test_json_gives_spans_not_markers(filled):
    rows = [json.loads(line) for line in filled.run("search", "--json", "الرقة").stdout.splitlines()]
    assert any(row["spans"] for row in rows)   # (a title-only hit has an excerpt without one)
    for row in rows:
        assert "«" not in row["snippet"]
        for start, end in row["spans"]:
            assert row["snippet"][start:end] == "الرقة"
