"""Finding paths: segments, their one text form, and the pattern syntax of rules and ignore lists.

A path is a dotted list of segments. Map keys are bare (`postgres.parameters.max_connections`)
unless they contain a character that would make the text ambiguous (`.`, `[`, `]`, `"`,
whitespace) or look like a wildcard; those are written as a JSON string in brackets:
`postgres.parameters["pg_stat_statements.max"]`. List items are written in brackets after
their list: `containers[name=etcd]` (keyed item, several keys joined by `,`), `finalizers[=foo]`
(set element) and `args[0]` (position).

Patterns use the same text plus two wildcards: `*` matches exactly one segment (a key or a
list item) and `**` matches zero or more segments. A run of bare pattern segments also
matches one key that contains dots (`postgres.parameters.pg_stat_statements.max` matches the
key `pg_stat_statements.max`), because a baseline rule's path cannot contain brackets or
quotes; for the same reason a bare pattern segment matches a keyed list item whose single key
has that value (`containers.etcd` matches `containers[name=etcd]`).

Nothing here raises on malformed text: an unterminated bracket is read as a plain key.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Iterable, Union

_BARE_KEY = re.compile(r"^[^.\[\]\"\s]+$")
_BARE_VALUE = re.compile(r"^[A-Za-z0-9_./:@+-]+$")


@dataclass(frozen=True)
class Key:
    """A map key or struct field."""

    name: str


@dataclass(frozen=True)
class Item:
    """A list element picked by its key fields, e.g. a container by name."""

    keys: tuple[tuple[str, Any], ...]

    @property
    def text(self) -> str:
        return ",".join(f"{k}={_render_value(v)}" for k, v in self.keys)


@dataclass(frozen=True)
class Element:
    """A member of a set-like list, picked by its value."""

    value: Any


@dataclass(frozen=True)
class Index:
    """A list element picked by position."""

    position: int


Segment = Union[Key, Item, Element, Index]


class _Wildcard:
    def __init__(self, text: str):
        self.text = text

    def __repr__(self) -> str:
        return self.text


STAR = _Wildcard("*")
GLOBSTAR = _Wildcard("**")


def _render_value(value: Any) -> str:
    if isinstance(value, str) and _BARE_VALUE.match(value) and not _looks_like_json_scalar(value):
        return value
    try:
        return json.dumps(value, separators=(",", ":"), sort_keys=True)
    except (TypeError, ValueError):
        return json.dumps(str(value))


def _looks_like_json_scalar(text: str) -> bool:
    # A bare value is read back with json.loads, so strings like "5432" or "true" must be quoted
    # to keep their type.
    try:
        json.loads(text)
    except ValueError:
        return False
    return True


def _render_key(name: str) -> str:
    if name and _BARE_KEY.match(name) and name not in ("*", "**"):
        return name
    return json.dumps(name)


def render_path(segments: Iterable[Segment]) -> str:
    """The one text form of a path; `parse_path(render_path(s)) == s`."""
    out: list[str] = []
    for seg in segments:
        if isinstance(seg, Key):
            key = _render_key(seg.name)
            if key.startswith('"'):
                out.append(f"[{key}]")
            else:
                out.append(f".{key}" if out else key)
        elif isinstance(seg, Item):
            out.append(f"[{seg.text}]")
        elif isinstance(seg, Element):
            out.append(f"[={_render_value(seg.value)}]")
        elif isinstance(seg, Index):
            out.append(f"[{seg.position}]")
    return "".join(out)


def join_path(*parts: str | Segment) -> str:
    """Render a path from plain key names and segments."""
    return render_path(Key(p) if isinstance(p, str) else p for p in parts)


def _find_close(text: str, start: int) -> int:
    """Index of the `]` closing the bracket opened before `start`, honouring JSON strings."""
    in_string = False
    escaped = False
    for i in range(start, len(text)):
        c = text[i]
        if in_string:
            if escaped:
                escaped = False
            elif c == "\\":
                escaped = True
            elif c == '"':
                in_string = False
        elif c == '"':
            in_string = True
        elif c == "]":
            return i
    return -1


def _split_selector(inner: str) -> list[str]:
    parts, current, in_string, escaped = [], [], False, False
    for c in inner:
        if in_string:
            current.append(c)
            if escaped:
                escaped = False
            elif c == "\\":
                escaped = True
            elif c == '"':
                in_string = False
        elif c == '"':
            in_string = True
            current.append(c)
        elif c == ",":
            parts.append("".join(current))
            current = []
        else:
            current.append(c)
    parts.append("".join(current))
    return parts


def _parse_value(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        return text


def _parse_bracket(inner: str) -> Segment:
    if inner.startswith('"'):
        value = _parse_value(inner)
        return Key(value if isinstance(value, str) else inner)
    if inner.startswith("="):
        return Element(_parse_value(inner[1:]))
    if inner.isdigit():
        return Index(int(inner))
    if "=" in inner:
        keys = []
        for part in _split_selector(inner):
            name, sep, value = part.partition("=")
            if not sep:
                return Key(inner)
            keys.append((name, _parse_value(value)))
        return Item(tuple(keys))
    return Key(inner)


def _tokens(text: str) -> list[tuple[Segment, bool]]:
    """Segments with a flag telling whether each was written bare (wildcards are only bare)."""
    if "[" not in text:
        # Only bare keys between dots (most paths): what the scan below would find, at a fraction
        # of its cost for a path seen for the first time.
        return [(Key(part), True) for part in text.split(".") if part]
    out: list[tuple[Segment, bool]] = []
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if c == ".":
            i += 1
            continue
        if c == "[":
            close = _find_close(text, i + 1)
            if close < 0:
                out.append((Key(text[i:]), False))
                break
            out.append((_parse_bracket(text[i + 1:close]), False))
            i = close + 1
            continue
        j = i
        while j < n and text[j] not in ".[":
            j += 1
        out.append((Key(text[i:j]), True))
        i = j
    return out


@lru_cache(maxsize=8192)
def parse_path(text: str) -> tuple[Segment, ...]:
    """Segments of a path written by `render_path` (or by hand, dotted keys unquoted)."""
    if not isinstance(text, str):
        return ()
    return tuple(seg for seg, _bare in _tokens(text))


Token = Union[Segment, _Wildcard]


@lru_cache(maxsize=4096)
def parse_pattern(text: str) -> tuple[Token, ...]:
    if not isinstance(text, str):
        return ()
    tokens: list[Token] = []
    for seg, bare in _tokens(text):
        if bare and isinstance(seg, Key) and seg.name == "*":
            tokens.append(STAR)
        elif bare and isinstance(seg, Key) and seg.name == "**":
            if not tokens or tokens[-1] is not GLOBSTAR:
                tokens.append(GLOBSTAR)
        else:
            tokens.append(seg)
    return tuple(tokens)


def _same(token: Token, seg: Segment) -> bool:
    if token == seg:
        return True
    if isinstance(token, Item) and isinstance(seg, Item):
        return token.text == seg.text
    if isinstance(token, Key) and isinstance(seg, Item):
        return len(seg.keys) == 1 and _render_value(seg.keys[0][1]) == token.name
    if isinstance(token, Key) and isinstance(seg, Element):
        return _render_value(seg.value) == token.name
    return False


def match_segments(pattern: tuple[Token, ...], segments: tuple[Segment, ...]) -> bool:
    memo: dict[tuple[int, int], bool] = {}

    def at(i: int, j: int) -> bool:
        key = (i, j)
        if key in memo:
            return memo[key]
        memo[key] = result = _at(i, j)
        return result

    def _at(i: int, j: int) -> bool:
        if i == len(pattern):
            return j == len(segments)
        token = pattern[i]
        if token is GLOBSTAR:
            return any(at(i + 1, k) for k in range(j, len(segments) + 1))
        if j == len(segments):
            return False
        if token is STAR:
            return at(i + 1, j + 1)
        seg = segments[j]
        if _same(token, seg) and at(i + 1, j + 1):
            return True
        # A run of bare pattern keys may spell one dotted key.
        if isinstance(token, Key) and isinstance(seg, Key) and "." in seg.name:
            joined, k = token.name, i
            while len(joined) < len(seg.name) and k + 1 < len(pattern) and isinstance(pattern[k + 1], Key):
                k += 1
                joined = f"{joined}.{pattern[k].name}"
                if joined == seg.name and at(k + 1, j + 1):
                    return True
        return False

    return at(0, 0)


def match_path(pattern: str, path: str) -> bool:
    """Whether a rule or ignore pattern matches a finding path. Never raises."""
    try:
        return match_segments(parse_pattern(pattern), parse_path(path))
    except Exception:  # noqa: BLE001 - a garbage pattern matches nothing rather than failing a reconcile
        return False


# A pattern of keys and wildcards only, as the key names it spells: None for `*`, split at each
# `**` into chunks that each match a fixed number of segments. Patterns with list items,
# set elements or positions have none (they go through match_segments).
KeyGlob = tuple[tuple[Union[str, None], ...], ...]


def key_glob(pattern: tuple[Token, ...]) -> KeyGlob | None:
    chunks: list[tuple[str | None, ...]] = []
    chunk: list[str | None] = []
    for token in pattern:
        if token is GLOBSTAR:
            chunks.append(tuple(chunk))
            chunk = []
        elif token is STAR:
            chunk.append(None)
        elif isinstance(token, Key):
            chunk.append(token.name)
        else:
            return None
    chunks.append(tuple(chunk))
    return tuple(chunks)


def plain_names(segments: tuple[Segment, ...]) -> tuple[str, ...] | None:
    """The key names of a path made only of keys without dots, else None.

    On such a path `match_segments` reduces to a glob over names: a key matches only an equal
    key, no run of pattern keys can spell a segment, and no item or element is there to match."""
    names = []
    for seg in segments:
        if type(seg) is not Key or "." in seg.name:
            return None
        names.append(seg.name)
    return tuple(names)


def _chunk_at(chunk: tuple[str | None, ...], names: tuple[str, ...], start: int) -> bool:
    for offset, name in enumerate(chunk):
        if name is not None and name != names[start + offset]:
            return False
    return True


def match_key_glob(glob: KeyGlob, names: tuple[str, ...]) -> bool:
    """match_segments for a key glob on a plain path (see plain_names).

    Each chunk spans a fixed number of segments, so taking the leftmost place for each middle
    chunk never rules out a match that a later place would allow."""
    first, last = glob[0], glob[-1]
    if len(glob) == 1:
        return len(first) == len(names) and _chunk_at(first, names, 0)
    end = len(names) - len(last)
    if end < len(first) or not _chunk_at(first, names, 0) or not _chunk_at(last, names, end):
        return False
    position = len(first)
    for chunk in glob[1:-1]:
        for start in range(position, end - len(chunk) + 1):
            if _chunk_at(chunk, names, start):
                position = start + len(chunk)
                break
        else:
            return False
    return True


class PatternList:
    """Patterns compiled once, for asking which is the first to match a path (the first rule
    wins) many times over. Answers exactly as match_path would, pattern by pattern.

    A pattern that starts with a key can only match a path whose first segment is that key,
    when that segment is a key without dots; so for such paths only the patterns led by it and
    those led by anything else (wildcards, items) are tried."""

    def __init__(self, patterns: tuple[Any, ...]):
        self.compiled: list[tuple[tuple[Token, ...], KeyGlob | None] | None] = []
        by_first_key: dict[str, list[int]] = {}
        not_key_led: list[int] = []
        for position, text in enumerate(patterns):
            try:
                tokens = parse_pattern(text)
            except Exception:  # noqa: BLE001 - a garbage pattern matches nothing (see match_path)
                self.compiled.append(None)
                continue
            self.compiled.append((tokens, key_glob(tokens)))
            if tokens and isinstance(tokens[0], Key):
                by_first_key.setdefault(tokens[0].name, []).append(position)
            else:
                not_key_led.append(position)
        self.everything = tuple(range(len(self.compiled)))
        self.not_key_led = tuple(not_key_led)
        self.candidates_by_first_key = {
            name: tuple(sorted(positions + not_key_led)) for name, positions in by_first_key.items()
        }

    def candidates(self, segments: tuple[Segment, ...]) -> tuple[int, ...]:
        """Positions of the patterns that may match, in order."""
        if segments and type(segments[0]) is Key and "." not in segments[0].name:
            return self.candidates_by_first_key.get(segments[0].name, self.not_key_led)
        return self.everything

    def first_match(self, path: str) -> int | None:
        """Position of the first pattern that matches `path`, or None. Never raises."""
        try:
            return _first_match(self, path)
        except TypeError:  # an unhashable path is garbage: parse_path cannot take it either
            return None

    def search(self, path: str) -> int | None:
        """first_match without the memo of answers."""
        segments = parse_path(path)
        names = plain_names(segments)
        for position in self.candidates(segments):
            compiled = self.compiled[position]
            if compiled is None:
                continue
            tokens, glob = compiled
            if glob is not None and names is not None:
                if match_key_glob(glob, names):
                    return position
                continue
            try:
                if match_segments(tokens, segments):
                    return position
            except Exception:  # noqa: BLE001 - see match_path
                continue
        return None


# The same findings come back at every sync, so the answer for a path is kept (per PatternList,
# which compile_patterns keeps per list of patterns).
@lru_cache(maxsize=8192)
def _first_match(patterns: PatternList, path: str) -> int | None:
    return patterns.search(path)


@lru_cache(maxsize=256)
def _cached_pattern_list(patterns: tuple[Any, ...]) -> PatternList:
    return PatternList(patterns)


def compile_patterns(patterns: Iterable[Any]) -> PatternList:
    """The PatternList of `patterns`, built once per distinct list (rules and ignore lists
    stay the same from one sync to the next)."""
    patterns = tuple(patterns)
    try:
        return _cached_pattern_list(patterns)
    except TypeError:  # an unhashable (garbage) pattern: build it without the cache
        return PatternList(patterns)


def resolve(data: Any, path: str | tuple[Segment, ...]) -> tuple[bool, Any, tuple[Segment, ...]]:
    """Find the value at `path` in a wire dict.

    Accepts dotted keys written bare (`postgres.parameters.pg_stat_statements.max`), which is
    how a probe may spell them, and returns the canonical segments alongside the value.
    """
    segments = parse_path(path) if isinstance(path, str) else tuple(path)
    found: list[Segment] = []
    node = data
    i = 0
    while i < len(segments):
        seg = segments[i]
        if isinstance(seg, Key) and isinstance(node, dict):
            if seg.name in node:
                node = node[seg.name]
                found.append(seg)
                i += 1
                continue
            joined, k, hit = seg.name, i, False
            while k + 1 < len(segments) and isinstance(segments[k + 1], Key):
                k += 1
                joined = f"{joined}.{segments[k].name}"
                if joined in node:
                    node, hit = node[joined], True
                    found.append(Key(joined))
                    i = k + 1
                    break
            if hit:
                continue
            return False, None, tuple(found)
        if isinstance(seg, Index) and isinstance(node, list) and 0 <= seg.position < len(node):
            node = node[seg.position]
            found.append(seg)
            i += 1
            continue
        return False, None, tuple(found)
    return True, node, tuple(found)
