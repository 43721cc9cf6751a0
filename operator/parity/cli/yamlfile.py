"""Reading the YAML documents of a manifest file for the CLI, without surprises.

- `-` is standard input.
- Input is capped at MAX_INPUT_BYTES: a manifest is a few kilobytes, and the API server would
  refuse an object much above one megabyte anyway.
- A key repeated in one mapping is an error naming both lines (PyYAML would silently keep the
  last one, while `kubectl apply` refuses the file).
- Nesting deeper than MAX_DEPTH is an error naming the line, not a RecursionError traceback.

Every problem is a CliError whose message starts with the file's name.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import yaml
from yaml.constructor import ConstructorError
from yaml.nodes import MappingNode

from parity.cli.errors import CliError

STDIN = "-"
MAX_INPUT_BYTES = 1024 * 1024
# Our manifests nest about eight levels deep; the margin is wide, the recursion limit far away.
MAX_DEPTH = 64
_MERGE_TAG = "tag:yaml.org,2002:merge"


def display_name(path: str) -> str:
    return "<stdin>" if path == STDIN else path


class _NestingTooDeep(yaml.YAMLError):
    def __init__(self, mark):
        self.problem_mark = mark
        self.problem = f"nesting deeper than {MAX_DEPTH} levels"
        super().__init__(self.problem)


class StrictLoader(yaml.SafeLoader):
    """SafeLoader that refuses duplicate keys and deep nesting."""

    def __init__(self, stream):
        super().__init__(stream)
        self._depth = 0

    def compose_node(self, parent, index):
        self._depth += 1
        try:
            if self._depth > MAX_DEPTH:
                raise _NestingTooDeep(self.peek_event().start_mark)
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1

    def construct_mapping(self, node: MappingNode, deep: bool = False):
        seen: dict[Any, Any] = {}
        for key_node, _ in node.value:
            if key_node.tag == _MERGE_TAG:
                continue  # `<<: *defaults` may be overridden by the keys beside it
            key = self.construct_object(key_node, deep=True)
            try:
                first = seen.get(key)
            except TypeError:
                continue  # an unhashable key: SafeConstructor reports it
            if first is not None:
                raise ConstructorError(
                    "while constructing a mapping", node.start_mark,
                    f"duplicate key {key!r} (first at line {first.line + 1})", key_node.start_mark)
            seen[key] = key_node.start_mark
        return super().construct_mapping(node, deep=deep)


def read_text(path: str) -> str:
    """The file's (or stdin's) text, refusing more than MAX_INPUT_BYTES and non-UTF-8."""
    name = display_name(path)
    try:
        if path == STDIN:
            data = sys.stdin.buffer.read(MAX_INPUT_BYTES + 1)
        else:
            with Path(path).open("rb") as handle:
                data = handle.read(MAX_INPUT_BYTES + 1)
    except FileNotFoundError:
        raise CliError(f"{name}: no such file") from None
    except IsADirectoryError:
        raise CliError(f"{name}: is a directory, not a YAML file") from None
    except OSError as err:
        raise CliError(f"{name}: cannot read: {err.strerror or err}") from None
    if len(data) > MAX_INPUT_BYTES:
        raise CliError(f"{name}: larger than {MAX_INPUT_BYTES // 1024} KiB; a manifest is a few kilobytes")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as err:
        raise CliError(f"{name}: not UTF-8 text (byte {err.start})") from None


def load_documents(path: str) -> list[Any]:
    """The non-empty YAML documents of a file (or stdin)."""
    text = read_text(path)
    name = display_name(path)
    try:
        return [d for d in yaml.load_all(text, Loader=StrictLoader) if d is not None]
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark is not None else ""
        problem = getattr(err, "problem", None) or str(err)
        what = "YAML error" if isinstance(err, (ConstructorError, _NestingTooDeep)) else "YAML syntax error"
        raise CliError(f"{name}: {where}{what}: {problem}") from None
    except RecursionError:
        # Not reachable through the depth limit above; kept so no input ever shows a traceback.
        raise CliError(f"{name}: YAML error: nesting too deep") from None
