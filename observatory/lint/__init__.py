"""``observatory lint``: every query, rule and rule test checked against the catalogue and the field's linters."""

from __future__ import annotations

from collections.abc import Sequence
from importlib import resources

from observatory.catalogue import CATALOGUE
from observatory.config import DEFAULT_CONFIG, ObservatoryConfig
from observatory.config.selectors import selector_label_names
from observatory.lint import dashboard_linter, mixtool, pint
from observatory.lint.exemptions import Exemption, apply_exemptions, parse_exemptions
from observatory.lint.field import Artefacts, FieldRule
from observatory.lint.promql import Query, QueryChecker
from observatory.lint.report import Finding, LintReport

__all__ = [
    "FIELD_RULES",
    "Finding",
    "LintReport",
    "Query",
    "QueryChecker",
    "field_findings",
    "run_lint",
    "shipped_exemptions",
]

# Beside this module, so that an installed package lints with the exemptions its artefacts were made with.
SHIPPED_EXEMPTIONS = "field-exemptions.yml"
# dashboard-linter's and mixtool's dashboard rules, mixtool's alert rules, pint's offline checks.
FIELD_RULES: tuple[FieldRule, ...] = (*dashboard_linter.RULES, *mixtool.RULES, *pint.RULES)


def field_findings(files: dict[str, str], rules: Sequence[FieldRule] = FIELD_RULES) -> list[Finding]:
    """What the field linters' ``rules`` find in generated ``files`` (repository path -> text)."""
    artefacts = Artefacts.from_files(files)
    return [finding for rule in rules for finding in rule.findings(artefacts)]


def shipped_exemptions() -> tuple[Exemption, ...]:
    """The exemptions committed beside the rules, ``field-exemptions.yml``: each rule, objects and reason."""
    text = resources.files(__package__).joinpath(SHIPPED_EXEMPTIONS).read_text(encoding="utf-8")
    return parse_exemptions(text, (rule.id for rule in FIELD_RULES))


def run_lint(config: ObservatoryConfig = DEFAULT_CONFIG, exemptions: Sequence[Exemption] | None = None) -> LintReport:
    """Lint the dashboards and rules generated for ``config``.

    ``exemptions`` spare field-linter findings; None applies the shipped ones (:func:`shipped_exemptions`).
    """
    if exemptions is None:
        exemptions = shipped_exemptions()
    # Imported on use: both packages import this one's query checker.
    from observatory import dashboards, rules
    from observatory.artefacts import all_artefacts, panel_linker

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
    kept, unused = apply_exemptions(field_findings(all_artefacts(config)), exemptions)
    report.findings += kept
    report.sections.append(
        ("field linters", [f"{len(FIELD_RULES)} rules (dashboard-linter, mixtool, pint), {len(exemptions)} exemptions"])
    )
    if unused:
        report.sections.append(
            ("exemptions that spare nothing (remove them)", [f"{e.rule}: {', '.join(e.objects)}" for e in unused])
        )
    report.unused_metrics = [metric.name for metric in CATALOGUE if metric.name not in used]
    return report
