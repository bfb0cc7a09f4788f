"""Checks a PromQL expression against the catalogue with a real PromQL parser."""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass

import promql_parser

from observatory.catalogue import Catalogue
from observatory.lint.report import Finding
from observatory.metric import MetricType

# Functions whose range argument must be a counter (or a histogram's cumulative series).
COUNTER_FUNCTIONS = frozenset({"rate", "irate", "increase", "resets"})
# Functions that may look at a counter's raw samples without misreading them.
RAW_SAFE_FUNCTIONS = frozenset({"absent", "absent_over_time", "timestamp", "present_over_time"})
RAW_SAFE_AGGREGATIONS = frozenset({"count", "group"})
# Labels Prometheus puts on every target's series: the job and instance, and what relabelling adds to each
# target (the shard it belongs to, and the cluster where several clusters share one Prometheus).
TARGET_LABELS = frozenset({"job", "instance", "shard", "cluster"})
# Labels a global view (Thanos, Mimir) adds to every series, recorded ones included: each Prometheus's cluster.
EXTERNAL_LABELS = frozenset({"cluster"})
# Series every Prometheus server has about its targets and alerts (alerts keep their targets' labels).
BUILTIN_SERIES: Mapping[str, frozenset[str]] = {
    "up": TARGET_LABELS,
    "ALERTS": frozenset({"alertname", "alertstate", "severity"}) | TARGET_LABELS,
}

# Interval variables in seconds or milliseconds are numbers, the others durations.
_GRAFANA_NUMERIC_INTERVAL = re.compile(r"\$\{?__(interval|range)_(s|ms)\}?")
# A format suffix (``${__range:...}``) exists only inside braces: ``$__range:5m`` is a subquery's range and step.
_GRAFANA_INTERVAL = re.compile(r"\$__(rate_interval|interval|range)\b|\$\{__(rate_interval|interval|range)(?::\w+)?\}")
_GRAFANA_VARIABLE = re.compile(r"\$\{?\w+(?::\w+)?\}?")


@dataclass(frozen=True)
class Query:
    """A PromQL expression and where it lives (dashboard and panel, or rule group and rule)."""

    where: str
    expr: str


def substitute_grafana_variables(expr: str) -> str:
    """Replace Grafana's template variables with values the PromQL parser accepts.

    Interval variables become a duration; other variables outside string literals are
    numeric parameters (prices, thresholds) and become ``1``. Inside label matchers they are
    left alone, where they are only part of a regular expression.
    """
    expr = _GRAFANA_NUMERIC_INTERVAL.sub("1", expr)
    expr = _GRAFANA_INTERVAL.sub("5m", expr)
    parts = re.split(r'("(?:[^"\\]|\\.)*")', expr)
    return "".join(part if i % 2 else _GRAFANA_VARIABLE.sub("1", part) for i, part in enumerate(parts))


@functools.lru_cache(maxsize=4096)
def parse(expr: str) -> object:
    """The syntax tree of ``expr`` after Grafana variable substitution; raises ValueError if unparsable.

    Cached because lint both checks an expression and lists the metrics it uses.
    """
    return promql_parser.parse(substitute_grafana_variables(expr))


def _mean_since_start(node: promql_parser.BinaryExpr) -> bool:
    # A histogram's _sum over its own _count is the mean of every observation the process made: right
    # for once-per-process events (a model load) that no rate over a window ever sees.
    lhs, rhs = ({selector.name for selector in _selectors(side)} for side in (node.lhs, node.rhs))
    if str(node.op) != "/" or len(lhs) != 1 or len(rhs) != 1:
        return False
    [total], [count] = lhs, rhs
    return total.endswith("_sum") and count == total.removesuffix("_sum") + "_count"


def _children(node: object) -> Iterator[object]:
    if isinstance(node, promql_parser.BinaryExpr):
        yield node.lhs
        yield node.rhs
    elif isinstance(node, promql_parser.Call):
        yield from node.args
    elif isinstance(node, promql_parser.AggregateExpr):
        if node.param is not None:
            yield node.param
        yield node.expr
    elif isinstance(node, promql_parser.MatrixSelector):
        yield node.vector_selector
    elif isinstance(node, promql_parser.SubqueryExpr | promql_parser.ParenExpr | promql_parser.UnaryExpr):
        yield node.expr


def _selectors(node: object) -> Iterator[promql_parser.VectorSelector]:
    if isinstance(node, promql_parser.VectorSelector):
        yield node
    for child in _children(node):
        yield from _selectors(child)


def _matcher_names(selector: promql_parser.VectorSelector) -> Iterator[str]:
    for matcher in selector.matchers.matchers:
        yield matcher.name
    for group in selector.matchers.or_matchers:
        for matcher in group:
            yield matcher.name


class QueryChecker:
    """Checks expressions against a catalogue and the series the project's rules record.

    ``recorded`` maps each recording rule's output name to the label names it keeps; ``target_labels`` are
    labels every target carries beyond :data:`TARGET_LABELS` (those the configured selectors match on).
    """

    def __init__(
        self, catalogue: Catalogue, recorded: Mapping[str, Iterable[str]], target_labels: Iterable[str] = ()
    ) -> None:
        self.catalogue = catalogue
        self.recorded = {name: frozenset(labels) for name, labels in recorded.items()}
        self.target_labels = TARGET_LABELS | frozenset(target_labels)

    def referenced_metrics(self, expr: str) -> set[str]:
        """Catalogue metric names an expression selects (empty if it does not parse)."""
        try:
            tree = parse(expr)
        except ValueError:
            return set()
        names = set()
        for selector in _selectors(tree):
            resolved = self.catalogue.resolve_series(selector.name or "")
            if resolved:
                names.add(resolved[0].name)
        return names

    def check(self, query: Query) -> list[Finding]:
        """Every violation in one expression."""
        try:
            tree = parse(query.expr)
        except ValueError as error:
            return [Finding(query.where, f"unparsable query: {error}", query.expr)]
        findings: list[Finding] = []

        def report(problem: str) -> None:
            findings.append(Finding(query.where, problem, query.expr))

        self._walk(tree, report, raw_allowed=False)
        return findings

    def series_labels(self, name: str) -> tuple[frozenset[str], MetricType | None, str] | None:
        """Allowed label names, metric type and histogram suffix of a series name; None if unknown."""
        resolved = self.catalogue.resolve_series(name)
        if resolved:
            metric, suffix = resolved
            labels = set(metric.label_names) | self.target_labels
            if suffix == "_bucket":
                labels.add("le")
            return frozenset(labels), metric.type, suffix
        if name in self.recorded:
            return self.recorded[name] | EXTERNAL_LABELS, None, ""
        if name in BUILTIN_SERIES:
            return BUILTIN_SERIES[name] | self.target_labels, None, ""
        return None

    def _walk(self, node: object, report, raw_allowed: bool) -> None:
        if isinstance(node, promql_parser.VectorSelector):
            self._check_selector(node, report, raw_allowed)
            return
        if isinstance(node, promql_parser.Call):
            name = node.func.name
            if name in COUNTER_FUNCTIONS:
                self._check_counter_argument(node, report)
            child_raw = name in COUNTER_FUNCTIONS or name in RAW_SAFE_FUNCTIONS
            for child in node.args:
                self._walk(child, report, child_raw)
            return
        if isinstance(node, promql_parser.AggregateExpr):
            self._check_grouping(node, report)
            raw = str(node.op).lower().rsplit(".", 1)[-1] in RAW_SAFE_AGGREGATIONS
            if node.param is not None:
                self._walk(node.param, report, False)
            self._walk(node.expr, report, raw)
            return
        if isinstance(node, promql_parser.MatrixSelector):
            self._walk(node.vector_selector, report, raw_allowed)
            return
        if isinstance(node, promql_parser.BinaryExpr) and _mean_since_start(node):
            raw_allowed = True
        for child in _children(node):
            self._walk(child, report, raw_allowed)

    def _check_selector(self, selector: promql_parser.VectorSelector, report, raw_allowed: bool) -> None:
        name = selector.name
        if not name:
            report("selector without a metric name")
            return
        known = self.series_labels(name)
        if known is None:
            report(f"unknown metric {name!r}: not in the catalogue nor recorded by a rule")
            return
        allowed, metric_type, suffix = known
        for label in _matcher_names(selector):
            if label not in allowed:
                report(f"label {label!r} is not declared by {name}")
        cumulative = metric_type is MetricType.COUNTER or (metric_type is MetricType.HISTOGRAM and suffix)
        if cumulative and not raw_allowed:
            report(f"counter {name} is used without rate() or increase()")

    def _check_counter_argument(self, call: promql_parser.Call, report) -> None:
        argument = call.args[0] if call.args else None
        if not isinstance(argument, promql_parser.MatrixSelector):
            return
        name = argument.vector_selector.name or ""
        known = self.series_labels(name)
        if known is None:
            return
        _, metric_type, suffix = known
        if metric_type is MetricType.GAUGE or (metric_type is None and not name.endswith("_total")):
            report(f"{call.func.name}() on {name}, which is not a counter")
        elif metric_type is MetricType.HISTOGRAM and not suffix:
            report(f"{call.func.name}() on histogram {name} needs _bucket, _sum or _count")

    def _check_grouping(self, node: promql_parser.AggregateExpr, report) -> None:
        modifier = node.modifier
        if modifier is None or not modifier.labels:
            return
        available: set[str] = set()
        for selector in _selectors(node.expr):
            known = self.series_labels(selector.name or "")
            if known is None:
                return  # already reported as an unknown metric
            available |= known[0]
        if _uses_label_functions(node.expr):
            return
        for label in modifier.labels:
            if label not in available:
                report(f"aggregation groups by {label!r}, which no selected metric declares")


def _uses_label_functions(node: object) -> bool:
    if isinstance(node, promql_parser.Call) and node.func.name in {"label_replace", "label_join"}:
        return True
    return any(_uses_label_functions(child) for child in _children(node))
