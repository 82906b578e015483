"""A small OData `$filter` parser: the subset Graph accepts on the endpoints we simulate.

Grammar: comparisons (eq ne gt ge lt le) between a property path (`from/emailAddress/address`)
and a literal ('text', true, false, null, numbers, unquoted ISO 8601 date-times), combined with
`and`, `or`, `not` and parentheses, plus `startswith(path, 'text')`. A filter compiles into a
predicate over plain dicts; each endpoint decides which properties it allows.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

_TOKEN = re.compile(
    r"\s*(?:(?P<str>'(?:[^']|'')*')|(?P<lpar>\()|(?P<rpar>\))|(?P<comma>,)"
    r"|(?P<word>[A-Za-z0-9_:.+\-/@]+))"
)
_DATETIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})$")
_COMPARATORS = {
    "eq": lambda a, b: a == b,
    "ne": lambda a, b: a != b,
    "gt": lambda a, b: a is not None and b is not None and a > b,
    "ge": lambda a, b: a is not None and b is not None and a >= b,
    "lt": lambda a, b: a is not None and b is not None and a < b,
    "le": lambda a, b: a is not None and b is not None and a <= b,
}


class FilterError(ValueError):
    """The filter is malformed or uses something the endpoint does not support."""


@dataclass(frozen=True)
class Comparison:
    path: str
    op: str
    value: Any


@dataclass(frozen=True)
class StartsWith:
    path: str
    prefix: str


@dataclass(frozen=True)
class BoolOp:
    op: str  # "and" | "or"
    left: Any
    right: Any


@dataclass(frozen=True)
class Not:
    operand: Any


def parse_datetime(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def _tokenize(text: str) -> list[tuple[str, str]]:
    tokens, pos = [], 0
    text = text.strip()
    while pos < len(text):
        match = _TOKEN.match(text, pos)
        if not match or match.end() == pos:
            raise FilterError(f"Invalid filter clause near position {pos}.")
        pos = match.end()
        tokens.append((match.lastgroup, match.group(match.lastgroup)))
    return tokens


class _Parser:
    def __init__(self, tokens: list[tuple[str, str]]):
        self.tokens = tokens
        self.pos = 0
        self.comparisons = 0

    def peek(self) -> tuple[str, str] | None:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else None

    def take(self, kind: str | None = None) -> str:
        token = self.peek()
        if token is None or (kind and token[0] != kind):
            raise FilterError("Invalid filter clause: unexpected end or token.")
        self.pos += 1
        return token[1]

    def keyword(self, word: str) -> bool:
        token = self.peek()
        if token and token[0] == "word" and token[1].lower() == word:
            self.pos += 1
            return True
        return False

    def expression(self):
        node = self.conjunction()
        while self.keyword("or"):
            node = BoolOp("or", node, self.conjunction())
        return node

    def conjunction(self):
        node = self.unary()
        while self.keyword("and"):
            node = BoolOp("and", node, self.unary())
        return node

    def unary(self):
        if self.keyword("not"):
            return Not(self.unary())
        token = self.peek()
        if token and token[0] == "lpar":
            self.take()
            node = self.expression()
            self.take("rpar")
            return node
        return self.comparison()

    def comparison(self):
        name = self.take("word")
        self.comparisons += 1
        if name.lower() == "startswith":
            self.take("lpar")
            path = self.take("word")
            self.take("comma")
            prefix = _literal(self.take())
            self.take("rpar")
            if not isinstance(prefix, str):
                raise FilterError("startswith expects a string literal.")
            return StartsWith(path, prefix)
        op = self.take("word").lower()
        if op not in _COMPARATORS:
            raise FilterError(f"Invalid filter clause: unsupported operator '{op}'.")
        return Comparison(name, op, _literal(self.take()))


def _literal(text: str) -> Any:
    if text.startswith("'"):
        return text[1:-1].replace("''", "'")
    lowered = text.lower()
    if lowered in ("true", "false"):
        return lowered == "true"
    if lowered == "null":
        return None
    if _DATETIME.match(text):
        return parse_datetime(text)
    try:
        return float(text) if "." in text else int(text)
    except ValueError:
        raise FilterError(f"Invalid filter clause: '{text}' is not a literal.") from None


@dataclass(frozen=True)
class CompiledFilter:
    tree: Any
    clause_count: int

    def paths(self) -> set[str]:
        found: set[str] = set()
        _walk(self.tree, lambda node: found.add(node.path))
        return found

    def first_path(self) -> str | None:
        node = self.tree
        while isinstance(node, (BoolOp, Not)):
            node = node.left if isinstance(node, BoolOp) else node.operand
        return node.path

    def matches(self, record: dict) -> bool:
        return _evaluate(self.tree, record)

    def bounds(self, path: str) -> tuple[Any, Any]:
        """Lower/upper bounds on `path` implied by top-level `and` terms (for index scans)."""
        lower = upper = None
        for node in _conjuncts(self.tree):
            if isinstance(node, Comparison) and node.path == path:
                if node.op in ("gt", "ge", "eq"):
                    lower = node.value if lower is None else max(lower, node.value)
                if node.op in ("lt", "le", "eq"):
                    upper = node.value if upper is None else min(upper, node.value)
        return lower, upper


def _conjuncts(node):
    if isinstance(node, BoolOp) and node.op == "and":
        yield from _conjuncts(node.left)
        yield from _conjuncts(node.right)
    else:
        yield node


def _walk(node, visit: Callable[[Any], None]) -> None:
    if isinstance(node, BoolOp):
        _walk(node.left, visit)
        _walk(node.right, visit)
    elif isinstance(node, Not):
        _walk(node.operand, visit)
    else:
        visit(node)


def _resolve(record: dict, path: str) -> Any:
    value: Any = record
    for part in path.split("/"):
        if not isinstance(value, dict):
            return None
        value = value.get(part)
    return value


def _comparable(value: Any, literal: Any) -> Any:
    if isinstance(literal, datetime) and isinstance(value, str):
        return parse_datetime(value)
    if isinstance(literal, str) and isinstance(value, str):
        return value.lower()  # Graph compares strings case-insensitively
    return value


def _evaluate(node, record: dict) -> bool:
    if isinstance(node, BoolOp):
        if node.op == "and":
            return _evaluate(node.left, record) and _evaluate(node.right, record)
        return _evaluate(node.left, record) or _evaluate(node.right, record)
    if isinstance(node, Not):
        return not _evaluate(node.operand, record)
    value = _resolve(record, node.path)
    if isinstance(node, StartsWith):
        return isinstance(value, str) and value.lower().startswith(node.prefix.lower())
    literal = node.value.lower() if isinstance(node.value, str) else node.value
    return _COMPARATORS[node.op](_comparable(value, node.value), literal)


def compile_filter(text: str, allowed_paths: set[str]) -> CompiledFilter:
    """Parse `text`; raise FilterError for bad syntax or a property outside `allowed_paths`."""
    parser = _Parser(_tokenize(text))
    tree = parser.expression()
    if parser.peek() is not None:
        raise FilterError("Invalid filter clause: unexpected trailing tokens.")
    compiled = CompiledFilter(tree, parser.comparisons)
    unsupported = compiled.paths() - allowed_paths
    if unsupported:
        raise FilterError(f"Unsupported or invalid query filter clause specified for property "
                          f"'{sorted(unsupported)[0]}'.")
    return compiled
