"""Outages of what Chavder writes to: a locked SQLite database and a full disk.

The required outcome is the same for both: the crawl waits and stores everything, or it fails
loudly (an error line per article, or a non-zero exit) and a later crawl, once the fault is
gone, stores every article exactly once. Nothing may be lost silently.

A full disk is simulated two ways, neither needing root: ``RLIMIT_FSIZE`` on the crawl process
(the OS refuses writes past a size, as a full filesystem does: SQLite sees EFBIG) and SQLite's
``PRAGMA max_page_count`` (SQLITE_FULL), injected by a prelude into the ``chavder`` process;
the product code is untouched.

The SMTP outage (alerts queued while the server is down, delivered once after it returns) is
covered by ``tests/test_alerts_e2e.py::test_alert_mail_once_per_story_then_outage_and_recovery``;
Elasticsearch outages by the search backend's own tests.
"""
from __future__ import annotations

import json
import random
import resource
import signal
import sqlite3
import textwrap
import time
from collections import Counter
from pathlib import Path
from typing import Callable
from urllib.parse import urlsplit

import pytest

from testsupport.config import feed_source, write_config
from testsupport.fixtureweb import FixtureWeb
from testsupport.articles import story_page
from testsupport.processes import reap, run_chavder, spawn
from testsupport.polling import wait_for
from testsupport.pages import rss_feed

LOCK_SECONDS = 4.0      # how long another connection holds BEGIN EXCLUSIVE (the fault itself)


class Outlet:
    """One fixture outlet whose feed lists every article published so far."""

    def __init__(self, root: Path, slow: float = 0.0, articles: int = 12):
        (root / "desk").mkdir(parents=True)
        (root / "desk" / "feed.xml").write_text(rss_feed("desk", []), "utf-8")
        if slow:  # article pages answer slowly, so a crawl is still running when we act
            (root / "desk" / "_routes.yaml").write_text(
                "".join(f"/n/{n}.html: {{sleep: {slow}}}\n" for n in range(articles)), "utf-8")
        self.web = FixtureWeb(root)
        self.items: list[tuple[str, str]] = []
        self.rng = random.Random(11)

    def publish(self, count: int) -> None:
        for _ in range(count):
            n = len(self.items)
            title, page = story_page(n, self.rng)
            self.web.publish("desk", f"/n/{n}.html", page)
            self.items.append((title, f"/n/{n}.html"))
        self.web.publish("desk", "/feed.xml", rss_feed("desk", self.items[::-1]))

    @property
    def paths(self) -> set[str]:
        return {path for _title, path in self.items}


def make_config(tmp: Path, web: FixtureWeb) -> Path:
    sources = tmp / "sources.yaml"
    sources.write_text(web.substitute(feed_source()), encoding="utf-8")
    return write_config(tmp, store=f"sqlite:///{tmp / 'data' / 'c.db'}", sources=sources)


def stored_paths(db: Path) -> Counter:
    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=60)
    try:
        return Counter(urlsplit(url).path for (url,) in con.execute("SELECT url FROM articles"))
    finally:
        con.close()


def integrity(db: Path) -> str:
    con = sqlite3.connect(db, timeout=60)
    try:
        return con.execute("PRAGMA integrity_check").fetchone()[0]
    finally:
        con.close()


CRAWL = ("crawl", "--json", "--progress-interval", "0")


def test_locked_database_the_crawl_waits_and_stores_everything(tmp_path):
    outlet = Outlet(tmp_path / "web", slow=0.3, articles=6)
    with outlet.web as web:
        config = make_config(tmp_path, web)
        db = tmp_path / "data" / "c.db"
        assert run_chavder(config, *CRAWL).returncode == 0      # creates the store
        outlet.publish(6)
        log = tmp_path / "locked.log"
        with open(log, "wb") as out:
            proc = spawn(config, *CRAWL, stdout=out, stderr=out)
            # the crawl is fetching articles: now another program locks the database
            assert wait_for(lambda: web.request_count("desk", "/n/0.html") >= 1, 60)
            locker = sqlite3.connect(db, isolation_level=None, timeout=60)
            locker.execute("BEGIN EXCLUSIVE")
            locked_at = time.monotonic()
            # while the lock is held nothing can be written, and the crawl must not give up
            still_running = not wait_for(lambda: proc.poll() is not None, LOCK_SECONDS)
            during = locker.execute("SELECT COUNT(*) FROM articles").fetchone()[0]
            locker.execute("COMMIT")
            locker.close()
            held = time.monotonic() - locked_at
            code, _rss, _sig = reap(proc, 240)
        output = log.read_text("utf-8", "replace")
    assert still_running, f"the crawl ended while the database was locked:\n{output[-3000:]}"
    assert during < 6, "the lock did not hold the crawl's writes back (test not effective)"
    assert code == 0, output[-3000:]
    summary = json.loads(output.splitlines()[-1])
    assert summary["sources"]["desk"]["new"] == 6 and summary["sources"]["desk"]["errors"] == 0, \
        (summary, output[-3000:])
    per_path = stored_paths(db)
    assert set(per_path) == outlet.paths and max(per_path.values()) == 1
    assert integrity(db) == "ok"
    assert held >= LOCK_SECONDS - 0.1


def _page_limit(db: Path) -> Callable[..., dict]:
    """SQLITE_FULL: the crawl's connections may grow the database by only a few pages."""
    con = sqlite3.connect(db)
    pages = con.execute("PRAGMA page_count").fetchone()[0]
    con.close()
    prelude = textwrap.dedent(f"""\
        import sqlite3
        _connect = sqlite3.connect
        def _limited(*args, **kwargs):
            con = _connect(*args, **kwargs)
            con.execute("PRAGMA max_page_count={pages + 12}")
            return con
        sqlite3.connect = _limited
        """)
    return lambda: {"python_prelude": prelude}


def _file_size_limit(db: Path) -> Callable[..., dict]:
    """EFBIG: the OS refuses to grow any file of the crawl past a size (as a full disk does)."""
    limit = db.stat().st_size + 40_000

    def limit_child() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)   # fail the write, do not kill
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    return lambda: {"preexec_fn": limit_child, "pipes": True}


@pytest.mark.parametrize("fault", [_file_size_limit, _page_limit],
                         ids=["file-size-limit", "sqlite-page-limit"])
def test_full_disk_loses_nothing_once_space_is_back(tmp_path, fault):
    outlet = Outlet(tmp_path / "web")
    with outlet.web:
        config = make_config(tmp_path, outlet.web)
        db = tmp_path / "data" / "c.db"
        outlet.publish(2)
        first = run_chavder(config, *CRAWL)
        assert first.returncode == 0 and stored_paths(db) == Counter(outlet.paths), first.stderr
        con = sqlite3.connect(db)
        con.execute("PRAGMA wal_checkpoint(TRUNCATE)")    # what is left to grow is known
        con.close()

        outlet.publish(10)
        full = run_chavder(config, *CRAWL, **fault(db)())
        during = stored_paths(db)
        missing = len(outlet.paths - set(during))
        assert missing > 0, "the simulated full disk did not stop any write (test not effective)"
        summary = json.loads(full.stdout) if full.returncode == 0 and full.stdout.strip() else None
        reported = summary["sources"]["desk"]["errors"] if summary else None
        problems = []
        if full.returncode == 0 and reported < missing:
            problems.append(f"{missing} articles were not stored but the crawl exited 0 "
                            f"reporting {reported} errors — a silent loss")

        # space is back: a normal crawl must store every article, once
        after = run_chavder(config, *CRAWL)
    per_path = stored_paths(db)
    if after.returncode != 0:
        problems.append(f"the crawl after the outage exited {after.returncode}")
    if set(per_path) != outlet.paths:
        problems.append(f"lost for good: {len(outlet.paths - set(per_path))} articles — the "
                        f"crawl after the outage did not fetch them: {after.stdout.strip()}")
    if per_path and max(per_path.values()) > 1:
        problems.append("an article was stored twice")
    if integrity(db) != "ok":
        problems.append(f"integrity_check: {integrity(db)}")
    assert not problems, "\n".join(problems) + f"\n--- crawl under the fault:\n{full.stderr[-2000:]}"
