"""`chavder demo`: a newcomer sees the whole pipeline with no network."""
from __future__ import annotations

import os
import subprocess
import sys

import pytest

from crawler.sampleweb import default_root

pytestmark = pytest.mark.skipif(not (default_root() / "sources.yaml").exists(),
                                reason="bundled sample outlets missing")


def test_demo_crawls_sample_outlets_and_finds_raqqa(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "crawler.cli", "demo", "--dir", str(tmp_path)],
                          capture_output=True, text=True, timeout=300,
                          env={**os.environ, "CHAVDER_CONFIG": str(tmp_path / "none.yaml")})
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = proc.stdout
    assert "TOTAL" in out and "search: الرقة" in out
    results = [ln for ln in out.splitlines() if ln[:1].isdigit() and ". [" in ln]
    assert results, out
    assert any("[rok/ar]" in ln for ln in results), out
    assert "«" in out  # highlighted snippet
    assert (tmp_path / "demo.db").exists()
    assert "Traceback" not in proc.stderr
