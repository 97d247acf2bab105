"""`chavder demo`: a newcomer sees the whole pipeline with no network — and what it says is true:
the outlet count is its table's, a syndicated story shows "also reported by", results read as
`chavder search` prints them, and its temporary folder is gone afterwards (``--keep DIR`` keeps
the store: tests/test_readme_commands.py runs the README's commands on it)."""
from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from crawler.sampleweb import default_root

pytestmark = pytest.mark.skipif(not (default_root() / "sources.yaml").exists(),
                                reason="bundled sample outlets missing")


def test_demo_crawls_sample_outlets_and_finds_raqqa(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "crawler.cli", "demo"], cwd=tmp_path,
                          capture_output=True, text=True, timeout=300,
                          env={**os.environ, "CHAVDER_CONFIG": str(tmp_path / "none.yaml"),
                               "TMPDIR": str(tmp_path)})
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = proc.stdout
    assert "Traceback" not in proc.stderr
    served = re.search(r"^demo: serving (\d+) sample outlets", out, re.M)
    lines = out.splitlines()
    first = next(n for n, line in enumerate(lines) if line.startswith("-----")) + 1
    table = lines[first:next(n for n, line in enumerate(lines) if line.startswith("TOTAL"))]
    assert served and int(served.group(1)) == len(table) == 5, out
    assert "search: الرقة" in out
    results = re.findall(r"^\d+\. (.+)\n   (\S+) · ", out, re.M)
    assert ("روسيا: طيراننا سيضرب عناصر داعش إن حاولوا مغادرة الرقة", "rok") in results, out
    assert "   also reported by: wire" in out            # the wire outlet's copy, one story
    # formatted as `chavder search` prints to a pipe: plain text, no «» added around hits
    assert "مدينة الرقة نحو الجنوب" in out and "«الرقة»" not in out, out
    # the temporary folder is removed, and the demo says so
    gone = re.search(r"^demo: removed its temporary folder (\S+);", out, re.M)
    assert gone and not Path(gone.group(1)).exists(), out
    assert Path(gone.group(1)).parent == tmp_path and not list(tmp_path.glob("chavder-demo-*"))
