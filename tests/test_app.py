"""The application object (crawler/app.py) and how a plain ``scrapy crawl`` finds its config."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from crawler.store import open_store

REPO = Path(__file__).resolve().parent.parent


def test_importing_the_app_loads_neither_scrapy_nor_twisted():
    """Commands that never crawl (--help, search, status) build the app: it must stay cheap."""
    code = ("import sys, crawler.app\n"
            "print(sorted(m for m in sys.modules if m.split('.')[0] in ('scrapy', 'twisted')))")
    proc = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True,
                          text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "[]"


def _scrapy_crawl(cwd: Path, *args: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if k != "CHAVDER_CONFIG"}
    return subprocess.run([sys.executable, "-m", "scrapy", "crawl", "feed", "-a", "source=rok",
                           "-s", "LOG_LEVEL=INFO", *args], cwd=cwd, capture_output=True,
                          text=True, timeout=120,
                          env={**clean, "PYTHONPATH": str(REPO), **env})


def _stored(store_url: str, source: str) -> int:
    store = open_store(store_url)
    try:
        return store.count_articles(source)
    finally:
        store.close()


def test_scrapy_crawl_reads_the_config_named_by_the_chavder_config_setting(chavder):
    """``-s CHAVDER_CONFIG=PATH``: that file's store and sources, whatever the directory."""
    config = chavder.root / "conf" / "custom.yaml"
    config.parent.mkdir()
    config.write_text(chavder.config.read_text(encoding="utf-8"), encoding="utf-8")
    chavder.config.unlink()          # nothing to find by accident in the working directory
    work = chavder.root / "elsewhere"
    work.mkdir()
    proc = _scrapy_crawl(work, "-s", f"CHAVDER_CONFIG={config}",
                         env={"SCRAPY_SETTINGS_MODULE": "crawler.settings"})
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert _stored(chavder.store_url, "rok") > 0, proc.stderr[-3000:]


def test_scrapy_crawl_finds_chavder_yaml_next_to_scrapy_cfg(chavder):
    """Without CHAVDER_CONFIG, ``chavder.yaml`` next to the project's scrapy.cfg is read, also
    when ``scrapy crawl`` runs from a sub-directory (not the current directory's file)."""
    project = chavder.root
    (project / "scrapy.cfg").write_text("[settings]\ndefault = crawler.settings\n",
                                        encoding="utf-8")
    sub = project / "sub" / "dir"
    sub.mkdir(parents=True)
    proc = _scrapy_crawl(sub, env={})
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert _stored(chavder.store_url, "rok") > 0, proc.stderr[-3000:]
    assert not (sub / "data").exists()   # not the built-in default store under the cwd
