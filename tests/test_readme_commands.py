"""Every command of the README's command table ("Using it") runs, as a user would type it, on
the demo store (``chavder demo --keep DIR``, then ``CHAVDER_CONFIG=DIR/chavder.yaml``).

The table is parsed, not copied: a row added to the README is run by this test. Optional parts
(``[--lang ar]``) are dropped, ``a|b`` alternatives give the first, placeholders (``ID``,
``ADDR`` …) get values from the demo store. Commands that serve forever or need a network or a
server are run with ``--help`` instead (:data:`HELP_ONLY`, each with its reason): that still
checks the command exists. A placeholder this test does not know fails it, naming the word.
"""
from __future__ import annotations

import os
import re
import shlex
import sqlite3
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from crawler.sampleweb import default_root

REPO = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent

#: command prefix → why it runs with --help only
HELP_ONLY = {
    "chavder run": "the service runs until stopped",
    "chavder web": "a web server runs until stopped",
    "chavder worker": "a crawl worker runs until stopped (and needs Redis)",
    "chavder es": "needs an Elasticsearch server",
    "chavder kibana": "needs Kibana",
    "chavder crawl": "fetches the outlets: the demo's sample web is gone once the demo ends, "
                     "and the README's source ids are real outlets (network)",
    "chavder sources doctor": "fetches the source (network)",
    "scrapy crawl": "crawls a real outlet (network)",
}


def table_commands(readme: str) -> list[str]:
    """The commands in the "Using it" table: each code span of its second column that starts
    with ``chavder``/``scrapy`` or pipes into ``chavder``."""
    section = readme.split("\n## Using it", 1)[1].split("\n## ", 1)[0]
    commands = []
    for line in section.splitlines():
        if not line.startswith("|") or line.startswith("|---"):
            continue
        cells = re.split(r"(?<!\\)\|", line)
        if len(cells) < 3 or cells[1].strip() == "task":
            continue
        for span in re.findall(r"`([^`]+)`", cells[2]):
            span = span.strip()
            if re.match(r"(chavder|scrapy)( |$)", span) or "\\| chavder" in span:
                commands.append(span)
    return commands


def runnable(command: str, values: dict[str, str]) -> str:
    """The shell line (run by bash) for a documented command."""
    text = command
    while re.search(r"\[[^\[\]]*\]", text):                 # optional parts, innermost first
        text = re.sub(r"\s*\[[^\[\]]*\]", "", text)
    text = re.sub(r"(\S)\\\|\S+", r"\1", text)             # jsonl\|csv → jsonl
    text = text.replace("\\|", "|")
    for prefix in sorted(HELP_ONLY, key=len, reverse=True):
        if text.startswith(prefix):
            path = []                       # the command's words, up to its arguments
            for word in text.split():
                if not re.fullmatch(r"[a-z][a-z0-9-]*", word):
                    break
                path.append(word)
            return shlex.join(path + ["--help"])
    for word, value in values.items():
        text = re.sub(rf"(?<![\w/-]){re.escape(word)}(?![\w-])", value, text)
    unknown = [w for w in re.findall(r"(?<![\w/-])[A-Z]{1,8}(?![\w-])", text)
               if w not in ("OR", "AND")]
    assert not unknown, f"{command!r}: no value for {unknown} — add it to the test's values"
    return text


@pytest.fixture(scope="module")
def demo_dir(tmp_path_factory):
    if not (default_root() / "sources.yaml").exists():
        pytest.fail("the bundled sample outlets are missing")
    keep = tmp_path_factory.mktemp("demo-kept")
    proc = subprocess.run([sys.executable, "-m", "crawler.cli", "demo", "--keep", str(keep)],
                          capture_output=True, text=True, timeout=300, cwd=keep,
                          env={**os.environ, "CHAVDER_CONFIG": str(keep / "none.yaml")})
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert f"chavder --config {keep / 'chavder.yaml'} search" in proc.stdout
    return keep


def test_every_command_of_the_readme_table_runs_on_the_demo_store(demo_dir, tmp_path):
    commands = list(dict.fromkeys(table_commands((REPO / "README.md").read_text(
        encoding="utf-8"))))
    assert len(commands) >= 20 and any(c.startswith("chavder demo") for c in commands)
    db = sqlite3.connect(demo_dir / "demo.db")
    try:
        story = db.execute("SELECT story_id FROM articles WHERE story_id = id "
                           "ORDER BY id LIMIT 1").fetchone()[0]
    finally:
        db.close()
    page = next((default_root() / "rok" / "2017" / "06").glob("*/index.html"))
    (tmp_path / "page.html").write_bytes(page.read_bytes())
    values = {"ID": str(story), "ADDR": "desk@example.org", "RULE": "raqqa", "NAME": "raqqa",
              "D": "2017-06-02", "FILE": str(tmp_path / "out.file"), "N": "5",
              "DIR": str(demo_dir), "PORT": "0", "LANG": "ar", "QUERY": "الرقة",
              "https://…": "https://rok.example/2017/06/a/", "…": "الرقة"}
    env = {**os.environ, "CHAVDER_CONFIG": str(demo_dir / "chavder.yaml"),
           "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}"}
    writers = ("chavder alerts run", "chavder alerts send", "chavder alerts retry",
               "chavder digest send")

    def run(group: list[str]) -> list[str]:
        failures = []
        for command in group:
            if command.startswith("chavder demo"):
                continue            # the fixture ran it (with --keep); test_demo.py without
            line = runnable(command, values)
            cwd = REPO if line.startswith("scrapy") else tmp_path   # Scrapy: in its project
            proc = subprocess.run(["bash", "-o", "pipefail", "-c", line], cwd=cwd, env=env,
                                  capture_output=True, text=True, timeout=120)
            if proc.returncode != 0 or "Traceback" in proc.stderr:
                failures.append(f"{command}\n  ran: {line}\n  exit {proc.returncode}\n"
                                f"  {proc.stderr.strip()[-800:]}")
            elif line.endswith("--help") and "usage" not in (proc.stdout + proc.stderr).lower():
                failures.append(f"{command}\n  ran: {line}\n  printed no usage")
        return failures

    # the commands that write the store one after the other; the rest four at a time
    chain = [c for c in commands if c.startswith(writers)]
    groups = [chain] + [[c] for c in commands if c not in chain]
    with ThreadPoolExecutor(max_workers=4) as pool:
        failures = [f for found in pool.map(run, groups) for f in found]
    assert not failures, "\n".join(failures)
