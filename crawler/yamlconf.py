"""YAML loading that remembers line numbers, so config errors can say ``file:line: problem — fix``."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml


class ConfigError(ValueError):
    """A configuration mistake; ``str()`` gives every problem as ``file:line: message``."""

    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__("\n".join(problems))


@dataclass
class Located:
    """A plain YAML value with the 1-based line it came from."""

    value: Any
    line: int


def _plain(node: yaml.Node) -> Any:
    """Convert a node tree to plain Python values, but keep mappings as {key: Located}."""
    if isinstance(node, yaml.MappingNode):
        out: dict[str, Located] = {}
        for key_node, value_node in node.value:
            key = str(key_node.value)
            if key in out:
                raise _DuplicateKey(key, key_node.start_mark.line + 1)
            out[key] = Located(_plain(value_node), key_node.start_mark.line + 1)
        return out
    if isinstance(node, yaml.SequenceNode):
        return [Located(_plain(item), item.start_mark.line + 1) for item in node.value]
    return yaml.SafeLoader.construct_object(_SCALAR_LOADER, node)  # type: ignore[arg-type]


class _DuplicateKey(Exception):
    def __init__(self, key: str, line: int):
        self.key, self.line = key, line


_SCALAR_LOADER = yaml.SafeLoader("")


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
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as exc:
        line = exc.problem_mark.line + 1 if exc.problem_mark else 0
        raise ConfigError([f"{path}:{line}: YAML syntax error: {exc.problem} — check indentation "
                           "and quoting on that line"]) from None
    if node is None:
        return None
    try:
        return _plain(node)
    except _DuplicateKey as exc:
        raise ConfigError([f"{path}:{exc.line}: key '{exc.key}' appears twice in the same "
                           "mapping — keep one"]) from None


def unwrap(value: Any) -> Any:
    """Strip Located wrappers recursively."""
    if isinstance(value, Located):
        return unwrap(value.value)
    if isinstance(value, dict):
        return {k: unwrap(v) for k, v in value.items()}
    if isinstance(value, list):
        return [unwrap(v) for v in value]
    return value
