"""``chavder run`` and ``chavder status``: the service's own commands, defined with the service
(``scheduler/commands.py``) and named here by module path, as Scrapy settings name components.

The service package is built on this one (it imports the application, the crawl driver, the
store); were the command line to import it back, ``crawler`` and ``scheduler`` would import
each other. So the ``chavder`` group holds a :class:`NamedCommand` for each, and loads the real
command when it is listed or run (``_Commands.get_command`` in ``crawler/cli/__init__.py``):
``chavder --help`` and ``chavder status`` still import neither Scrapy nor Twisted.
"""
from __future__ import annotations

import sys

import click


def _delegated(attribute: str) -> property:
    """An attribute read from the real command (``click.Command.__init__``'s own assignment of
    it is ignored)."""
    return property(lambda self: getattr(self.load(), attribute), lambda self, value: None)


class NamedCommand(click.Command):
    """A command that lives in another package: ``target`` is ``"module:attribute"``. Its
    help, options and callback are the real command's, so it also works where it is used
    directly (``cli.commands["run"]``), not only through the group."""

    help = _delegated("help")
    short_help = _delegated("short_help")
    epilog = _delegated("epilog")
    params = _delegated("params")
    callback = _delegated("callback")

    def __init__(self, name: str, target: str):
        super().__init__(name)
        self.target = target

    def load(self) -> click.Command:
        module, _, attribute = self.target.partition(":")
        __import__(module)      # the import statement's path: ``-X importtime`` reports it
        command = getattr(sys.modules[module], attribute)
        if not isinstance(command, click.Command) or command.name != self.name:
            raise TypeError(f"{self.target} is not the click command {self.name!r}")
        return command


cmd_run = NamedCommand("run", "scheduler.commands:cmd_run")
cmd_status = NamedCommand("status", "scheduler.commands:cmd_status")
