"""Spelling variants end to end: a crawled article that spells the place another way than the
rule (Raqqah, ڕەقەدا) alerts by e-mail; the goddess Isis does not trip an ISIS rule written
``case: sensitive``. Real crawl of a loopback outlet, real SMTP (aiosmtpd)."""
from __future__ import annotations

import json
import textwrap
from pathlib import Path

from tests.conftest import ChavderEnv
from testsupport.fixtureweb import FixtureWeb
from testsupport.pages import article_page as page, rss_feed as feed
from testsupport.smtp_sink import SMTPSink

RAQQAH = ["Shelling was reported on Tuesday on the outskirts of Raqqah, residents said, as "
          "families left the villages along the Euphrates for the city centre.",
          "The local council said it was counting the damage and asked aid groups for tents."]
SORANI = ["ئەمڕۆ بەیانی لە ڕەقەدا کۆبوونەوەیەکی فراوان بۆ پێداچوونەوە بە دۆخی ئاوارەکان کرا و "
          "نوێنەری ڕێکخراوەکان بەشدار بوون.",
          "ئەنجومەنی شار ڕایگەیاند کە هاوکارییەکان لە هەفتەی داهاتوودا دابەش دەکرێن."]
ISIS_GODDESS = ["The exhibition on Isis and Osiris opens next week, with statues of Isis lent "
                "by museums in Cairo and Turin.",
                "Curators said the temple reliefs of Isis had never left Egypt before."]


def test_variant_spelling_in_a_crawled_article_alerts_by_mail(tmp_path: Path):
    root = tmp_path / "web"
    (root / "wire").mkdir(parents=True)
    articles = [("Shelling near Raqqah", RAQQAH, "/raqqah.html", "en"),
                ("کۆبوونەوە لە ڕەقەدا", SORANI, "/ckb.html", "ckb"),
                ("Isis and Osiris in the museum", ISIS_GODDESS, "/isis.html", "en")]
    for title, body, path, lang in articles:
        (root / "wire" / path[1:]).write_text(
            page(title, body, "Share", "2017-06-01T10:00:00+03:00", lang=lang), "utf-8")
    (root / "wire" / "feed.xml").write_text(
        feed("wire", [(t, p) for t, _, p, _ in articles]), "utf-8")
    sink = SMTPSink().start()
    try:
        with FixtureWeb(root) as web:
            sources = tmp_path / "sources.yaml"
            sources.write_text(web.substitute(textwrap.dedent("""\
                defaults: {allow_private: true, allowed_domains: [127.0.0.1]}
                sources:
                  - {id: wire, name: Wire Agency, kind: feed,
                     start_urls: ["http://wire.fixture/feed.xml"]}
                """)), encoding="utf-8")
            alerts = tmp_path / "alerts.yaml"
            alerts.write_text(textwrap.dedent("""\
                rules:
                  - name: raqqa
                    any: [[الرقة, ڕەققە, Raqqa]]
                    recipients: [desk@example.org]
                  - name: isis
                    any: [[{term: ISIS, case: sensitive}, داعش]]
                    recipients: [desk@example.org]
                """), encoding="utf-8")
            env = ChavderEnv.create(tmp_path, sources, alerts=alerts, alert_retry_seconds=0.2,
                                    smtp_port=sink.port,
                                    mail={"sender": "Chavder <alerts@chavder.test>"})
            summary = json.loads(env.crawl().stdout)
        assert summary["sources"]["wire"]["new"] == 3
        subjects = sorted(m.subject for m in sink.messages)
        assert len(subjects) == 2, subjects
        assert all(s.startswith("[Chavder] raqqa: ") for s in subjects), subjects
        bodies = " ".join(m.body("html") for m in sink.messages)
        assert "<mark>Raqqah</mark>" in bodies and "<mark>ڕەقەدا</mark>" in bodies

        # search with the rule finds what the rule alerted on (a plain query for "Raqqa" can't)
        found = [json.loads(x) for x in env.run("search", "--rule", "raqqa", "--json")
                 .stdout.splitlines()]
        assert sorted(r["title"] for r in found) == ["Shelling near Raqqah", "کۆبوونەوە لە ڕەقەدا"]
        assert env.run("search", "--rule", "isis").stdout.startswith("no stored article")
        # explain: which term, which span, through which spelling
        out = env.run("alerts", "test", "raqqa", "--text", "Raqqah was shelled",
                      "--lang", "en").stdout
        assert "any term 'Raqqa' matched 'Raqqah' (body 0-6) variant:" in out, out
        veto = env.run("alerts", "test", "isis", "--text", "Isis the goddess", "--json",
                       check=False)
        assert veto.returncode == 1 and json.loads(veto.stdout)["fired"] is False
        # backfill one rule only: the isis rule has nothing to add, raqqa's alerts exist
        out = env.run("alerts", "run", "--rule", "isis", "--since", "2000-01-01").stdout
        assert "0 rule matches" in out, out
        assert "[raqqa]" not in out
    finally:
        sink.stop()
