"""Which labels a PromQL expression's result can carry, as far as the expression alone tells.

The answer is either a closed set (an aggregation ``by (...)``, ``vector()``, ``absent()`` of equality
matchers: exactly these labels, no other) or open (``None``: whatever the selected series carry). The
offline checks compare closed sets only, so an expression they cannot see through never gives a finding.
"""

from __future__ import annotations

from collections.abc import Iterator

import promql_parser

from observatory.lint.promql import _children

# A label set: exactly these names, or None when the series decide.
LabelSet = frozenset[str] | None

# Functions whose result has no labels at all.
_LABELLESS = frozenset({"vector", "time", "scalar", "pi"})
# Functions that drop the metric name and keep every other label of their argument.
_KEEP_ARGUMENT = frozenset(
    {
        "rate", "irate", "increase", "delta", "idelta", "deriv", "resets", "changes", "abs", "ceil", "floor",
        "round", "exp", "ln", "log2", "log10", "sqrt", "clamp", "clamp_min", "clamp_max", "avg_over_time",
        "min_over_time", "max_over_time", "sum_over_time", "count_over_time", "last_over_time",
        "quantile_over_time", "stddev_over_time", "stdvar_over_time", "present_over_time", "predict_linear",
        "timestamp", "sort", "sort_desc", "holt_winters", "double_exponential_smoothing",
    }
)  # fmt: skip
# Aggregations that return a subset of their input series, labels unchanged.
SAMPLING_AGGREGATIONS = frozenset({"topk", "bottomk", "limitk", "limit_ratio"})


def operator(node: promql_parser.AggregateExpr | promql_parser.BinaryExpr) -> str:
    """The operator's name as written (``sum``, ``/``, ``and``)."""
    return str(node.op).rsplit(".", 1)[-1].lower()


def match_operator(matcher: object) -> str:
    """A label matcher's operator: ``Equal``, ``NotEqual``, ``Re`` or ``NotRe``."""
    return str(matcher.op).rsplit(".", 1)[-1]


def _equality_labels(selector: promql_parser.VectorSelector) -> frozenset[str]:
    matchers = selector.matchers.matchers
    return frozenset(m.name for m in matchers if match_operator(m) == "Equal" and m.name != "__name__")


def _aggregation(node: promql_parser.AggregateExpr) -> LabelSet:
    inner = output_labels(node.expr)
    name = operator(node)
    if name in SAMPLING_AGGREGATIONS:
        return inner
    modifier = node.modifier
    grouped = frozenset(modifier.labels) if modifier is not None else frozenset()
    if modifier is not None and str(modifier.type).endswith("Without"):
        kept = None if inner is None else inner - grouped
    else:
        kept = grouped
    if name == "count_values" and isinstance(node.param, promql_parser.StringLiteral) and kept is not None:
        kept = kept | {node.param.val}
    return kept


def _call(node: promql_parser.Call) -> LabelSet:
    name = node.func.name
    if name in _LABELLESS:
        return frozenset()
    if name == "absent" and node.args and isinstance(node.args[0], promql_parser.VectorSelector):
        return _equality_labels(node.args[0])
    if name == "histogram_quantile" and len(node.args) == 2:
        inner = output_labels(node.args[1])
        return None if inner is None else inner - {"le"}
    if name in _KEEP_ARGUMENT and node.args:
        argument = node.args[0]
        if isinstance(argument, promql_parser.MatrixSelector):
            argument = argument.vector_selector
        return output_labels(argument)
    if name in ("label_replace", "label_join") and len(node.args) > 1:
        inner = output_labels(node.args[0])
        target = node.args[1]
        if inner is None or not isinstance(target, promql_parser.StringLiteral):
            return None
        return inner | {target.val}
    return None


def is_vector(node: object) -> bool:
    """Whether ``node`` evaluates to an instant vector rather than a number or string."""
    if isinstance(node, promql_parser.NumberLiteral | promql_parser.StringLiteral):
        return False
    if isinstance(node, promql_parser.ParenExpr | promql_parser.UnaryExpr):
        return is_vector(node.expr)
    if isinstance(node, promql_parser.Call):
        return node.func.name not in ("scalar", "time", "pi")
    if isinstance(node, promql_parser.BinaryExpr):
        return is_vector(node.lhs) or is_vector(node.rhs)
    return True


def _binary(node: promql_parser.BinaryExpr) -> LabelSet:
    lhs, rhs = output_labels(node.lhs), output_labels(node.rhs)
    if not is_vector(node.lhs):
        return rhs
    if not is_vector(node.rhs):
        return lhs
    modifier = node.modifier
    matching = modifier.matching if modifier is not None else None
    card = str(modifier.card) if modifier is not None else "OneToOne"
    name = operator(node)
    if name == "or":
        return None if lhs is None or rhs is None else lhs & rhs
    if name in ("and", "unless"):
        return lhs
    if card.endswith("ManyToOne") or card.endswith("OneToMany"):
        many = lhs if card.endswith("ManyToOne") else rhs
        included = frozenset(modifier.group_labels or ())
        return None if many is None else many | included
    if matching is not None and str(matching.type).endswith("Include"):
        return frozenset(matching.labels)
    if matching is not None:
        return None if lhs is None else lhs - frozenset(matching.labels)
    return lhs


def output_labels(node: object) -> LabelSet:
    """The labels ``node``'s result carries: a closed set, or None when the selected series decide."""
    if isinstance(node, promql_parser.AggregateExpr):
        return _aggregation(node)
    if isinstance(node, promql_parser.Call):
        return _call(node)
    if isinstance(node, promql_parser.BinaryExpr):
        return _binary(node)
    if isinstance(node, promql_parser.NumberLiteral | promql_parser.StringLiteral):
        return frozenset()
    if isinstance(node, promql_parser.ParenExpr | promql_parser.UnaryExpr | promql_parser.SubqueryExpr):
        return output_labels(node.expr)
    return None


def walk(node: object) -> Iterator[object]:
    """``node`` and every node under it, parents first."""
    yield node
    for child in _children(node):
        yield from walk(child)
