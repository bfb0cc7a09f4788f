"""Rule checks that the PromQL checker does not make: names, annotations, group sizes, test coverage."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence

from observatory.lint.report import Finding
from observatory.rules import templates
from observatory.rules.model import Alert, Group, Recording

SEVERITIES = ("critical", "warning", "info", "none")
MAX_NAME_LENGTH = 40
MAX_RULES_PER_GROUP = 20
_CAMEL_CASE = re.compile(r"^[A-Z][a-zA-Z0-9]*$")
_RECORD_NAME = re.compile(r"^[a-z][a-z0-9_]*:[a-z][a-z0-9_]*:[a-z0-9_]+$")


def where(group: Group, rule: Alert | Recording) -> str:
    """The location string ``observatory lint`` prints for a rule."""
    if isinstance(rule, Alert):
        return f"rule group '{group.name}' / alert '{rule.name}'"
    return f"rule group '{group.name}' / record '{rule.record}'"


def _alert_problems(alert: Alert) -> list[str]:
    problems = []
    if not _CAMEL_CASE.match(alert.name):
        problems.append("alert name is not CamelCase")
    if len(alert.name) > MAX_NAME_LENGTH:
        problems.append(f"alert name is longer than {MAX_NAME_LENGTH} characters")
    if alert.severity not in SEVERITIES:
        problems.append(f"severity {alert.severity!r} is not one of {', '.join(SEVERITIES)}")
    summary = alert.summary
    if not summary:
        problems.append("summary is missing")
    elif "{{" in summary or not summary[0].isupper() or not summary.endswith("."):
        problems.append("summary is not a plain sentence (no template, capital first, full stop last)")
    if not alert.description:
        problems.append("description is missing")
    elif "{{ $labels." not in alert.description and "{{ $value" not in alert.description:
        problems.append("description uses neither the series' labels nor its value")
    for key, text in alert.annotations:
        try:
            templates.check(text)
        except templates.TemplateError as error:
            problems.append(f"{key}: {error}")
    if not alert.runbook_url:
        problems.append("runbook_url is missing")
    if not alert.dashboard_url:
        problems.append("dashboard_url is missing")
    if alert.check is None and not alert.states:
        problems.append("no generated promtool cases (a probe of its threshold or presence) and no states")
    return problems


def _recording_problems(rule: Recording) -> list[str]:
    problems = []
    if not _RECORD_NAME.match(rule.record):
        problems.append("record name does not follow level:metric:operations")
    if rule.case is None or rule.case.value is None:
        problems.append("no promtool test of the recorded output")
    return problems


def coverage_lines(groups: Sequence[Group]) -> list[str]:
    """The coverage section ``observatory lint`` prints."""
    alerts = [alert for group in groups for alert in group.alerts]
    recordings = [rule for group in groups for rule in group.recordings]
    covered = sum(1 for alert in alerts if alert.check is not None)
    tested = sum(1 for rule in recordings if rule.case is not None and rule.case.value is not None)
    return [
        f"alerts with generated boundary, for, missing and flapping cases: {covered}/{len(alerts)}"
        f" ({_percent(covered, len(alerts))})",
        f"recording rules with an output test: {tested}/{len(recordings)} ({_percent(tested, len(recordings))})",
    ]


def _percent(part: int, whole: int) -> str:
    return f"{100 * part // whole if whole else 100} %"


def lint_groups(groups: Sequence[Group]) -> tuple[list[Finding], list[tuple[str, list[str]]]]:
    """Findings for every rule, and the coverage section."""
    findings: list[Finding] = []
    names = Counter(alert.name for group in groups for alert in group.alerts)
    for group in groups:
        if len(group.rules) > MAX_RULES_PER_GROUP:
            findings.append(Finding(f"rule group '{group.name}'", f"more than {MAX_RULES_PER_GROUP} rules"))
        for rule in group.rules:
            if isinstance(rule, Alert):
                problems = _alert_problems(rule)
                if names[rule.name] > 1:
                    problems.append("alert name is used by another alert")
            else:
                problems = _recording_problems(rule)
            findings += [Finding(where(group, rule), problem) for problem in problems]
    return findings, [("rule test coverage", coverage_lines(groups))]
