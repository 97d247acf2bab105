"""Alert latency inside one ``chavder crawl`` when another source has a slow page.

    .venv/bin/python bench/crawl_alert_latency.py [--slow 10] [--runs 2]

Two loopback outlets crawled in one batch: ``quick`` has an article matching an alert rule,
``slow`` one page that takes ``--slow`` seconds. Measures, per ``alert_sweep_seconds`` value
(1 = the default, 0 = alerts only after the crawl, as before issue 16), the time from the start
of ``chavder crawl`` to the alert arriving at a real SMTP server (aiosmtpd), and the crawl's
own duration.
"""
from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from testsupport.articles import RAQQA_REPORT  # noqa: E402
from testsupport.config import write_config  # noqa: E402
from testsupport.fixtureweb import FixtureWeb  # noqa: E402
from testsupport.pages import article_page, rss_feed  # noqa: E402
from testsupport.processes import chavder_env  # noqa: E402
from testsupport.smtp_sink import SMTPSink  # noqa: E402


def outlets(root: Path, slow: float) -> None:
    for site in ("quick", "slow"):
        (root / site).mkdir(parents=True)
    (root / "quick" / "a.html").write_text(article_page(
        "اشتباكات في ريف الرقة", RAQQA_REPORT, "شاركها", "2017-06-01T10:00:00+03:00"), "utf-8")
    (root / "quick" / "feed.xml").write_text(rss_feed("quick", [("a", "/a.html")]), "utf-8")
    (root / "slow" / "s.html").write_text(article_page(
        "Traffic in Duhok", ["Road works slow down the traffic of Duhok this week."] * 4,
        "Share", "2017-06-01T08:00:00+03:00", lang="en"), "utf-8")
    (root / "slow" / "_routes.yaml").write_text(f"/s.html: {{sleep: {slow}}}\n", "utf-8")
    (root / "slow" / "feed.xml").write_text(rss_feed("slow", [("s", "/s.html")]), "utf-8")


def one_run(sweep: float, slow: float) -> tuple[float, float]:
    """(seconds to the alert, seconds of the crawl) for one fresh store."""
    with tempfile.TemporaryDirectory() as tmp:
        tmp_path = Path(tmp)
        outlets(tmp_path / "web", slow)
        (tmp_path / "alerts.yaml").write_text(
            "rules:\n  - name: raqqa\n    any: [الرقة]\n    recipients: [desk@example.org]\n",
            "utf-8")
        (tmp_path / "data").mkdir()
        with FixtureWeb(tmp_path / "web") as web, SMTPSink() as sink:
            sources = tmp_path / "sources.yaml"
            sources.write_text(web.substitute(textwrap.dedent("""\
                defaults: {allow_private: true, allowed_domains: [127.0.0.1]}
                sources:
                  - {id: quick, name: Quick, kind: feed, start_urls: ["http://quick.fixture/feed.xml"]}
                  - {id: slow, name: Slow, kind: feed, start_urls: ["http://slow.fixture/feed.xml"]}
                """)), "utf-8")
            config = write_config(tmp_path, sources=sources, alerts=tmp_path / "alerts.yaml",
                                  download_timeout=slow + 30, smtp_port=sink.port,
                                  alert_sweep_seconds=sweep)
            started = time.monotonic()
            proc = subprocess.Popen([sys.executable, "-m", "crawler.cli", "crawl",
                                     "--progress-interval", "0"], cwd=tmp_path,
                                    env=chavder_env(config), stdout=subprocess.DEVNULL,
                                    stderr=subprocess.DEVNULL)
            alert = None
            while proc.poll() is None or (alert is None and sink.messages):
                if alert is None and sink.messages:
                    alert = time.monotonic() - started
                time.sleep(0.02)
            crawl = time.monotonic() - started
            if alert is None and sink.messages:
                alert = crawl
            if alert is None:
                raise SystemExit("no alert arrived")
            return alert, crawl


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--slow", type=float, default=10.0, help="seconds the slow page takes")
    parser.add_argument("--runs", type=int, default=2)
    args = parser.parse_args()
    print(f"slow page {args.slow:g} s, {args.runs} runs each")
    for sweep in (1.0, 0.0):
        runs = [one_run(sweep, args.slow) for _ in range(args.runs)]
        alerts = [a for a, _ in runs]
        crawls = [c for _, c in runs]
        print(f"alert_sweep_seconds {sweep:g}: alert after {statistics.median(alerts):.1f} s "
              f"(min {min(alerts):.1f}, max {max(alerts):.1f}); crawl took "
              f"{statistics.median(crawls):.1f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
