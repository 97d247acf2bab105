"""Alert delivery under kill -9: count duplicates and losses.

    .venv/bin/python bench/alert_crash.py [--stories 150] [--kills 20]

A store holds N stored-but-unmatched stories that match a rule. `chavder alerts send` (match
sweep + delivery to a real SMTP server on 127.0.0.1) is started and killed with SIGKILL at a
random moment, again and again, then run once to completion. Every story must reach the SMTP
server at least once (losses = 0); a story delivered twice is a duplicate — possible only when a
kill lands between the server accepting a message and the ledger marking it sent.
"""
from __future__ import annotations

import argparse
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from crawler.models import Article  # noqa: E402
from crawler.store import open_store  # noqa: E402
from testsupport.smtp_sink import SMTPSink  # noqa: E402


def prepare(tmp: Path, stories: int, smtp_port: int) -> Path:
    store = open_store(f"sqlite:///{tmp / 'c.db'}")
    for n in range(stories):
        body = f"اشتباكات في ريف الرقة اليوم، الخبر رقم {n} " + " ".join(
            f"كلمة{n}x{k}" for k in range(30))
        store.upsert(Article(source="wire", url=f"https://wire.example/{n}",
                             canonical_url=f"https://wire.example/{n}",
                             title=f"الرقة: تطورات رقم {n}", body=body, language="ar",
                             content_hash=f"h{n}"), f"wire.example/{n}")
    store.close()
    (tmp / "alerts.yaml").write_text("rules:\n  - name: raqqa\n    any: [الرقة]\n"
                                     "    recipients: [desk@example.org]\n", "utf-8")
    (tmp / "sources.yaml").write_text(
        "sources:\n  - {id: wire, kind: feed, start_urls: ['https://wire.example/feed']}\n",
        "utf-8")
    config = tmp / "chavder.yaml"
    config.write_text(f"data_dir: {tmp}\nstore: sqlite:///{tmp / 'c.db'}\n"
                      f"sources: {tmp / 'sources.yaml'}\nalerts: {tmp / 'alerts.yaml'}\n"
                      f"alert_retry_seconds: 0\nmail:\n  smtp_host: 127.0.0.1\n"
                      f"  smtp_port: {smtp_port}\n  security: none\n", "utf-8")
    return config


def run(stories: int, kills: int, seed: int = 1, quiet: bool = False) -> dict:
    rng = random.Random(seed)
    with tempfile.TemporaryDirectory(prefix="chavder-crash-") as name, SMTPSink() as sink:
        tmp = Path(name)
        config = prepare(tmp, stories, sink.port)
        env = {**os.environ, "CHAVDER_CONFIG": str(config)}
        cmd = [sys.executable, "-m", "crawler.cli", "alerts", "send"]
        landed = 0
        for k in range(kills):
            before = len(sink.messages)
            proc = subprocess.Popen(cmd, cwd=tmp, env=env, stdout=subprocess.DEVNULL,
                                    stderr=subprocess.DEVNULL)
            # wait until delivery is under way, then kill at a random point within it
            deadline = time.monotonic() + 20
            while len(sink.messages) == before and proc.poll() is None \
                    and time.monotonic() < deadline:
                time.sleep(0.005)
            time.sleep(rng.uniform(0.0, 0.15))
            if proc.poll() is None:
                proc.send_signal(signal.SIGKILL)
                landed += 1
            proc.wait()
            if not quiet:
                print(f"kill {k + 1}/{kills}: {len(sink.messages)} messages so far", flush=True)
        final = subprocess.run(cmd, cwd=tmp, env=env, capture_output=True, text=True,
                               timeout=300)
        per_story = Counter(m.subject for m in sink.messages)
        store = open_store(f"sqlite:///{tmp / 'c.db'}")
        states = store.alert_counts()
        integrity = store.integrity_check()
        store.close()
    duplicates = sum(c - 1 for c in per_story.values() if c > 1)
    losses = stories - len(per_story)
    result = {"stories": stories, "kills_attempted": kills, "kills_landed": landed,
              "messages": sum(per_story.values()), "duplicates": duplicates,
              "losses": losses, "ledger": states, "integrity": integrity,
              "final_exit": final.returncode}
    if not quiet:
        print(f"{stories} stories, {landed} kill -9 during delivery: {losses} lost, "
              f"{duplicates} duplicated ({result['messages']} messages), ledger {states}, "
              f"integrity {integrity}")
    return result


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description="alert delivery under kill -9")
    parser.add_argument("--stories", type=int, default=150)
    parser.add_argument("--kills", type=int, default=20)
    parser.add_argument("--json")
    args = parser.parse_args(argv)
    result = run(args.stories, args.kills)
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=2))
    return result


if __name__ == "__main__":
    main()
