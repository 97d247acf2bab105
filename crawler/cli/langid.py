"""``chavder langid``: the language of each line of stdin."""
from __future__ import annotations

import sys

import click


@click.command("langid", help="identify the language of each stdin line")
def cmd_langid() -> int:
    from crawler.text.langid import main_langid
    return int(main_langid(sys.stdin, sys.stdout))
