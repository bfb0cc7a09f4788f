"""mixtool's alert rules over the generated rule files: names, severity, description and summary."""

from __future__ import annotations

import re
from collections.abc import Iterator

from observatory.lint.field import Artefacts, FieldRule, Problem, rule_subject

SEVERITIES = ("critical", "warning", "info")
_CAMEL_CASE = re.compile(r"^[A-Z][a-zA-Z0-9]*$")
_TEMPLATE = "{{"


def _camel_case(artefacts: Artefacts) -> Iterator[Problem]:
    for path, alert in artefacts.alerts():
        if not _CAMEL_CASE.match(str(alert["alert"])):
            yield Problem(path, rule_subject(alert), "name the alert in CamelCase (letters and digits, capital first)")


def _severity(artefacts: Artefacts) -> Iterator[Problem]:
    for path, alert in artefacts.alerts():
        severity = (alert.get("labels") or {}).get("severity")
        if severity not in SEVERITIES:
            yield Problem(
                path, rule_subject(alert), f"set label severity to one of {'|'.join(SEVERITIES)} (got {severity!r})"
            )


def _description(artefacts: Artefacts) -> Iterator[Problem]:
    for path, alert in artefacts.alerts():
        description = str((alert.get("annotations") or {}).get("description", ""))
        if not description:
            yield Problem(path, rule_subject(alert), "add a description annotation")
        elif _TEMPLATE not in description:
            yield Problem(path, rule_subject(alert), "template the description with $labels or $value")


def summary_problem(summary: str) -> str | None:
    """What is wrong with a summary annotation for mixtool, None when nothing is."""
    if not summary:
        return "add a summary annotation"
    if _TEMPLATE in summary:
        return "keep templates out of the summary (it names the alert for every series alike)"
    if not summary[0].isupper():
        return "start the summary with a capital letter"
    if not summary.endswith("."):
        return "end the summary with a period"
    return None


def _summary(artefacts: Artefacts) -> Iterator[Problem]:
    for path, alert in artefacts.alerts():
        problem = summary_problem(str((alert.get("annotations") or {}).get("summary", "")))
        if problem:
            yield Problem(path, rule_subject(alert), problem)


LINTER = "mixtool"
RULES = (
    FieldRule("alert-name-camelcase", LINTER, "alert names are CamelCase", _camel_case),
    FieldRule("alert-severity", LINTER, "`severity` is critical, warning or info", _severity),
    FieldRule("alert-description", LINTER, "a description exists and is templated", _description),
    FieldRule(
        "alert-summary",
        LINTER,
        "a summary exists, is not templated, starts with a capital, ends with a period",
        _summary,
    ),
)
