"""Each component's label selector, put into every PromQL selector that reads the component's metrics.

A selector is PromQL label matchers (``job="themisdb-shards", namespace="ai"``), as a monitoring
mixin's ``shardSelector``. Rules and dashboards write their expressions without it; :func:`with_selectors`
adds it to every selector of a catalogue metric, from the metric's :class:`~observatory.metric.Source`,
so no expression can forget it. Metrics more than one component exposes (the exporters' own metrics)
are left unselected: no one component's selector covers them.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Mapping

import promql_parser

from observatory.catalogue import CATALOGUE
from observatory.config.model import ObservatoryConfig
from observatory.metric import Source

_OPERATORS = {"Equal": "=", "NotEqual": "!=", "Re": "=~", "NotRe": "!~"}
# String literals are copied as they are; identifiers outside them may be metric names.
_TOKENS = re.compile(r'"(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\'|`[^`]*`|[a-zA-Z_:][a-zA-Z0-9_:]*')


def parse_matchers(text: str) -> tuple[tuple[str, str, str], ...]:
    """The (label, operator, value) matchers of ``text``; ValueError unless it is PromQL label matchers."""
    try:
        tree = promql_parser.parse(f"{{{text}}}")
    except ValueError as error:
        raise ValueError(f"not PromQL label matchers ({str(error).splitlines()[0]})") from None
    if not isinstance(tree, promql_parser.VectorSelector) or tree.name or tree.matchers.or_matchers:
        raise ValueError('not PromQL label matchers (write label="value", joined by commas)')
    return tuple((m.name, str(m.op).rsplit(".", 1)[-1], m.value) for m in tree.matchers.matchers)


def _configured(config: ObservatoryConfig, source: Source) -> tuple[str, str]:
    """The configured selector and the job name of ``source``."""
    return {
        Source.SHARD: (config.selectors.shards, config.jobs.shards),
        Source.ORCHESTRATOR: (config.selectors.orchestrator, config.jobs.orchestrator),
        Source.HOST_EXPORTER: (config.selectors.host, config.jobs.host),
        Source.GPU_EXPORTER: (config.selectors.gpu, config.jobs.gpu),
    }[source]


def selector(config: ObservatoryConfig, source: Source) -> str:
    """The configured selector of ``source``'s targets, or ``job="<its job name>"`` when none is set."""
    configured, job = _configured(config, source)
    return _canonical(configured) if configured else f'job="{job}"'


@functools.lru_cache(maxsize=64)
def _canonical(text: str) -> str:
    # Written back from the parsed matchers, so that spacing or a trailing comma cannot break an expression.
    return ", ".join(
        f"{name}{_OPERATORS[op]}{json.dumps(value, ensure_ascii=False)}" for name, op, value in parse_matchers(text)
    )


def source_of(series_name: str) -> Source | None:
    """The one component exposing ``series_name`` (``x``, ``x_bucket``…), None for others and shared ones."""
    resolved = CATALOGUE.resolve_series(series_name)
    if resolved is None or len(resolved[0].sources) != 1:
        return None
    return resolved[0].source


def with_selectors(expr: str, config: ObservatoryConfig) -> str:
    """``expr`` with its component's selector first in every selector of a catalogue metric."""
    out, position = [], 0
    for token in _TOKENS.finditer(expr):
        source = source_of(token.group()) if token.group()[0] not in "\"'`" else None
        if source is None:
            continue
        matchers = selector(config, source)
        rest = expr[token.end() :]
        out.append(expr[position : token.end()])
        if rest.lstrip().startswith("{"):
            brace = token.end() + len(rest) - len(rest.lstrip()) + 1
            closes = expr[brace:].lstrip().startswith("}")
            out.append(expr[token.end() : brace] + matchers + ("" if closes else ", "))
            position = brace
        else:
            out.append(f"{{{matchers}}}")
            position = token.end()
    return "".join(out) + expr[position:]


def equality_labels(text: str) -> dict[str, str]:
    """The labels of ``text``'s ``=`` matchers: those ``absent()`` of a selector gives its output."""
    return {name: value for name, op, value in parse_matchers(text) if op == "Equal"}


def selected_labels(text: str) -> dict[str, str]:
    """Labels a series needs to be selected by ``text``: its ``=`` matchers, and a plain alternative of ``=~``."""
    labels = {}
    for name, op, value in parse_matchers(text):
        first = value.split("|", 1)[0]
        if op == "Equal":
            labels[name] = value
        elif op == "Re" and re.escape(first) == first and _matches(value, first):
            labels[name] = first
    return labels


def _matches(pattern: str, text: str) -> bool:
    # Prometheus's regular expressions are RE2's; one Python cannot compile selects nothing here.
    try:
        return re.fullmatch(pattern, text) is not None
    except re.error:
        return False


def selector_label_names(config: ObservatoryConfig) -> frozenset[str]:
    """Every label name a configured selector matches on: labels the component's targets carry."""
    return frozenset(name for source in Source for name, _, _ in parse_matchers(selector(config, source)))


def target_labels(config: ObservatoryConfig) -> Mapping[str, dict[str, str]]:
    """Per job name, the labels each target of that job's component carries so its selector selects it."""
    return {_configured(config, source)[1]: selected_labels(selector(config, source)) for source in Source}
