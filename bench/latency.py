"""Publication → alert e-mail latency with the real service.

    .venv/bin/python bench/latency.py [--articles 12] [--interval 5]

Runs `chavder run` as a subprocess against a loopback outlet polled every ``--interval``
seconds, publishes articles that match an alert rule at random moments, and measures the time
from publication to the message arriving at a real SMTP server (aiosmtpd). Goal: p95 ≤ poll
interval + 10 s.
"""
from __future__ import annotations

import argparse
import json
import os
import random
import signal
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from testsupport.fixtureweb import FixtureWeb  # noqa: E402
from testsupport.pages import article_page, rss_feed  # noqa: E402
from testsupport.smtp_sink import SMTPSink  # noqa: E402

WORDS = ("اشتباكات هجوم قصف نزوح تعزيزات حصار مفاوضات انفجار طائرات قرى مدينة ريف شمال شرق "
         "جنوب غرب مصادر مسؤول بيان قوات مقاتلين عائلات طريق نقطة").split()


def body(rng: random.Random, n: int) -> list[str]:
    return [f"أفادت مصادر بأن {rng.choice(WORDS)} في ريف الرقة " +
            " ".join(rng.choice(WORDS) for _ in range(40)) + f" ({n}-{k})." for k in range(3)]


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description="publication → alert latency")
    parser.add_argument("--articles", type=int, default=12)
    parser.add_argument("--interval", type=float, default=5.0)
    parser.add_argument("--json")
    args = parser.parse_args(argv)
    rng = random.Random(11)
    with tempfile.TemporaryDirectory(prefix="chavder-latency-") as tmp_name:
        tmp = Path(tmp_name)
        (tmp / "web" / "desk").mkdir(parents=True)
        (tmp / "web" / "desk" / "feed.xml").write_text(rss_feed("desk", []), "utf-8")
        web = FixtureWeb(tmp / "web").start()
        sink = SMTPSink().start()
        sources = tmp / "sources.yaml"
        sources.write_text(web.substitute(textwrap.dedent(f"""\
            sources:
              - {{id: desk, name: Desk, kind: feed, start_urls: ["http://desk.fixture/feed.xml"],
                 allow_private: true, allowed_domains: [127.0.0.1], interval: {args.interval}}}
            """)), "utf-8")
        (tmp / "alerts.yaml").write_text("rules:\n  - name: raqqa\n    any: [الرقة]\n"
                                         "    recipients: [desk@example.org]\n", "utf-8")
        config = tmp / "chavder.yaml"
        config.write_text(f"data_dir: {tmp}/data\nstore: sqlite:///{tmp}/data/c.db\n"
                          f"sources: {sources}\nalerts: {tmp}/alerts.yaml\nhealth_port: -1\n"
                          f"alert_dispatch_seconds: 1\nmail:\n  smtp_host: 127.0.0.1\n"
                          f"  smtp_port: {sink.port}\n  security: none\n", "utf-8")
        log = open(tmp / "service.log", "w")
        proc = subprocess.Popen([sys.executable, "-m", "crawler.cli", "run"], cwd=tmp,
                                env={**os.environ, "CHAVDER_CONFIG": str(config)},
                                stdout=log, stderr=subprocess.STDOUT)
        latencies: list[float] = []
        items: list[tuple[str, str]] = []
        try:
            time.sleep(args.interval + 2)
            for n in range(args.articles):
                time.sleep(rng.uniform(0.3, 1.5) * args.interval)
                path = f"/news/{n}.html"
                title = f"تطورات ميدانية في الرقة رقم {n}"
                web.publish("desk", path, article_page(title, body(rng, n), "111 0 شاركها",
                                                       "2017-06-01T10:00:00+03:00"))
                items.insert(0, (title, path))
                web.publish("desk", "/feed.xml", rss_feed("desk", items))
                published = time.monotonic()
                deadline = published + args.interval + 60
                while len(sink.messages) <= n and time.monotonic() < deadline:
                    time.sleep(0.05)
                if len(sink.messages) > n:
                    latencies.append(time.monotonic() - published)
                    print(f"article {n + 1}/{args.articles}: alert after "
                          f"{latencies[-1]:.2f} s", flush=True)
                else:
                    print(f"article {n + 1}: no alert within {deadline - published:.0f} s")
        finally:
            proc.send_signal(signal.SIGTERM)
            proc.wait(timeout=30)
            log.close()
            sink.stop()
            web.stop()
    result = {"interval_seconds": args.interval, "articles": args.articles,
              "delivered": len(latencies),
              "p50_seconds": round(statistics.median(latencies), 2) if latencies else None,
              "p95_seconds": round(percentile(latencies, 0.95), 2) if latencies else None,
              "max_seconds": round(max(latencies), 2) if latencies else None}
    print(f"publication → alert e-mail over {len(latencies)} articles (poll interval "
          f"{args.interval:g} s): p50 {result['p50_seconds']} s, p95 {result['p95_seconds']} s, "
          f"max {result['max_seconds']} s (goal p95 ≤ {args.interval + 10:g} s)")
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=2))
    return result


if __name__ == "__main__":
    main()
