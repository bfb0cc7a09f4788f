"""``observatory lint``: every query, rule and rule test checked against the catalogue."""

from __future__ import annotations

from observatory.catalogue import CATALOGUE
from observatory.lint.promql import Query, QueryChecker
from observatory.lint.report import Finding, LintReport

__all__ = ["Finding", "LintReport", "Query", "QueryChecker", "run_lint"]


def run_lint() -> LintReport:
    """Lint the shipped dashboards and rules."""
    from observatory import dashboards, rules

    checker = QueryChecker(CATALOGUE, rules.recorded_series())
    queries = [*dashboards.queries(), *rules.queries()]
    report = LintReport()
    used: set[str] = set()
    for query in queries:
        report.findings += checker.check(query)
        used |= checker.referenced_metrics(query.expr)
    rule_findings, sections = rules.lint()
    report.findings += rule_findings
    report.sections += sections
    report.unused_metrics = [metric.name for metric in CATALOGUE if metric.name not in used]
    return report
