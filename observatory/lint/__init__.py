"""``observatory lint``: every query, rule and rule test checked against the catalogue."""

from __future__ import annotations

from observatory.catalogue import CATALOGUE
from observatory.config import DEFAULT_CONFIG, ObservatoryConfig
from observatory.config.selectors import selector_label_names
from observatory.lint.promql import Query, QueryChecker
from observatory.lint.report import Finding, LintReport

__all__ = ["Finding", "LintReport", "Query", "QueryChecker", "run_lint"]


def run_lint(config: ObservatoryConfig = DEFAULT_CONFIG) -> LintReport:
    """Lint the dashboards and rules generated for ``config``."""
    # Imported on use: both packages import this one's query checker.
    from observatory import dashboards, rules
    from observatory.artefacts import panel_linker

    checker = QueryChecker(CATALOGUE, rules.recorded_series(config), selector_label_names(config))
    queries = [*dashboards.queries(dashboards.dashboards(config), config), *rules.queries(config)]
    report = LintReport()
    used: set[str] = set()
    for query in queries:
        report.findings += checker.check(query)
        used |= checker.referenced_metrics(query.expr)
    rule_findings, sections = rules.lint(config, panel_linker(config))
    report.findings += rule_findings
    report.sections += sections
    report.unused_metrics = [metric.name for metric in CATALOGUE if metric.name not in used]
    return report
