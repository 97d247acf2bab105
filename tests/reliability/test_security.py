"""Security checks a user (or an auditor) would run against a real installation:

* no request to a private address unless the source allows it — refused at config time for
  start URLs, and a loopback server no source allows sees no request (hostile links and
  redirects: see test_hostile.py, whose canary on 127.0.0.2 must see nothing);
* the SMTP password (from an environment variable or a file) never appears in any output, log
  format or file Chavder writes, not even when authentication fails;
* mail headers cannot be injected (titles: test_hostile.py; here: config values), and alerts
  escape every untrusted string, including the outlet's name.

Digests: `scheduler/digest.py` does not exist yet, so digest escaping is not covered here.
"""
from __future__ import annotations

import base64
import secrets
import threading
from email import message_from_bytes, policy
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from testsupport.config import feed_source, write_config
from testsupport.fixtureweb import FixtureWeb
from testsupport.processes import Finished, ServiceProcess, chavder_env, run_chavder
from testsupport.pages import article_page, rss_feed
from testsupport.polling import wait_for
from testsupport.smtp_sink import SMTPSink


class Canary:
    """A loopback HTTP server that records every request; Chavder must never reach it."""

    def __init__(self) -> None:
        self.requests: list[tuple[str | None, str]] = []
        canary = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802
                canary.requests.append((self.headers.get("Host"), self.path))
                body = b'<rss version="2.0"><channel><title>x</title></channel></rss>'
                self.send_response(200)
                self.send_header("Content-Type", "application/rss+xml")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: object) -> None:  # noqa: A002
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]

    def __enter__(self) -> "Canary":
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


# every spelling of the loopback address a resolver accepts must count as private
LOOPBACK_SPELLINGS = ["127.0.0.1", "localhost", "LOCALHOST", "[::1]", "[::ffff:127.0.0.1]",
                      "0.0.0.0", "2130706433", "127.1", "0x7f000001", "0177.0.0.1"]


def test_private_start_urls_without_allow_private_are_refused_at_config_time(tmp_path):
    with Canary() as canary:
        urls = [f"http://{host}:{canary.port}/feed-{n}.xml"
                for n, host in enumerate(LOOPBACK_SPELLINGS)]
        sources = tmp_path / "sources.yaml"
        sources.write_text("sources:\n" + "".join(
            f'  - {{id: sneaky-{n}, kind: feed, start_urls: ["{url}"]}}\n'
            for n, url in enumerate(urls)), encoding="utf-8")
        config = write_config(tmp_path, store=f"sqlite:///{tmp_path / 'data' / 'c.db'}",
                              sources=sources)
        check = run_chavder(config, "sources", "check")
        crawl = run_chavder(config, "crawl", "--progress-interval", "0")
    assert check.returncode == 2 and crawl.returncode == 2, (check.output, crawl.output)
    accepted = [url for n, url in enumerate(urls)
                if not any(f"{sources}:{n + 2}:" in line and "private or loopback" in line
                           for line in check.stderr.splitlines())]
    assert accepted == [], f"accepted although they point at 127.0.0.1: {accepted}"
    assert canary.requests == [], f"fetched: {canary.requests}"


# ---------------------------------------------------------------------------- secrets

RAQQA = [
    "قالت مصادر محلية إن اشتباكات اندلعت صباح اليوم في ريف الرقة الشمالي بين قوات محلية "
    "ومجموعة مسلحة، واستمرت نحو ساعتين قبل أن تهدأ في محيط القرى الواقعة شرق المدينة.",
    "وأضافت المصادر أن عدداً من العائلات نزحت من القرى القريبة باتجاه مدينة الرقة خوفاً من "
    "تجدد الاشتباكات خلال الليل، فيما أغلقت المدارس أبوابها حتى إشعار آخر.",
]
EVIL_NAME = "<img src=x onerror=alert(9)> Evil & Co"
USER = "chavder-bot"


def _secret_forms(secret: str) -> list[str]:
    """The password as it could leak: plain, and as AUTH PLAIN / AUTH LOGIN put it on the wire."""
    return [secret, base64.b64encode(secret.encode()).decode(),
            base64.b64encode(f"\0{USER}\0{secret}".encode()).decode(),
            base64.b64encode(f"{USER}\0{USER}\0{secret}".encode()).decode()]


def _publish(web: FixtureWeb, n: int) -> None:
    items = []
    for k in range(n):
        title = f"اشتباكات في ريف الرقة: التقرير {k}"
        body = [p + f" (التقرير {k})" for p in RAQQA] + [f"تفاصيل خاصة بالتقرير رقم {k} " * 3]
        web.publish("wire", f"/r{k}.html", article_page(title, body, "111 0 شاركها",
                                                        "2017-06-01T10:00:00+03:00"))
        items.append((title, f"/r{k}.html"))
    web.publish("wire", "/feed.xml", rss_feed("wire", items))


@pytest.fixture
def outlet(tmp_path):
    root = tmp_path / "web"
    (root / "wire").mkdir(parents=True)
    (root / "wire" / "feed.xml").write_text(rss_feed("wire", []), "utf-8")
    with FixtureWeb(root) as web:
        yield web


def _config(tmp: Path, web: FixtureWeb, port: int, password: str) -> Path:
    sources = tmp / "sources.yaml"
    sources.write_text(web.substitute(feed_source("wire", name=f'"{EVIL_NAME}"', interval="1s")),
                       encoding="utf-8")
    alerts = tmp / "alerts.yaml"
    alerts.write_text('rules:\n  - name: "raqqa\\r\\nBcc: evil@example.org"\n'
                      "    any: [الرقة]\n    recipients: [desk@example.org]\n", encoding="utf-8")
    how = ({"password_file": tmp / "smtp-password"} if password == "file"
           else {"password_env": "CHAVDER_TEST_SMTP_PASSWORD"})
    return write_config(tmp, store=f"sqlite:///{tmp / 'data' / 'c.db'}", sources=sources,
                        alerts=alerts, health_port=-1, alert_dispatch_seconds=1,
                        alert_retry_seconds=0.5, smtp_port=port, mail={"username": USER, **how})


@pytest.mark.parametrize("password", ["env", "file"])
def test_smtp_password_never_appears_in_output_or_files(tmp_path, outlet, password):
    secret = "Pw-" + secrets.token_urlsafe(18)
    (tmp_path / "smtp-password").write_text(secret + "\n", encoding="utf-8")
    outputs: list[Finished | str] = []
    with SMTPSink(credentials=(USER, secret)) as sink:
        config = _config(tmp_path, outlet, sink.port, password)
        env = chavder_env(config, {"CHAVDER_TEST_SMTP_PASSWORD": secret}
                          if password == "env" else None)
        _publish(outlet, 1)
        outputs.append(run_chavder(config, "-v", "crawl", "--progress-interval", "0",
                                   env=env))
        assert wait_for(lambda: len(sink.messages) == 1, 10), outputs[-1].output[-3000:]
        _publish(outlet, 2)
        outputs.append(run_chavder(config, "--log-json", "crawl", "--json",
                                   "--progress-interval", "0", env=env))
        outputs.append(run_chavder(config, "alerts", "send", env=env))
        outputs.append(run_chavder(config, "status", "--json", env=env))
        # the service: a story published while it runs is alerted, then SIGTERM
        _publish(outlet, 3)
        svc = ServiceProcess(config, tmp_path / "service.log", env).start()
        try:
            assert wait_for(lambda: len(sink.messages) == 3, 60), svc.text()[-3000:]
        finally:
            assert svc.stop() == 0
        outputs.append(svc.text())
        messages = list(sink.messages)
    # the server now wants another password: authentication fails, the error is reported
    with SMTPSink(port=sink.port, credentials=(USER, "something-else")) as picky:
        _publish(outlet, 4)
        failing = run_chavder(config, "-v", "crawl", "--progress-interval", "0", env=env)
        outputs.append(failing)
        assert picky.messages == [] and USER in picky.auth_attempts

    texts = [o if isinstance(o, str) else o.output for o in outputs]
    assert any("535" in t or "auth" in t.lower() for t in texts[-1:]), texts[-1][-3000:]
    files = [p for p in (tmp_path / "data").rglob("*") if p.is_file()]
    for form in _secret_forms(secret):
        for n, text in enumerate(texts):
            assert form not in text, f"the password leaked into output #{n}"
        for path in files:
            assert form.encode() not in path.read_bytes(), f"the password leaked into {path}"

    for msg in messages:   # the same mails: untrusted config and page strings, escaped
        assert msg.rcpt_tos == ["desk@example.org"]
        parsed = message_from_bytes(msg.raw, policy=policy.default)
        assert parsed["Bcc"] is None, "a rule name injected a header"
        assert "\n" not in msg.subject and "\r" not in msg.subject
        html = msg.body("html")
        assert "<img" not in html and "&lt;img src=x onerror=alert(9)&gt; Evil &amp; Co" in html

