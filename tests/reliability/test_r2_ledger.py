"""Round two of the hostile cases, the delivery ledger (issue 13, items 3, 6 and 9).

* 3 — several senders at once (`chavder alerts send` while another runs, two crawls) deliver
  each alert exactly once: a delivery is claimed atomically (``sending`` + owner + lease), in
  SQLite and in the Elasticsearch store's SQLite sidecar alike. A slow SMTP server (0.3 s per
  message, a real aiosmtpd on 127.0.0.1) keeps the senders overlapping. Digests, the twin
  ledger: a sender killed mid-send is taken over at once by the next one (its owner is dead).
* 6 — a local I/O error (an outbox the process may not write) is temporary: the alerts wait
  and go out once it is fixed; alerts that failed for good are listed by `chavder status` with
  their reason and re-queued by `chavder alerts retry --failed`.
* 9 — Apprise recipient URLs (bot tokens, webhook secrets) appear in no output, no log line of
  the Apprise library (or urllib3 below it), no file Chavder writes, no message.

Permissions are real: when the tests run as root, the `chavder` child drops CAP_DAC_OVERRIDE
(from its bounding set, so it holds across exec) and a mode-0500 directory refuses it.
"""
from __future__ import annotations

import ctypes
import json
import os
import random
import secrets
import sqlite3
import subprocess
import threading
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import quote

import apprise  # noqa: F401 - item 9 needs the real library; a missing one fails the test
import pytest

from testsupport.config import write_config as write_chavder_yaml
from testsupport.fixtureweb import FixtureWeb
from crawler.models import Article
from crawler.store.sqlite import MIGRATIONS, SQLiteStore
from testsupport.articles import story_page
from testsupport.processes import Finished, chavder_env, run_chavder, spawn
from testsupport.fake_es import FakeElasticsearch
from testsupport.pages import rss_feed
from testsupport.polling import wait_for
from testsupport.smtp_sink import SMTPSink

STORIES = 10
SENDERS = 4
SLOW_SMTP = 0.3            # seconds per message: one sender alone would need 3 s for 10

RAQQA = ("قالت مصادر محلية إن اشتباكات اندلعت صباح اليوم في ريف الرقة الشمالي بين قوات محلية "
         "ومجموعة مسلحة، واستمرت نحو ساعتين قبل أن تهدأ في محيط القرى الواقعة شرق المدينة.")


# ---------------------------------------------------------------------------- helpers

def store_stories(db: Path, n: int = STORIES) -> None:
    """n stored, not yet matched articles about Raqqa (distinct stories)."""
    store = SQLiteStore(db)
    try:
        for k in range(n):
            body = f"{RAQQA} الخبر رقم {k}. " + " ".join(f"كلمة{k}x{i}" for i in range(40))
            store.upsert(Article(source="wire", url=f"https://wire.example/{k}",
                                 canonical_url=f"https://wire.example/{k}",
                                 title=f"الرقة: تطورات رقم {k}", body=body, language="ar",
                                 content_hash=f"h{k}"), f"wire.example/{k}")
    finally:
        store.close()


def write_config(tmp: Path, *, store: str, mail: str = "", extra: str = "",
                 recipients: str = "[desk@example.org]", mode: str = "instant") -> Path:
    data = tmp / "data"
    data.mkdir(exist_ok=True)
    (tmp / "sources.yaml").write_text(
        "sources:\n  - {id: wire, name: Wire, kind: feed, "
        "start_urls: ['https://wire.example/feed.xml']}\n", "utf-8")
    (tmp / "alerts.yaml").write_text(
        f"rules:\n  - name: raqqa\n    any: [الرقة]\n    mode: {mode}\n"
        f"    recipients: {recipients}\n", "utf-8")
    return write_chavder_yaml(tmp, store=store, sources=tmp / "sources.yaml",
                              alerts=tmp / "alerts.yaml", health_port=-1,
                              download_timeout=None, extra=extra + mail)


def smtp_mail(port: int) -> str:
    return f"mail:\n  smtp_host: 127.0.0.1\n  smtp_port: {port}\n  security: none\n"


def ledger(db: Path, sql: str = "SELECT * FROM alert_ledger ORDER BY id") -> list[dict]:
    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=30)
    con.row_factory = sqlite3.Row
    try:
        return [dict(r) for r in con.execute(sql)]
    finally:
        con.close()


def run_together(config: Path, tmp: Path, commands: list[list[str]],
                 timeout: float = 180) -> list[Finished]:
    """Start every command at once, wait for all; output through files (no pipe dead-lock)."""
    procs = []
    for n, args in enumerate(commands):
        out = open(tmp / f"together-{n}.out", "wb")
        err = open(tmp / f"together-{n}.err", "wb")
        procs.append((args, spawn(config, *args, stdout=out, stderr=err), out, err))
    done = []
    for n, (args, proc, out, err) in enumerate(procs):
        try:
            code = proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            code = proc.wait()
        out.close()
        err.close()
        done.append(Finished(args, code, (tmp / f"together-{n}.out").read_text("utf-8"),
                             (tmp / f"together-{n}.err").read_text("utf-8"), 0.0, 0.0))
    return done


def assert_each_ledger_row_delivered_once(sink: SMTPSink, rows: list[dict]) -> None:
    per_id = Counter(str(m.message["Message-ID"]) for m in sink.messages)
    twice = {mid: n for mid, n in per_id.items() if n > 1}
    assert not twice, f"{sum(per_id.values())} messages for {len(rows)} alerts; sent more " \
                      f"than once: {twice}"
    assert {r["state"] for r in rows} == {"sent"}, Counter(r["state"] for r in rows)
    assert set(per_id) == {r["message_id"] for r in rows}, "a message matches no ledger row"
    assert [r["attempts"] for r in rows] == [1] * len(rows), "a delivery was attempted twice"


# ---------------------------------------------------------------------------- item 3

@pytest.mark.parametrize("backend", ["sqlite", "elasticsearch"])
def test_concurrent_alerts_send_deliver_each_alert_exactly_once(tmp_path, backend):
    """Four `chavder alerts send` at once over 10 pending alerts: 10 messages, not 15–40."""
    db = tmp_path / "data" / "c.db"
    (tmp_path / "data").mkdir()
    store_stories(db)
    fake = FakeElasticsearch().start() if backend == "elasticsearch" else None
    try:
        url = (f"sqlite:///{db}" if fake is None else
               f"{fake.url}/?sidecar={db}&spool={tmp_path / 'data' / 'spool.db'}&sync=true")
        with SMTPSink(delay=SLOW_SMTP) as sink:
            config = write_config(tmp_path, store=url, mail=smtp_mail(sink.port))
            runs = run_together(config, tmp_path, [["alerts", "send"]] * SENDERS)
            messages = list(sink.messages)
        for run in runs:
            assert run.returncode == 0, run.output[-3000:]
        rows = ledger(db)
        assert len(rows) == STORIES
        assert len(messages) == STORIES, (
            f"{len(messages)} messages for {STORIES} alerts from {SENDERS} concurrent senders")
        assert_each_ledger_row_delivered_once(sink, rows)
        assert len({m.subject for m in messages}) == STORIES
        sent = [int(r.stdout.split("alerts: ", 1)[1].split(" sent")[0]) for r in runs]
        assert sum(sent) == STORIES, [r.stdout for r in runs]
        assert all(r["claimed_by"] for r in rows)
        if fake is not None:       # the alerts index mirrors the sidecar's ledger
            docs = fake.documents("chavder-alerts").values()
            assert sorted(d["state"] for d in docs) == ["sent"] * STORIES
    finally:
        if fake is not None:
            fake.stop()


def test_two_concurrent_crawls_alert_each_story_once(tmp_path):
    """Two `chavder crawl` of the same outlet at once: each alert goes out once."""
    root = tmp_path / "web"
    (root / "wire").mkdir(parents=True)
    items, rng = [], random.Random(13)
    for k in range(STORIES):
        title, html = story_page(k, rng)        # ten distinct stories, each mentions الرقة
        (root / "wire" / f"r{k}.html").write_text(html, "utf-8")
        items.append((title, f"/r{k}.html"))
    (root / "wire" / "feed.xml").write_text(rss_feed("wire", items), "utf-8")
    db = tmp_path / "data" / "c.db"
    (tmp_path / "data").mkdir()
    SQLiteStore(db).close()     # created first: racing migrations of a new file are item 12
    with FixtureWeb(root) as web, SMTPSink(delay=SLOW_SMTP) as sink:
        config = write_config(tmp_path, store=f"sqlite:///{db}", mail=smtp_mail(sink.port),
                              extra="download_timeout: 5\n")
        (tmp_path / "sources.yaml").write_text(web.substitute(
            "sources:\n  - {id: wire, name: Wire, kind: feed, allow_private: true, "
            "allowed_domains: [127.0.0.1], start_urls: ['http://wire.fixture/feed.xml']}\n"),
            "utf-8")
        runs = run_together(config, tmp_path, [["crawl", "--progress-interval", "0"]] * 2)
        for run in runs:
            assert run.returncode == 0, run.output[-3000:]
        rows = ledger(db)
        # (concurrent crawls of *different* outlets may still split a story — item 5; every
        # ledger row, i.e. (rule, story, recipient), is then still delivered exactly once)
        assert_each_ledger_row_delivered_once(sink, rows)
        assert len(sink.messages) == len(rows)
        stored = ledger(db, "SELECT COUNT(*) AS n, COUNT(DISTINCT story_id) AS s FROM articles")
        assert stored == [{"n": STORIES, "s": STORIES}]
        assert len(rows) == STORIES


def test_a_digest_sender_killed_mid_send_is_taken_over_at_once(tmp_path):
    """The digest twin of the ledger: kill -9 `digest send --now` while the server holds its
    DATA; the next `digest send --now` sees the owner is dead and sends at once — the same
    Message-ID — instead of reporting "busy" until the 10-minute lease runs out."""
    db = tmp_path / "data" / "c.db"
    (tmp_path / "data").mkdir()
    store_stories(db, 2)
    with SMTPSink(delay=6.0) as sink:
        config = write_config(tmp_path, store=f"sqlite:///{db}", mode="digest",
                              mail=smtp_mail(sink.port))
        match = run_chavder(config, "alerts", "send")   # the sweep files the digest items
        assert match.returncode == 0, match.output[-3000:]
        args = ["digest", "send", "--now", "--recipient", "desk@example.org"]
        with open(tmp_path / "killed.log", "wb") as out:
            proc = spawn(config, *args, stdout=out, stderr=subprocess.STDOUT)
            in_data = wait_for(lambda: sink.data_started == 1 or proc.poll() is not None, 60)
            assert in_data and proc.poll() is None, (tmp_path / "killed.log").read_text()
            assert ledger(db, "SELECT state FROM digests") == [{"state": "sending"}]
            proc.kill()                                         # inside the 6 s DATA
            proc.wait(timeout=30)
        sink.delay = 0.0
        again = run_chavder(config, *args)
        assert again.returncode == 0 and ": sent, 2 stories" in again.stdout, again.output
        assert wait_for(lambda: sink.data_done == sink.data_started, 15)  # the killed one too
        ids = {str(m.message["Message-ID"]) for m in sink.messages}
    [row] = ledger(db, "SELECT state, attempts, message_id FROM digests")
    assert row["state"] == "sent" and row["attempts"] == 2, row
    assert ids == {row["message_id"]}, "the takeover must resend the same Message-ID"


# ---------------------------------------------------------------------------- item 6

_libc = ctypes.CDLL(None, use_errno=True)
_PR_CAPBSET_DROP = 24
_CAP_DAC_OVERRIDE, _CAP_DAC_READ_SEARCH = 1, 2


def _without_dac_override() -> None:
    """preexec_fn: as root, give up the capability that ignores file modes (bounding set, so
    the exec'd interpreter cannot regain it); as another user, modes apply anyway."""
    if os.geteuid() != 0:
        return
    for cap in (_CAP_DAC_OVERRIDE, _CAP_DAC_READ_SEARCH):
        if _libc.prctl(_PR_CAPBSET_DROP, cap, 0, 0, 0) != 0:
            raise OSError(ctypes.get_errno(), "prctl(PR_CAPBSET_DROP) failed")


def unprivileged(config: Path, *args: str) -> Finished:
    return run_chavder(config, *args, preexec_fn=_without_dac_override)


def outbox_files(outbox: Path) -> list[str]:
    return sorted(p.name for p in outbox.iterdir() if p.suffix == ".eml")


def _read_only_outbox(tmp: Path, extra: str) -> tuple[Path, Path, Path]:
    db = tmp / "data" / "c.db"
    (tmp / "data").mkdir()
    store_stories(db)
    config = write_config(tmp, store=f"sqlite:///{db}", extra=extra)
    outbox = tmp / "data" / "outbox"
    outbox.mkdir()
    outbox.chmod(0o500)
    return config, db, outbox


def test_a_read_only_outbox_delays_alerts_and_they_go_out_once_it_is_fixed(tmp_path):
    config, db, outbox = _read_only_outbox(tmp_path, "alert_retry_seconds: 60\n")
    try:
        first = unprivileged(config, "alerts", "send")
        assert first.returncode == 0, first.output[-3000:]
        rows = ledger(db)
        assert Counter(r["state"] for r in rows) == {"pending": STORIES}, (
            "a permission error on the outbox must not fail alerts for good",
            Counter(r["state"] for r in rows), first.output[-2000:])
        assert all("Permission denied" in r["last_error"] and r["attempts"] == 1 and
                   r["next_attempt_at"] > r["last_attempt_at"] for r in rows), rows[0]
        assert "temporary delivery failure" in first.stderr and "retry in 60 s" in first.stderr
        assert outbox_files(outbox) == []
    finally:
        outbox.chmod(0o700)
    # fixed: `alerts retry` sends what waits for its retry now (the service would, at its time)
    fixed = unprivileged(config, "alerts", "retry")
    assert fixed.returncode == 0, fixed.output[-3000:]
    assert "re-queued: 0 failed, 10 waiting to retry; alerts: 10 sent" in fixed.stdout
    assert len(outbox_files(outbox)) == STORIES
    assert Counter(r["state"] for r in ledger(db)) == {"sent": STORIES}
    again = unprivileged(config, "alerts", "send")
    assert "alerts: 0 sent" in again.stdout and len(outbox_files(outbox)) == STORIES


def test_failed_alerts_are_shown_by_status_and_requeued_by_alerts_retry_failed(tmp_path):
    config, db, outbox = _read_only_outbox(tmp_path, "alert_max_attempts: 1\n")
    try:
        send = unprivileged(config, "alerts", "send")
        assert send.returncode == 0, send.output[-3000:]
        assert Counter(r["state"] for r in ledger(db)) == {"failed": STORIES}
        status = unprivileged(config, "status")
        as_json = json.loads(unprivileged(config, "status", "--json").stdout)
    finally:
        outbox.chmod(0o700)
    assert status.returncode == 0, status.output[-3000:]
    assert f"failed alerts: {STORIES}" in status.stdout, status.stdout
    lines = [line for line in status.stdout.splitlines() if line.startswith("  #")]
    assert len(lines) == STORIES and all("raqqa → desk@example.org" in line and
                                         "Permission denied" in line for line in lines), lines
    assert "chavder alerts retry --failed" in status.stdout
    assert as_json["alerts"] == {"failed": STORIES}
    assert len(as_json["failed_alerts"]) == STORIES
    assert all("Permission denied" in a["last_error"] for a in as_json["failed_alerts"])

    # failed stays failed until a human says otherwise …
    assert "alerts: 0 sent" in unprivileged(config, "alerts", "send").stdout
    plain = unprivileged(config, "alerts", "retry")
    assert "re-queued: 0 failed" in plain.stdout and "--failed" in plain.stdout
    assert outbox_files(outbox) == []
    # … then every one of them goes out, once
    retry = unprivileged(config, "alerts", "retry", "--failed")
    assert retry.returncode == 0, retry.output[-3000:]
    assert f"re-queued: {STORIES} failed" in retry.stdout, retry.stdout
    assert len(outbox_files(outbox)) == STORIES
    assert Counter(r["state"] for r in ledger(db)) == {"sent": STORIES}
    status = unprivileged(config, "status")
    assert "failed alerts" not in status.stdout and "sent=10" in status.stdout


# ---------------------------------------------------------------------------- item 9

class _Recorder(ThreadingHTTPServer):
    """A loopback HTTP server: a webhook (POST → 200) and a proxy that refuses every CONNECT,
    so the Telegram plugin's request to api.telegram.org never leaves the machine."""

    daemon_threads = True

    def __init__(self) -> None:
        self.posts: list[tuple[str, bytes]] = []
        self.connects: list[str] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802
                length = int(self.headers.get("Content-Length") or 0)
                server.posts.append((self.path, self.rfile.read(length)))
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def do_CONNECT(self) -> None:  # noqa: N802
                server.connects.append(self.path)
                self.send_response(403)
                self.send_header("Content-Length", "0")
                self.end_headers()
                self.close_connection = True

            def log_message(self, format: str, *args: object) -> None:  # noqa: A002
                pass

        super().__init__(("127.0.0.1", 0), Handler)
        self.port = self.server_address[1]

    def __enter__(self) -> "_Recorder":
        threading.Thread(target=self.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.shutdown()
        self.server_close()


def test_apprise_tokens_stay_out_of_logs_store_and_messages(tmp_path):
    bot_secret = "AAF-" + secrets.token_urlsafe(24)
    bot_token = f"{secrets.randbelow(9 * 10 ** 8) + 10 ** 8}:{bot_secret}"
    chat = f"-100{secrets.randbelow(10 ** 9) + 10 ** 9}"
    hook_secret = "hook-" + secrets.token_urlsafe(18)
    hook_password = "pw-" + secrets.token_urlsafe(12)
    db = tmp_path / "data" / "c.db"
    (tmp_path / "data").mkdir()
    store_stories(db, 2)
    with _Recorder() as web, _Recorder() as proxy:
        telegram = f"tgram://{bot_token}/{chat}"
        webhook = f"json://chavder:{hook_password}@127.0.0.1:{web.port}/{hook_secret}"
        config = write_config(tmp_path, store=f"sqlite:///{db}", mode="both",
                              extra="alert_retry_seconds: 0\n",
                              recipients=f"['apprise:{telegram}', 'apprise:{webhook}']")
        via = f"http://127.0.0.1:{proxy.port}"      # api.telegram.org is never even resolved
        env = chavder_env(config, {"HTTPS_PROXY": via, "https_proxy": via, "HTTP_PROXY": via,
                                   "http_proxy": via, "ALL_PROXY": via, "all_proxy": via,
                                   "NO_PROXY": "127.0.0.1", "no_proxy": "127.0.0.1"})
        outputs = [
            run_chavder(config, "-v", "alerts", "send", env=env),
            run_chavder(config, "-v", "--log-json", "alerts", "send", env=env),   # Telegram again
            run_chavder(config, "-v", "digest", "send", "--now", "--recipient",
                        f"apprise:{webhook}", env=env),
            run_chavder(config, "status", env=env),
            run_chavder(config, "status", "--json", env=env),
            run_chavder(config, "digest", "list", env=env),
            run_chavder(config, "digest", "list", "--json", env=env),
            run_chavder(config, "alerts", "check", env=env),
        ]
        posts = list(web.posts)
        connects = list(proxy.connects)
    for out in outputs:
        assert out.returncode == 0, (out.args, out.output[-3000:])
    # the deliveries really happened (and the Telegram plugin logged its POST line)
    assert len([p for p in posts if p[0] == f"/{hook_secret}"]) == 3, posts   # 2 alerts, 1 digest
    assert connects and all(c == "api.telegram.org:443" for c in connects), connects
    verbose = outputs[0].stderr
    assert "Telegram POST URL" in verbose and "JSON POST URL" in verbose, verbose[-3000:]
    assert ": sent" in outputs[2].stdout, outputs[2].output[-3000:]

    forms = {s for secret in (bot_token, bot_secret, hook_secret, hook_password, chat)
             for s in (secret, quote(secret, safe=""))}
    texts = [o.output for o in outputs] + [body.decode("utf-8", "replace") for _p, body in posts]
    for n, text in enumerate(texts):
        leaked = sorted(f for f in forms if f in text)
        assert not leaked, f"secret part(s) {leaked} leaked into output/message #{n}:\n" + \
            "\n".join(line for line in text.splitlines() if any(f in line for f in leaked))[:2000]
    files = [p for p in (tmp_path / "data").rglob("*") if p.is_file()]
    assert any(p.name == "c.db" for p in files)
    for path in files:
        raw = path.read_bytes()
        leaked = sorted(f for f in forms if f.encode() in raw)
        assert not leaked, f"secret part(s) {leaked} stored in {path}"
    assert "apprise:json://…#" in outputs[2].stdout, outputs[2].stdout   # named by its key
    keys = {r["recipient"] for r in ledger(db)}
    assert len(keys) == 2 and all(k.startswith(("apprise:tgram://…#", "apprise:json://…#"))
                                  for k in keys), keys


def test_an_old_database_with_raw_apprise_urls_is_rewritten_without_leftovers(tmp_path):
    """A store written before schema v6 held the raw URL in three tables; opening it rewrites
    them to the redacted key, and secure_delete leaves none of the old bytes in free pages."""
    secret = "AAF-" + secrets.token_urlsafe(24)
    key = f"apprise:tgram://123456789:{secret}/-1001234567890"
    db = tmp_path / "data" / "c.db"
    (tmp_path / "data").mkdir()
    con = sqlite3.connect(db, isolation_level=None)
    for version, script in enumerate(MIGRATIONS[:5]):       # the schema an old Chavder left
        con.executescript(f"BEGIN; {script}; PRAGMA user_version={version + 1}; COMMIT;")
    con.execute("INSERT INTO alert_ledger(rule, story_id, recipient, article_id, "
                "next_attempt_at, created_at) VALUES ('raqqa', 1, ?, 1, '2000', '2000')", (key,))
    con.execute("INSERT INTO digest_items(rule, story_id, recipient, article_id, matched_at) "
                "VALUES ('raqqa', 1, ?, 1, '2000')", (key,))
    con.execute("INSERT INTO digests(recipient, period_key, period_start, period_end, "
                "next_attempt_at, created_at) VALUES (?, '2000-01-02', '2000', '2000', '2000', "
                "'2000')", (key,))
    con.close()
    assert secret.encode() in db.read_bytes()
    run = run_chavder(write_config(tmp_path, store=f"sqlite:///{db}"), "status")
    assert run.returncode == 0, run.output[-3000:]
    for path in db.parent.iterdir():
        assert secret.encode() not in path.read_bytes(), f"the old token is still in {path}"
    for table in ("alert_ledger", "digest_items", "digests"):
        [row] = ledger(db, f"SELECT recipient FROM {table}")
        assert row["recipient"].startswith("apprise:tgram://…#"), (table, row)
    assert secret not in run.output
