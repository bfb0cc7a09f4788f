"""pint's live checks of the rules against a running server: promql/series and promql/rate.

promql/series asks, for every selector of every rule, whether any series matches it, and if none
does, whether the metric exists at all or one of its matched labels never does. promql/rate asks
whether each rate-like range spans at least two scrapes of the job it reads, as the server is
configured.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass

import promql_parser
import yaml

from observatory.catalogue import Catalogue
from observatory.config.values import seconds
from observatory.lint.labels import match_operator, walk
from observatory.lint.promql import _children
from observatory.rules.checks import where
from observatory.rules.model import Group, Rule
from observatory.verify.http import PrometheusApi, VerifyError

# pint's promql/rate: a range must hold two samples at the least for these to have an answer.
RATE_FUNCTIONS = frozenset({"rate", "irate", "increase", "deriv", "delta", "idelta"})
# Selectors under these look for missing series on purpose.
ABSENCE_FUNCTIONS = frozenset({"absent", "absent_over_time"})
_OPERATORS = {"Equal": "=", "NotEqual": "!=", "Re": "=~", "NotRe": "!~"}
# Prometheus' default when prometheus.yml sets no global scrape_interval.
DEFAULT_SCRAPE_INTERVAL = "1m"


@dataclass(frozen=True)
class SeriesResult:
    """promql/series: gaps (a metric or label that never exists) and notes (a selector matching nothing now)."""

    gaps: tuple[str, ...]
    notes: tuple[str, ...]


def selector_text(selector: promql_parser.VectorSelector, extra: dict[str, str] | None = None) -> str:
    """The selector written back as PromQL, with ``extra`` equality matchers added first."""
    matchers = [f"{name}={json.dumps(value)}" for name, value in (extra or {}).items()]
    matchers += [
        f"{m.name}{_OPERATORS[match_operator(m)]}{json.dumps(m.value)}"
        for m in selector.matchers.matchers
        if m.name != "__name__"
    ]
    return f"{selector.name or ''}{{{', '.join(matchers)}}}"


def _checked_selectors(node: object, absent: bool = False) -> Iterator[promql_parser.VectorSelector]:
    if isinstance(node, promql_parser.VectorSelector):
        if not absent:
            yield node
        return
    if isinstance(node, promql_parser.Call) and node.func.name in ABSENCE_FUNCTIONS:
        absent = True
    for child in _children(node):
        yield from _checked_selectors(child, absent)


def _rules(groups: Iterable[Group]) -> Iterator[tuple[str, Rule, object]]:
    for group in groups:
        for rule in group.rules:
            try:
                yield where(group, rule), rule, promql_parser.parse(rule.expr)
            except ValueError:
                continue  # lint reports unparsable rules


def _count(api: PrometheusApi, expr: str) -> float:
    result = api.query(f"count({expr})")
    return float(result[0]["value"][1]) if result else 0.0


def _matches_empty(matcher: object) -> bool:
    op = match_operator(matcher)
    return op in ("NotEqual", "NotRe") or matcher.value in ("", ".*") or (op == "Re" and matcher.value.endswith("|"))


def check_series(
    api: PrometheusApi, groups: Sequence[Group], catalogue: Catalogue, scope: dict[str, str] | None = None
) -> SeriesResult:
    """promql/series over every rule; ``scope`` (``{"cluster": "a"}``) asks within one cluster's series.

    A catalogue metric or recorded series with no series at all is left to the checks that report it already
    (missing metrics, rule groups not loaded, recorded series a cluster has not written).
    """
    recorded = {rule.record for group in groups for rule in group.recordings}
    gaps: list[str] = []
    notes: list[str] = []
    prefix = "".join(f"{key} {value}: " for key, value in (scope or {}).items())
    seen: set[str] = set()
    for location, _, tree in _rules(groups):
        for selector in _checked_selectors(tree):
            text = selector_text(selector, scope)
            if text in seen or not selector.name:
                continue
            seen.add(text)
            if _count(api, text):
                continue
            name = selector.name
            if not _count(api, f"{name}{{{', '.join(f'{k}={json.dumps(v)}' for k, v in (scope or {}).items())}}}"):
                if catalogue.resolve_series(name) is None and name not in recorded:
                    gaps.append(f"{prefix}{location}: {name} has no series, and neither the catalogue nor a rule"
                                " provides it")  # fmt: skip
                continue
            never = [
                m.name
                for m in selector.matchers.matchers
                if m.name != "__name__" and not _matches_empty(m) and not _count(api, f'{name}{{{m.name}!=""}}')
            ]
            if never:
                gaps.append(f"{prefix}{location}: {name} never has label {', '.join(never)}")
            else:
                notes.append(f"{prefix}{location}: {text} matches no series now")
    return SeriesResult(tuple(gaps), tuple(notes))


def scrape_intervals(api: PrometheusApi) -> tuple[dict[str, float], float, float]:
    """Per job the configured scrape interval in seconds, the global one and the rule evaluation interval.

    Raises VerifyError when the server serves no configuration (a store that scrapes nothing itself).
    """
    config = yaml.safe_load(api.get("status/config").get("yaml") or "") or {}
    if not config.get("scrape_configs"):
        # VictoriaMetrics answers this endpoint with an empty configuration: it scrapes nothing itself.
        raise VerifyError(f"{api.base_url} serves no scrape configuration")
    global_ = config.get("global") or {}
    default = seconds(str(global_.get("scrape_interval", DEFAULT_SCRAPE_INTERVAL)))
    evaluation = seconds(str(global_.get("evaluation_interval", DEFAULT_SCRAPE_INTERVAL)))
    jobs = {
        str(job["job_name"]): seconds(str(job["scrape_interval"])) if "scrape_interval" in job else default
        for job in config.get("scrape_configs") or []
    }
    return jobs, default, evaluation


def _job_of(selector: promql_parser.VectorSelector) -> str | None:
    for matcher in selector.matchers.matchers:
        if matcher.name == "job" and match_operator(matcher) == "Equal":
            return matcher.value
    return None


def check_rate_ranges(api: PrometheusApi, groups: Sequence[Group]) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """promql/rate: gaps where a range spans fewer than two scrapes (or evaluations, for recorded series)."""
    try:
        jobs, default, evaluation = scrape_intervals(api)
    except VerifyError:
        return (), (f"{api.base_url} serves no scrape configuration: rate ranges not checked (promql/rate)",)
    gaps = []
    for location, _, tree in _rules(groups):
        for node in walk(tree):
            if not (isinstance(node, promql_parser.Call) and node.func.name in RATE_FUNCTIONS and node.args):
                continue
            argument = node.args[0]
            if not isinstance(argument, promql_parser.MatrixSelector):
                continue
            selector = argument.vector_selector
            job = _job_of(selector)
            recorded = ":" in (selector.name or "")
            interval = evaluation if recorded else jobs.get(job, default) if job else default
            window = argument.range.total_seconds()
            if window < 2 * interval:
                source = "rule evaluations" if recorded else f"scrapes of job {job or '(any)'}"
                gaps.append(
                    f"{location}: {node.func.name}() over {selector.name}[{window:g}s] spans fewer than two"
                    f" {source} (every {interval:g}s); widen it to {2 * interval:g}s or more"
                )
    return tuple(gaps), ()
