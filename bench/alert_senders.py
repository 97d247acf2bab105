"""Concurrent alert senders: how many messages do N `chavder alerts send` at once deliver?

    .venv/bin/python bench/alert_senders.py [--stories 50] [--senders 4] [--delay 0.05]

A store holds N stored-but-unmatched stories that match a rule; ``--senders`` processes run
`chavder alerts send` at the same moment against one real SMTP server on 127.0.0.1 that takes
``--delay`` seconds per message (a slow relay keeps them overlapping). With atomic claims every
alert is delivered once (duplicates = 0) and the senders share the work.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.alert_crash import prepare  # noqa: E402
from crawler.store import open_store  # noqa: E402
from testsupport.smtp_sink import SMTPSink  # noqa: E402


def run(stories: int, senders: int, delay: float) -> dict:
    with tempfile.TemporaryDirectory(prefix="chavder-senders-") as name, \
            SMTPSink(delay=delay) as sink:
        tmp = Path(name)
        config = prepare(tmp, stories, sink.port)
        env = {**os.environ, "CHAVDER_CONFIG": str(config)}
        cmd = [sys.executable, "-m", "crawler.cli", "alerts", "send"]
        started = time.monotonic()
        procs = [subprocess.Popen(cmd, cwd=tmp, env=env, stdout=subprocess.PIPE,
                                  stderr=subprocess.DEVNULL, text=True) for _ in range(senders)]
        outputs = [p.communicate(timeout=600)[0] for p in procs]
        seconds = time.monotonic() - started
        per_id = Counter(str(m.message["Message-ID"]) for m in sink.messages)
        store = open_store(f"sqlite:///{tmp / 'c.db'}")
        states = store.alert_counts()
        store.close()
    shares = [int(o.split("alerts: ", 1)[1].split(" sent")[0]) if "alerts: " in o else -1
              for o in outputs]
    return {"stories": stories, "senders": senders, "smtp_delay": delay,
            "messages": sum(per_id.values()), "distinct": len(per_id),
            "duplicates": sum(n - 1 for n in per_id.values()), "ledger": states,
            "per_sender": shares, "seconds": round(seconds, 2)}


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description="concurrent `chavder alerts send`")
    parser.add_argument("--stories", type=int, default=50)
    parser.add_argument("--senders", type=int, default=4)
    parser.add_argument("--delay", type=float, default=0.05)
    parser.add_argument("--json")
    args = parser.parse_args(argv)
    result = run(args.stories, args.senders, args.delay)
    print(f"{result['senders']} concurrent senders, {result['stories']} alerts: "
          f"{result['messages']} messages ({result['duplicates']} duplicates), per sender "
          f"{result['per_sender']}, ledger {result['ledger']}, {result['seconds']} s")
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=2))
    return result


if __name__ == "__main__":
    main()
