"""Regenerate ``chavder.ndjson`` (Kibana 8 saved objects) for the shipped example rules.

    .venv/bin/python deploy/kibana/generate.py            # rewrite chavder.ndjson
    .venv/bin/python deploy/kibana/generate.py --check    # exit 1 if the file is stale

The objects are built by ``crawler/kibana.py``; ``chavder kibana import`` builds them from the
configured alerts.yaml when it runs, so this file is only for importing by hand.
"""
from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from crawler.alerts.rules import load_rules  # noqa: E402
from crawler.kibana import render as render_rules  # noqa: E402

OUT = Path(__file__).resolve().parent / "chavder.ndjson"


def render() -> str:
    return render_rules(load_rules(ROOT / "alerts.yaml"))


def main(argv: list[str]) -> int:
    text = render()
    if "--check" in argv:
        if OUT.read_text(encoding="utf-8") != text:
            print(f"{OUT} is stale: run {Path(__file__).name} to regenerate", file=sys.stderr)
            return 1
        return 0
    OUT.write_text(text, encoding="utf-8")
    print(f"wrote {OUT} ({len(text.splitlines())} objects)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
