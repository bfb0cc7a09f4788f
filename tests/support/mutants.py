"""Mutants of an alerting rule: every comparison operator, every numeric literal of its expression, its ``for``.

The expression is scanned token by token (string literals, label matchers and range windows are skipped,
so ``quantile="0.95"`` and ``[5m]`` are left alone); the parsed syntax tree confirms that the scan found
every comparison and every number literal the expression has, and every mutant still parses.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, replace

import promql_parser

from observatory.config import duration, number, seconds
from observatory.rules.model import Alert

# A threshold moves 5 % either way; a zero one unit (one event), since 5 % of zero is zero.
MOVE = 0.05
# The boundary mutant of each comparison: inclusive made exclusive and back, equality negated.
SWAPPED = {">": ">=", ">=": ">", "<": "<=", "<=": "<", "==": "!=", "!=": "=="}
COMPARISONS = frozenset(SWAPPED)
_TOKEN = re.compile(
    r"""(?P<skip>"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`[^`]*`|\{[^}]*\}|\[[^\]]*\]|[a-zA-Z_:][a-zA-Z0-9_:]*)"""
    r"|(?P<op>>=|<=|==|!=|>|<)"
    r"|(?P<number>(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)"
)


@dataclass(frozen=True)
class Mutant:
    """One mutated copy of an alert and what was changed (``name: what``, stable across edits elsewhere)."""

    label: str
    alert: Alert


@dataclass(frozen=True)
class _Token:
    kind: str
    text: str
    start: int
    end: int


def _tokens(expr: str) -> list[_Token]:
    return [
        _Token(m.lastgroup, m.group(), m.start(), m.end())
        for m in _TOKEN.finditer(expr)
        if m.lastgroup in ("op", "number")
    ]


def _tree_counts(expr: str) -> tuple[int, int]:
    """How many comparisons and number literals the parsed expression holds."""
    counts = Counter()

    def visit(node: object) -> None:
        if isinstance(node, promql_parser.NumberLiteral):
            counts["number"] += 1
        elif isinstance(node, promql_parser.BinaryExpr) and str(node.op) in COMPARISONS:
            counts["op"] += 1

    promql_parser.walk(promql_parser.parse(expr), visit)
    return counts["op"], counts["number"]


def _moved(value: float) -> list[float]:
    if value == 0:
        return [1.0, -1.0]
    return [value * (1 + MOVE), value * (1 - MOVE)]


def _longer(for_: str) -> str:
    return duration(seconds(for_) * 4) if seconds(for_) else "2m"


def mutants(alert: Alert) -> list[Mutant]:
    """Every mutant of ``alert``: each comparison swapped, each number moved both ways, ``for`` four times longer."""
    tokens = _tokens(alert.expr)
    found = Counter(token.kind for token in tokens)
    if (found["op"], found["number"]) != _tree_counts(alert.expr):
        raise ValueError(f"{alert.name}: the scan and the parser disagree on {alert.expr!r}")
    result, seen = [], Counter()
    for token in tokens:
        seen[token.text] += 1
        where = f"`{token.text}` #{seen[token.text]}"
        replacements = [SWAPPED[token.text]] if token.kind == "op" else [number(v) for v in _moved(float(token.text))]
        for new in replacements:
            expr = alert.expr[: token.start] + new + alert.expr[token.end :]
            promql_parser.parse(expr)
            result.append(Mutant(f"{alert.name}: {where} -> {new}", replace(alert, expr=expr)))
    longer = _longer(alert.for_)
    result.append(Mutant(f"{alert.name}: for {alert.for_} -> {longer}", replace(alert, for_=longer)))
    return result
