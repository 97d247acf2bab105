"""YAML loading that remembers line numbers, so config errors can say ``file:line: problem — fix``.

Values are built straight from the parser's event stream (libyaml when installed), without
PyYAML's node tree: a 17,940-rule alerts.yaml loads in about a second instead of half a minute.
Building from events also bounds what an alias may cost. An alias is shared, not copied, but
every later walk of the tree (defaults merged, ``unwrap``) expands it, so nine levels of nine
aliases are 387 million nodes to whoever reads them; a recursive alias never ends. Aliases may
therefore add at most :data:`MAX_ALIAS_NODES` nodes, the whole document (aliases expanded) at
most :data:`MAX_NODES`, and nesting may be at most :data:`MAX_DEPTH` deep; past that the file
is refused with the line of the offending alias or collection.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

#: Nodes a document may reach through aliases (each alias counts its target's full size).
#: Real configuration files use a handful of small anchors (shared defaults, recipient lists).
MAX_ALIAS_NODES = 100_000
#: Nodes in a whole document, aliases expanded: ~20 per alert rule, so this is ~100,000 rules.
MAX_NODES = 2_000_000
#: Nesting depth of mappings and sequences (Chavder's own files need fewer than 8).
MAX_DEPTH = 64

_PARSER = getattr(yaml, "CSafeLoader", None) or yaml.SafeLoader
_STR = "tag:yaml.org,2002:str"


class ConfigError(ValueError):
    """A configuration mistake; ``str()`` gives every problem as ``file:line: message``."""

    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__("\n".join(problems))


@dataclass(slots=True)
class Located:
    """A plain YAML value with the 1-based line it came from."""

    value: Any
    line: int


class _DuplicateKey(Exception):
    def __init__(self, key: str, line: int):
        self.key, self.line = key, line


class _TooBig(Exception):
    def __init__(self, line: int, message: str):
        self.line, self.message = line, message


class _ScalarBuilder(yaml.SafeLoader):
    """Only its resolver and scalar constructors are used (int, float, bool, null, dates)."""

    def __init__(self) -> None:
        super().__init__("")

    def value(self, event: yaml.ScalarEvent) -> Any:
        tag = event.tag
        if tag is None or tag == "!":
            tag = self.resolve(yaml.ScalarNode, event.value, event.implicit)
        if tag == _STR:
            return event.value
        node = yaml.ScalarNode(tag, event.value, event.start_mark, event.end_mark, event.style)
        constructor = self.yaml_constructors.get(tag) or self.yaml_constructors[None]
        return constructor(self, node)


_SCALARS = _ScalarBuilder()


class _Frame:
    """A mapping or sequence being built: its value, where it started and its node count."""

    __slots__ = ("value", "line", "anchor", "size", "key", "key_line")

    def __init__(self, value: Any, line: int, anchor: str | None):
        self.value, self.line, self.anchor = value, line, anchor
        self.size = 1
        self.key: str | None = None
        self.key_line = 0


def _build(text: str) -> Any:
    """Located values from the event stream; bounded in alias expansion, size and depth."""
    anchors: dict[str, tuple[Any, int]] = {}     # anchor → (value, node count)
    open_anchors: set[str] = set()               # collections still being built
    stack: list[_Frame] = []
    total = alias_nodes = 0
    documents = 0
    result: Any = None

    def add(value: Any, size: int, line: int) -> None:
        nonlocal result
        if not stack:
            result = value
            return
        frame = stack[-1]
        frame.size += size
        if isinstance(frame.value, list):
            frame.value.append(Located(value, line))
        elif frame.key is None:
            key = str(unwrap(value) if isinstance(value, (dict, list)) else value)
            if key in frame.value:
                raise _DuplicateKey(key, line)
            frame.key, frame.key_line = key, line
        else:
            frame.value[frame.key] = Located(value, frame.key_line)
            frame.key = None

    for event in yaml.parse(text, Loader=_PARSER):
        line = event.start_mark.line + 1 if event.start_mark else 0
        if isinstance(event, yaml.ScalarEvent):
            total += 1
            # A mapping key is kept as written (``yes:`` is the key 'yes', not True).
            is_key = bool(stack) and isinstance(stack[-1].value, dict) and stack[-1].key is None
            value = event.value if is_key else _SCALARS.value(event)
            if event.anchor:
                anchors[event.anchor] = (value, 1)
            add(value, 1, line)
        elif isinstance(event, (yaml.MappingStartEvent, yaml.SequenceStartEvent)):
            total += 1
            if len(stack) >= MAX_DEPTH:
                raise _TooBig(line, f"nested more than {MAX_DEPTH} levels deep — flatten it")
            frame = _Frame({} if isinstance(event, yaml.MappingStartEvent) else [], line,
                           event.anchor)
            if event.anchor:
                open_anchors.add(event.anchor)
            stack.append(frame)
        elif isinstance(event, (yaml.MappingEndEvent, yaml.SequenceEndEvent)):
            frame = stack.pop()
            if frame.anchor:
                open_anchors.discard(frame.anchor)
                anchors[frame.anchor] = (frame.value, frame.size)
            add(frame.value, frame.size, frame.line)
        elif isinstance(event, yaml.AliasEvent):
            name = event.anchor
            if name in open_anchors:
                raise _TooBig(line, f"alias *{name} refers to a node that contains it (a "
                                    "recursive alias) — write the value out instead")
            if name not in anchors:
                raise _TooBig(line, f"alias *{name} has no anchor &{name} before it — define "
                                    "the anchor first")
            value, size = anchors[name]
            alias_nodes += size
            total += size
            if alias_nodes > MAX_ALIAS_NODES:
                raise _TooBig(line, f"aliases expand to more than {MAX_ALIAS_NODES:,} nodes (an "
                                    "alias bomb?) — write the values out instead of nesting "
                                    "aliases")
            add(value, size, line)
        elif isinstance(event, yaml.DocumentStartEvent):
            documents += 1
            if documents > 1:
                raise _TooBig(line, "a second YAML document ('---') — keep one document per "
                                    "file")
        if total > MAX_NODES:
            raise _TooBig(line, f"more than {MAX_NODES:,} values — split the file")
    return result


def load_located(path: str | Path, text: str | None = None) -> Any:
    """Parse a YAML file into Located-annotated values; syntax errors become ConfigError."""
    path = Path(path)
    if text is None:
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            raise ConfigError([f"{path}: file not found — create it or pass the right path"]) from None
        except UnicodeDecodeError as exc:
            raise ConfigError([f"{path}: not UTF-8 ({exc.reason}) — save the file as UTF-8"]) from None
    try:
        return _build(text)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else 0
        raise ConfigError([f"{path}:{line}: YAML syntax error: {exc.problem} — check indentation "
                           "and quoting on that line"]) from None
    except yaml.YAMLError as exc:
        raise ConfigError([f"{path}: YAML error: {exc} — check the file"]) from None
    except _DuplicateKey as exc:
        raise ConfigError([f"{path}:{exc.line}: key '{exc.key}' appears twice in the same "
                           "mapping — keep one"]) from None
    except _TooBig as exc:
        raise ConfigError([f"{path}:{exc.line}: {exc.message}"]) from None


def unwrap(value: Any) -> Any:
    """Strip Located wrappers recursively."""
    if isinstance(value, Located):
        return unwrap(value.value)
    if isinstance(value, dict):
        return {k: unwrap(v) for k, v in value.items()}
    if isinstance(value, list):
        return [unwrap(v) for v in value]
    return value
