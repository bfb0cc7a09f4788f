"""pint's checks that need no Prometheus server, over the generated rule files.

pint's live checks (promql/series, promql/rate) ask a running server; they are part of
``observatory verify`` (:mod:`observatory.verify.live_rules`).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterator, Mapping
from typing import Any

import promql_parser

from observatory.config.values import seconds
from observatory.lint.field import Artefacts, FieldRule, Problem, rule_subject, rule_trees
from observatory.lint.labels import (
    SAMPLING_AGGREGATIONS,
    LabelSet,
    is_vector,
    match_operator,
    operator,
    output_labels,
    walk,
)
from observatory.lint.promql import EXTERNAL_LABELS, _children, _mean_since_start, _selectors

COMPARISONS = frozenset({"==", "!=", ">", "<", ">=", "<="})
SET_OPERATORS = frozenset({"and", "or", "unless"})
# A `for` longer than this keeps an outage unannounced for longer than anyone waits for a page.
MAX_FOR = "1h"
# Functions and aggregations that read a counter's raw value without misreading its resets.
COUNTER_SAFE = frozenset(
    {
        "rate",
        "irate",
        "increase",
        "resets",
        "absent",
        "absent_over_time",
        "present_over_time",
        "timestamp",
        "count",
        "group",
        "count_over_time",
        "changes",
    }
)
_COUNTER_SUFFIXES = ("_total", "_count", "_sum", "_bucket")
_LABEL_REFERENCE = re.compile(r"\$labels\.([a-zA-Z_][a-zA-Z0-9_]*)|\.Labels\.([a-zA-Z_][a-zA-Z0-9_]*)")
_VALUE_REFERENCE = re.compile(r"\$value\b|\.Value\b")
_REGEX_META = re.compile(r"[.*+?()\[\]{}|\\^$]")


def _templates(rule: Mapping[str, Any]) -> Iterator[tuple[str, str, str]]:
    for kind in ("labels", "annotations"):
        for key, text in (rule.get(kind) or {}).items():
            yield kind, key, str(text)


def _alerts_template(artefacts: Artefacts) -> Iterator[Problem]:
    for path, alert, tree in rule_trees(artefacts, alerts_only=True):
        kept = output_labels(tree)
        for kind, key, text in _templates(alert):
            if kind == "labels" and _VALUE_REFERENCE.search(text):
                yield Problem(
                    path,
                    rule_subject(alert),
                    f"label {key} uses $value: every new value starts a new alert; move it to an annotation",
                )
            for match in _LABEL_REFERENCE.finditer(text):
                label = match.group(1) or match.group(2)
                if kept is not None and label not in kept:
                    yield Problem(
                        path,
                        rule_subject(alert),
                        f"{kind[:-1]} {key} reads $labels.{label}, which the"
                        " query's result never carries; keep it in the query or drop the reference",
                    )


def _comparisons(tree: object) -> list[promql_parser.BinaryExpr]:
    return [node for node in walk(tree) if isinstance(node, promql_parser.BinaryExpr) and operator(node) in COMPARISONS]


def _returns_bool(node: promql_parser.BinaryExpr) -> bool:
    return node.modifier is not None and bool(node.modifier.return_bool)


def _alerts_comparison(artefacts: Artefacts) -> Iterator[Problem]:
    for path, alert, tree in rule_trees(artefacts, alerts_only=True):
        top = tree.expr if isinstance(tree, promql_parser.ParenExpr) else tree
        if isinstance(top, promql_parser.Call) and top.func.name in ("absent", "absent_over_time"):
            continue
        comparisons = _comparisons(tree)
        if not comparisons:
            yield Problem(
                path,
                rule_subject(alert),
                "the query has no condition and fires for every series it returns; compare it with a threshold",
            )
        elif isinstance(top, promql_parser.BinaryExpr) and operator(top) in COMPARISONS and _returns_bool(top):
            yield Problem(
                path,
                rule_subject(alert),
                "the outer comparison uses bool and returns every series; drop bool so only breaching series fire",
            )


def _alerts_for(artefacts: Artefacts) -> Iterator[Problem]:
    for path, alert in artefacts.alerts():
        for field in ("for", "keep_firing_for"):
            if field not in alert:
                continue
            value = str(alert[field])
            try:
                length = seconds(value)
            except ValueError:
                yield Problem(path, rule_subject(alert), f"{field}: {value!r} is not a Prometheus duration")
                continue
            if length == 0:
                yield Problem(path, rule_subject(alert), f"{field}: {value} is the default; leave it out")


def _rule_for(artefacts: Artefacts) -> Iterator[Problem]:
    for path, alert in artefacts.alerts():
        try:
            length = seconds(str(alert.get("for", "0s")))
        except ValueError:
            continue  # reported by alerts/for
        if length > seconds(MAX_FOR):
            yield Problem(path, rule_subject(alert), f"for: {alert['for']} is longer than {MAX_FOR}; shorten it")


def _rule_label(artefacts: Artefacts) -> Iterator[Problem]:
    for path, rule in artefacts.rules():
        labels = rule.get("labels") or {}
        if "alert" in rule and not labels.get("severity"):
            yield Problem(path, rule_subject(rule), "set a severity label")
        if "record" in rule:
            for key in sorted({"severity", "alertname"} & set(labels)):
                yield Problem(path, rule_subject(rule), f"remove label {key}: it belongs on alerts")
            for key, value in labels.items():
                if "{{" in str(value):
                    yield Problem(path, rule_subject(rule), f"label {key} is templated; recording rules cannot be")


def _identity(rule: Mapping[str, Any]) -> tuple:
    labels = tuple(sorted((rule.get("labels") or {}).items()))
    if "record" in rule:
        return ("record", rule["record"], labels)
    return ("alert", rule["alert"], str(rule.get("expr", "")), labels)


def _rule_duplicate(artefacts: Artefacts) -> Iterator[Problem]:
    seen = Counter(_identity(rule) for _, rule in artefacts.rules())
    reported = set()
    for path, rule in artefacts.rules():
        identity = _identity(rule)
        if seen[identity] > 1 and identity not in reported:
            reported.add(identity)
            yield Problem(
                path,
                rule_subject(rule),
                f"defined {seen[identity]} times with the same labels: the"
                " series collide; keep one or tell them apart by a label",
            )


def level_labels(record: str) -> tuple[str, ...]:
    """The labels a ``level:metric:operations`` name says its series keep (``shard_le`` → shard, le)."""
    level = record.split(":", 1)[0] if record.count(":") >= 2 else ""
    return tuple(part for part in level.split("_") if part)


def _promql_aggregate(artefacts: Artefacts) -> Iterator[Problem]:
    for path, rule, tree in rule_trees(artefacts):
        if "record" not in rule:
            continue
        kept = output_labels(tree)
        if kept is None:
            continue
        # A global view (remote storage, federation) adds the external labels (cluster) to every series.
        static = set(rule.get("labels") or {}) | EXTERNAL_LABELS
        for label in level_labels(str(rule["record"])):
            if label not in kept and label not in static:
                yield Problem(
                    path,
                    rule_subject(rule),
                    f"the name's level keeps {label!r} but the query drops it; aggregate by ({label}, ...)",
                )


def _binary_sides(tree: object) -> Iterator[tuple[promql_parser.BinaryExpr, LabelSet, LabelSet]]:
    for node in walk(tree):
        if isinstance(node, promql_parser.BinaryExpr) and is_vector(node.lhs) and is_vector(node.rhs):
            yield node, output_labels(node.lhs), output_labels(node.rhs)


def _matching_labels(node: promql_parser.BinaryExpr) -> tuple[str, tuple[str, ...]] | None:
    matching = node.modifier.matching if node.modifier is not None else None
    if matching is None:
        return None
    return ("on" if str(matching.type).endswith("Include") else "ignoring"), tuple(matching.labels)


def _promql_impossible(artefacts: Artefacts) -> Iterator[Problem]:
    for path, rule, tree in rule_trees(artefacts):
        for node in walk(tree):
            if isinstance(node, promql_parser.AggregateExpr) and node.modifier is not None:
                inner = output_labels(node.expr)
                if str(node.modifier.type).endswith("By") and inner is not None:
                    for label in node.modifier.labels:
                        if label not in inner:
                            yield Problem(
                                path,
                                rule_subject(rule),
                                f"{operator(node)} by ({label}) over a result"
                                f" that no longer has {label!r}; keep it in the inner query",
                            )
        for node, lhs, rhs in _binary_sides(tree):
            matching = _matching_labels(node)
            if matching and matching[0] == "on":
                for side, labels in (("left", lhs), ("right", rhs)):
                    missing = [label for label in matching[1] if labels is not None and label not in labels]
                    if missing:
                        yield Problem(
                            path,
                            rule_subject(rule),
                            f"on({', '.join(matching[1])}) but the {side} side"
                            f" has no {', '.join(missing)}; it can never match",
                        )
            elif matching is None and operator(node) in ("and", "unless") and None not in (lhs, rhs) and lhs != rhs:
                yield Problem(
                    path,
                    rule_subject(rule),
                    f"{operator(node)} between {sorted(lhs)} and {sorted(rhs)} never matches; add on(...)",
                )


def _aggregates(node: object) -> bool:
    return any(isinstance(inner, promql_parser.AggregateExpr) for inner in walk(node))


def _promql_fragile(artefacts: Artefacts) -> Iterator[Problem]:
    for path, alert, tree in rule_trees(artefacts, alerts_only=True):
        for node in walk(tree):
            if isinstance(node, promql_parser.AggregateExpr) and operator(node) in SAMPLING_AGGREGATIONS:
                yield Problem(
                    path,
                    rule_subject(alert),
                    f"{operator(node)}() picks other series at each evaluation"
                    " and the alert flaps; filter with a comparison instead",
                )
        if seconds(str(alert.get("for", "0s"))) > 0:
            continue
        for node, _, _ in _binary_sides(tree):
            if operator(node) in COMPARISONS | SET_OPERATORS:
                continue
            if all(_aggregates(side) for side in (node.lhs, node.rhs)):
                yield Problem(
                    path,
                    rule_subject(alert),
                    "arithmetic between two aggregations without for: right"
                    " after a restart one side may cover fewer targets; add for of a scrape interval or more",
                )
                break


def _promql_regexp(artefacts: Artefacts) -> Iterator[Problem]:
    for path, rule, tree in rule_trees(artefacts):
        for selector in _selectors(tree):
            for matcher in selector.matchers.matchers:
                op = match_operator(matcher)
                if op not in ("Re", "NotRe"):
                    continue
                written = f'{matcher.name}{"=~" if op == "Re" else "!~"}"{matcher.value}"'
                if not _REGEX_META.search(matcher.value):
                    plain = "=" if op == "Re" else "!="
                    yield Problem(
                        path,
                        rule_subject(rule),
                        f'{written} has no pattern; use {matcher.name}{plain}"{matcher.value}"',
                    )
                elif matcher.value.startswith("^") or matcher.value.endswith("$"):
                    yield Problem(path, rule_subject(rule), f"{written}: matchers are anchored already; drop ^ and $")


def _promql_vector_matching(artefacts: Artefacts) -> Iterator[Problem]:
    for path, rule, tree in rule_trees(artefacts):
        for node, lhs, rhs in _binary_sides(tree):
            card = str(node.modifier.card) if node.modifier is not None else "OneToOne"
            if operator(node) in SET_OPERATORS or not card.endswith("OneToOne") or _matching_labels(node):
                continue
            if lhs is not None and rhs is not None and lhs != rhs:
                yield Problem(
                    path,
                    rule_subject(rule),
                    f"{operator(node)} joins {sorted(lhs)} with {sorted(rhs)}:"
                    " no series match; add on(...) or ignoring(...)",
                )


def _raw_counters(node: object, safe: bool) -> Iterator[str]:
    if isinstance(node, promql_parser.VectorSelector):
        name = node.name or ""
        if not safe and ":" not in name and name.endswith(_COUNTER_SUFFIXES):
            yield name
        return
    if isinstance(node, promql_parser.Call):
        safe = node.func.name in COUNTER_SAFE
    elif isinstance(node, promql_parser.AggregateExpr):
        safe = operator(node) in COUNTER_SAFE
    elif isinstance(node, promql_parser.BinaryExpr) and _mean_since_start(node):
        # A histogram's _sum over its _count: the mean of every observation since the process started.
        safe = True
    elif not isinstance(node, promql_parser.MatrixSelector | promql_parser.ParenExpr):
        safe = False
    for child in _children(node):
        yield from _raw_counters(child, safe)


def _promql_counter(artefacts: Artefacts) -> Iterator[Problem]:
    for path, rule, tree in rule_trees(artefacts):
        for name in dict.fromkeys(_raw_counters(tree, safe=False)):
            yield Problem(
                path,
                rule_subject(rule),
                f"counter {name} is read raw; its value resets with the process: use rate() or increase()",
            )


LINTER = "pint"
RULES = (
    FieldRule(
        "alerts/template", LINTER, "templates read only labels the query keeps; no $value in labels", _alerts_template
    ),
    FieldRule(
        "alerts/comparison", LINTER, "an alert's query has a condition, not a bool comparison", _alerts_comparison
    ),
    FieldRule("alerts/for", LINTER, "`for` is a valid duration and not the default 0s", _alerts_for),
    FieldRule("rule/for", LINTER, f"`for` is at most {MAX_FOR}", _rule_for),
    FieldRule(
        "rule/label", LINTER, "alerts carry severity; recording rules carry no alert labels or templates", _rule_label
    ),
    FieldRule("rule/duplicate", LINTER, "no two rules record or alert the same series", _rule_duplicate),
    FieldRule(
        "promql/aggregate", LINTER, "a recording rule keeps the labels its name's level names", _promql_aggregate
    ),
    FieldRule("promql/impossible", LINTER, "no grouping or join on a label already removed", _promql_impossible),
    FieldRule(
        "promql/fragile",
        LINTER,
        "no sampling aggregations in alerts; aggregation arithmetic needs a `for`",
        _promql_fragile,
    ),
    FieldRule("promql/regexp", LINTER, "regular expression matchers have a pattern and no anchors", _promql_regexp),
    FieldRule(
        "promql/vector_matching",
        LINTER,
        "both sides of a one-to-one operation carry the same labels",
        _promql_vector_matching,
    ),
    FieldRule(
        "promql/counter",
        LINTER,
        "counters are read through rate(), increase() or another counter-safe function",
        _promql_counter,
    ),
)
