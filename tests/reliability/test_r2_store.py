"""Hostile input, round two — the store under concurrent writers and damaged files
(issue 13, items 5, 12 and 13).

* Two `chavder crawl` processes at once over two outlets syndicating the same 10 stories must
  agree on the stories: 10 stories (each with both outlets) and 10 queued alerts, as when run
  one after the other — each process used to keep its own near-duplicate index (20 and 20).
* Several processes opening a fresh database at the same moment must all succeed (the schema
  version is read and advanced under one ``BEGIN IMMEDIATE``).
* A truncated file, overwritten b-tree pages and a read-only file give one line saying what is
  wrong and what to do, and exit 2 — for `search`, `status` and `crawl` — instead of a
  traceback per command (or, for the read-only crawl, exit 0 and 50 lines of traceback).

Processes are started together with a prelude that imports Chavder first and then waits for a
shared wall-clock instant, so their store opening and crawling really overlap.
"""
from __future__ import annotations

import ctypes
import os
import random
import shutil
import socket
import sqlite3
import subprocess
import textwrap
import time
from pathlib import Path

import pytest

from testsupport.config import write_config
from testsupport.fixtureweb import FixtureWeb
from crawler.store.sqlite import MIGRATIONS
from testsupport.articles import VOCABULARY
from tests.reliability.harness import scaled
from testsupport.processes import reap, run_chavder, spawn
from testsupport.fake_es import FakeElasticsearch
from testsupport.pages import article_page, rss_feed

STORIES = 10
TRIALS = scaled(2, 5)            # concurrent crawl pairs (item 5); old code: 15–16 stories
OPENERS, OPEN_TRIALS = 4, scaled(4, 10)   # old code: 1–3 of 5 trials failed


def go_at_prelude(instant: float) -> str:
    """Child prelude: import everything a command needs, then wait until ``instant``."""
    return textwrap.dedent(f"""\
        import time
        import crawler.cli, crawler.crawl, crawler.store, crawler.pipelines, crawler.alerting
        time.sleep(max(0.0, {instant!r} - time.time()))
        """)


# --------------------------------------------------------------------------- item 5

def _paragraphs(n: int, rng: random.Random) -> list[str]:
    """Story ``n``: four paragraphs of word salad (no 4-word run shared with other stories)
    that mention الرقة, so the alert rule matches every story."""
    words = [rng.choice(VOCABULARY) for _ in range(200)]
    paragraphs = [" ".join(words[i:i + 50]) + "." for i in range(0, 200, 50)]
    paragraphs.insert(1, f"وأفادت مصادر بأن الخبر رقم {n} يتعلق بمدينة الرقة وريفها الشرقي.")
    return paragraphs


@pytest.fixture(scope="module")
def syndicated(tmp_path_factory):
    """Outlets ``outa`` and ``outb`` with the same 10 stories: 5 verbatim copies (same body
    fingerprint) and 5 shortened copies with other furniture (found only by the
    near-duplicate index). Feeds answer after 1 s, so both crawls are under way before the
    first article arrives."""
    root = tmp_path_factory.mktemp("r2-syndicated")
    rng = random.Random(5)
    # published within the dedup window (30 days), as live news is
    hour_ago = time.strftime("%Y-%m-%dT%H:%M:%S+00:00", time.gmtime(time.time() - 3600))
    later = time.strftime("%Y-%m-%dT%H:%M:%S+00:00", time.gmtime(time.time() - 600))
    items: dict[str, list[tuple[str, str]]] = {"outa": [], "outb": []}
    for site in items:
        (root / site / "n").mkdir(parents=True)
        (root / site / "_routes.yaml").write_text("/feed.xml: {sleep: 1.0}\n", "utf-8")
    for n in range(STORIES):
        paragraphs = _paragraphs(n, rng)
        title = f"تطورات جديدة في الرقة: الخبر رقم {n}"
        copy = paragraphs if n < STORIES // 2 else paragraphs[:4]
        (root / "outa" / "n" / f"{n}.html").write_text(
            article_page(title, paragraphs, "111 0 شاركها", hour_ago), "utf-8")
        (root / "outb" / "n" / f"{n}.html").write_text(
            article_page("عاجل | " + title, copy, "اترك تعليقاً", later), "utf-8")
        for site in items:
            items[site].append((title, f"/n/{n}.html"))
    for site, entries in items.items():
        (root / site / "feed.xml").write_text(rss_feed(site, entries), "utf-8")
    with FixtureWeb(root) as web:
        yield web


def _install(tmp: Path, web: FixtureWeb, store: str | None = None) -> Path:
    sources = tmp / "sources.yaml"
    sources.write_text(web.substitute(textwrap.dedent("""\
        defaults: {allow_private: true, allowed_domains: [127.0.0.1]}
        sources:
          - {id: outa, name: Outlet A, kind: feed, start_urls: ["http://outa.fixture/feed.xml"]}
          - {id: outb, name: Outlet B, kind: feed, start_urls: ["http://outb.fixture/feed.xml"]}
        """)), encoding="utf-8")
    alerts = tmp / "alerts.yaml"
    alerts.write_text("rules:\n  - name: raqqa\n    any: [[الرقة]]\n"
                      "    recipients: [desk@example.org]\n", encoding="utf-8")
    return write_config(tmp, store=store or f"sqlite:///{tmp / 'data' / 'c.db'}",
                        sources=sources, alerts=alerts, download_timeout=5)


def _crawl_together(config: Path, tmp: Path, *source_ids: str) -> list[tuple[int, str]]:
    """One `chavder crawl --source ID` per id, all started at the same instant."""
    prelude = go_at_prelude(time.time() + 4.0)
    procs = []
    for sid in source_ids:
        err = open(tmp / f"crawl-{sid}.err", "wb")
        procs.append((spawn(config, "crawl", "--source", sid, "--json",
                            "--progress-interval", "0", stdout=subprocess.DEVNULL,
                            stderr=err, python_prelude=prelude), err, sid))
    results = []
    for proc, err, sid in procs:
        code, _rss, _sig = reap(proc, 180)
        err.close()
        results.append((code, (tmp / f"crawl-{sid}.err").read_text("utf-8", "replace")))
    return results


@pytest.mark.parametrize("backend", ["sqlite", "elasticsearch"])
def test_concurrent_crawls_of_syndicating_outlets_agree_on_stories(syndicated, tmp_path,
                                                                   backend):
    """Elasticsearch: the two crawls share the local sidecar (crawl state, story ids) and
    index into one (fake, loopback) cluster; the indexed documents must agree too."""
    for trial in range(TRIALS):
        tmp = tmp_path / f"trial-{trial}"
        tmp.mkdir()
        fake = FakeElasticsearch().start() if backend == "elasticsearch" else None
        try:
            store = None if fake is None else f"{fake.url}/?flush_interval=0.1"
            config = _install(tmp, syndicated, store)
            # the store exists first: this test is about stories (fresh files: item 12's test);
            # `alerts send` opens it for writing (a reader such as `status` creates nothing)
            made = run_chavder(config, "alerts", "send", tmp=tmp, timeout=120)
            assert made.returncode == 0, made.output[-3000:]
            results = _crawl_together(config, tmp, "outa", "outb")
            for code, err in results:
                assert code == 0, f"trial {trial}: a concurrent crawl failed ({code}):\n" \
                                  f"{err[-3000:]}"
            stories = _check_stories(tmp / "data" / "c.db" if fake is None else
                                     tmp / "data" / "chavder.db", trial)
            if fake is not None:
                docs = fake.documents("chavder-articles")
                assert len(docs) == 2 * STORIES, f"trial {trial}: {len(docs)} documents indexed"
                assert {int(d["story_id"]) for d in docs.values()} == stories, (
                    "the index disagrees with the sidecar on stories")
        finally:
            if fake is not None:
                fake.stop()


def _check_stories(db_path: Path, trial: int) -> set[int]:
    db = sqlite3.connect(db_path)
    try:
        articles = db.execute("SELECT COUNT(*) FROM articles").fetchone()[0]
        outlets = db.execute("SELECT story_id, GROUP_CONCAT(DISTINCT source) FROM articles "
                             "GROUP BY story_id").fetchall()
        alerts = db.execute("SELECT COUNT(*) FROM alert_ledger").fetchone()[0]
    finally:
        db.close()
    assert articles == 2 * STORIES, f"trial {trial}: {articles} articles stored"
    assert len(outlets) == STORIES, (
        f"trial {trial}: two concurrent crawls split {STORIES} syndicated stories into "
        f"{len(outlets)} stories: {outlets}")
    assert all(sorted(s.split(",")) == ["outa", "outb"] for _sid, s in outlets), outlets
    assert alerts == STORIES, f"trial {trial}: {alerts} alerts queued for {STORIES} stories"
    return {sid for sid, _s in outlets}


# --------------------------------------------------------------------------- item 12

@pytest.mark.parametrize("backend", ["sqlite", "elasticsearch"])
def test_fresh_database_opened_by_several_processes_at_once(tmp_path, backend):
    """Elasticsearch: the local files are new too — the sidecar and the index spool (the
    cluster is not needed to open them: nothing listens on the port)."""
    for trial in range(OPEN_TRIALS if backend == "sqlite" else scaled(2, 5)):
        tmp = tmp_path / f"trial-{trial}"
        tmp.mkdir()
        if backend == "sqlite":
            files = {tmp / "data" / "fresh.db": MIGRATIONS}
            store = f"sqlite:///{tmp / 'data' / 'fresh.db'}"
        else:
            files = {tmp / "data" / "chavder.db": MIGRATIONS, tmp / "data" / "es-spool.db": None}
            store = f"http://127.0.0.1:{_closed_port()}/"
        rules = tmp / "alerts.yaml"
        rules.write_text("rules:\n  - name: raqqa\n    any: [[الرقة]]\n"
                         "    recipients: [desk@example.org]\n", encoding="utf-8")
        config = write_config(tmp, store=store, sources=tmp / "sources.yaml", alerts=rules,
                              download_timeout=None)
        prelude = go_at_prelude(time.time() + 3.0)
        procs = []
        for n in range(OPENERS):
            out = open(tmp / f"open-{n}.log", "wb")
            # a command that writes (readers refuse a missing store instead of creating it)
            procs.append((spawn(config, "alerts", "send", stdout=out, stderr=out,
                                python_prelude=prelude), out, n))
        for proc, out, n in procs:
            code, _rss, _sig = reap(proc, 120)
            out.close()
            text = (tmp / f"open-{n}.log").read_text("utf-8", "replace")
            assert code == 0 and "Traceback" not in text, (
                f"trial {trial}: process {n} of {OPENERS} opening a fresh store at once "
                f"exited {code}:\n{text[-2000:]}")
        for path, steps in files.items():
            check = sqlite3.connect(path)
            try:
                if steps is not None:
                    assert check.execute("PRAGMA user_version").fetchone()[0] == len(steps), path
                else:   # the spool: its table is there and empty
                    assert check.execute("SELECT COUNT(*) FROM spool").fetchone()[0] == 0
                assert check.execute("PRAGMA integrity_check").fetchone()[0] == "ok", path
            finally:
                check.close()


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# --------------------------------------------------------------------------- item 13

@pytest.fixture(scope="module")
def stored(tmp_path_factory):
    """A populated store (one crawl of a 6-article outlet) and the outlet, still serving
    (with 3 more articles) for the crawls of the damaged copies."""
    root = tmp_path_factory.mktemp("r2-damaged-web")
    (root / "desk" / "n").mkdir(parents=True)
    rng = random.Random(13)
    entries = []

    def publish(n: int) -> None:
        title = f"تطورات جديدة في الرقة: الخبر رقم {n}"
        (root / "desk" / "n" / f"{n}.html").write_text(article_page(
            title, _paragraphs(n, rng), "111 0 شاركها", "2017-06-01T10:00:00+03:00"), "utf-8")
        entries.append((title, f"/n/{n}.html"))
        (root / "desk" / "feed.xml").write_text(rss_feed("desk", entries[::-1]), "utf-8")

    for n in range(6):
        publish(n)
    tmp = tmp_path_factory.mktemp("r2-damaged")
    with FixtureWeb(root) as web:
        sources = tmp / "sources.yaml"
        sources.write_text(web.substitute(
            "sources:\n  - {id: desk, name: Desk, kind: feed, allow_private: true, "
            "allowed_domains: [127.0.0.1], start_urls: ['http://desk.fixture/feed.xml']}\n"),
            encoding="utf-8")
        config = write_config(tmp, store=f"sqlite:///{tmp / 'data' / 'c.db'}", sources=sources,
                              alerts=tmp / "none.yaml", download_timeout=5)
        first = run_chavder(config, "crawl", "--json", "--progress-interval", "0", tmp=tmp)
        assert first.returncode == 0, first.output[-3000:]
        assert not (tmp / "data" / "c.db-wal").exists() or \
            (tmp / "data" / "c.db-wal").stat().st_size == 0, "closed store left a WAL"
        for n in range(6, 9):
            publish(n)
        yield tmp, sources


def _damaged_copy(stored_dir: Path, where: Path, damage: str) -> Path:
    where.mkdir(parents=True)
    db = where / "c.db"
    shutil.copy(stored_dir / "data" / "c.db", db)
    if damage == "truncated":
        os.truncate(db, db.stat().st_size // 3)
    elif damage == "overwritten":
        # the root page of `articles` and two of its leaves, and the first page of each of its
        # indexes: covering indexes answer many reads (counts, per-source figures) without the
        # table, so damage to the table alone would only show to the commands that read bodies
        con = sqlite3.connect(db)
        try:
            pages = [r[0] for r in con.execute(
                "SELECT pageno FROM dbstat WHERE name='articles' ORDER BY pagetype='leaf', "
                "pageno")]
            indexes = [r[0] for r in con.execute(
                "SELECT min(pageno) FROM dbstat WHERE name IN (SELECT name FROM sqlite_master "
                "WHERE type='index' AND tbl_name='articles') GROUP BY name")]
            size = con.execute("PRAGMA page_size").fetchone()[0]
        finally:
            con.close()
        assert len(pages) >= 3 and indexes, (pages, indexes)
        noise = random.Random(3)
        with open(db, "r+b") as f:
            for page in pages[:3] + indexes:
                f.seek((page - 1) * size)
                f.write(bytes(noise.getrandbits(8) for _ in range(size)))
    elif damage == "read-only":
        db.chmod(0o444)
    return db


def _without_file_override() -> None:
    """Child pre-exec: as root, drop the capabilities that ignore file permissions (from the
    bounding set, so the exec'd interpreter has them neither), making a 0444 file read-only."""
    if os.geteuid() != 0:
        return
    libc = ctypes.CDLL(None, use_errno=True)
    for cap in (1, 2, 3):   # CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH, CAP_FOWNER
        if libc.prctl(24, cap, 0, 0, 0) != 0:   # PR_CAPBSET_DROP
            os.write(2, f"cannot drop capability {cap} (errno {ctypes.get_errno()}): a "
                        "read-only file cannot be simulated for root here\n".encode())
            os._exit(97)


COMMANDS = {"search": ("search", "الرقة"), "status": ("status",),
            "crawl": ("crawl", "--json", "--progress-interval", "0")}


@pytest.mark.parametrize("damage", ["truncated", "overwritten", "read-only"])
def test_damaged_store_gives_one_line_and_exit_2(stored, tmp_path, damage):
    stored_dir, sources = stored
    db = _damaged_copy(stored_dir, tmp_path / "data", damage)
    config = write_config(tmp_path, store=f"sqlite:///{db}", sources=sources,
                          alerts=tmp_path / "none.yaml", download_timeout=5)
    advice = "permissions" if damage == "read-only" else "integrity_check"
    for name, args in COMMANDS.items():
        done = run_chavder(config, *args, tmp=tmp_path, timeout=120,
                           preexec_fn=_without_file_override)
        assert done.returncode != 97, done.stderr
        if damage == "read-only" and name != "crawl":
            # reading a read-only store is fine: the stored articles are all there
            assert done.returncode == 0 and "Traceback" not in done.stderr, done.output[-3000:]
            if name == "search":
                assert done.stdout.count("الخبر رقم") >= 6, done.stdout
            continue
        told = [line for line in done.stderr.splitlines() if advice in line]
        assert done.returncode == 2 and "Traceback" not in done.output and len(told) == 1, (
            f"{damage} store, `chavder {name}`: exit {done.returncode}, expected 2 and one "
            f"line with '{advice}':\n{done.stderr[-3000:]}")
        assert str(db) in told[0] and " — " in told[0], told[0]
        noise = [line for line in done.stderr.splitlines()
                 if "malformed" in line or "readonly" in line or "not a database" in line]
        assert noise == told, f"the problem is told more than once:\n{done.stderr[-3000:]}"


# --------------------------------------------------------------------------- the mechanism

def _article(n: int, source: str, paragraphs: list[str]):
    import hashlib

    from crawler.models import Article
    body = "\n\n".join(paragraphs)
    return Article(source=source, url=f"http://{source}.example/n/{n}",
                   canonical_url=f"http://{source}.example/n/{n}", title=f"خبر {n}", body=body,
                   language="ar", published_at=None,
                   content_hash=hashlib.sha1(body.encode()).hexdigest())


def _store_in_story(resolver, store, article) -> int:
    from crawler.dedup.stories import Candidate
    from crawler.urls import url_key
    key = url_key(article.canonical_url)
    ts = time.time()

    def write(decision):
        return store.upsert(article, key, story_id=decision.story_id
                            if decision.kind in ("duplicate", "join") else None,
                            fingerprint=decision.fingerprint, signature=decision.signature,
                            published_ts=ts)

    _decision, result = resolver.assign(
        Candidate(key, article.body, "ar", ts, article.source, article.content_hash), write,
        lambda r: (r.article_id, r.story_id, r.change_seq))
    return result.story_id


@pytest.mark.parametrize("backend", ["sqlite", "elasticsearch"])
def test_two_writers_built_before_either_wrote_still_share_stories(tmp_path, backend):
    """Two handles on one store (what two processes have), each with a resolver built while
    the store was empty, store shortened copies of each other's stories in turn: every copy
    joins the other writer's story (its signature is caught up inside the transaction)."""
    from crawler.app import build_resolver
    from crawler.store.elasticsearch import ElasticsearchStore, EsConfig
    from crawler.store.sqlite import SQLiteStore

    fake = FakeElasticsearch().start() if backend == "elasticsearch" else None
    try:
        def handle():
            if fake is None:
                return SQLiteStore(tmp_path / "c.db")
            return ElasticsearchStore(EsConfig.from_url(f"{fake.url}/?sync=true", tmp_path),
                                      sidecar=SQLiteStore(tmp_path / "sidecar.db"),
                                      spool=tmp_path / "spool.db", background=False)

        a, b = handle(), handle()
        ra, rb = build_resolver(a), build_resolver(b)
        rng = random.Random(7)
        stories = []
        for n in range(6):
            paragraphs = _paragraphs(n, rng)
            first, second = ((a, ra), (b, rb)) if n % 2 else ((b, rb), (a, ra))
            one = _store_in_story(first[1], first[0], _article(n, "outa", paragraphs))
            two = _store_in_story(second[1], second[0], _article(n, "outb", paragraphs[:4]))
            stories.append((one, two))
        assert all(one == two for one, two in stories), stories
        assert len({one for one, _two in stories}) == 6
        if fake is not None:
            a.flush()
            docs = fake.documents("chavder-articles")
            assert sorted(int(d["story_id"]) for d in docs.values()) == \
                sorted(s for pair in stories for s in pair)
        a.close()
        b.close()
    finally:
        if fake is not None:
            fake.stop()


def test_migration_runner_takes_any_appended_step(tmp_path):
    """Steps are SQL scripts (``;`` inside literals and trigger bodies included) or
    functions; a step appended later migrates an existing file from where it was."""
    from crawler.store.migrate import migrate
    from crawler.store.sqlite import connect
    steps = ["CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT DEFAULT 'a;b');\n"
             "CREATE TRIGGER t_log AFTER INSERT ON t BEGIN UPDATE t SET v = v || ';' "
             "WHERE id = new.id; END;"]
    db = connect(tmp_path / "m.db")
    assert migrate(db, steps, "m.db") == 0
    steps.append(lambda con: con.execute("ALTER TABLE t ADD COLUMN lease TEXT"))
    assert migrate(db, steps, "m.db") == 1 and migrate(db, steps, "m.db") == 2
    db.execute("INSERT INTO t(lease) VALUES ('x')")
    assert db.execute("SELECT v, lease FROM t").fetchone() == ("a;b;", "x")
    with pytest.raises(RuntimeError, match="newer than this Chavder"):
        migrate(db, steps[:1], "m.db")
    db.close()
