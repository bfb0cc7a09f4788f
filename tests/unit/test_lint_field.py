"""Each rule of the field's linters fires on a fixture that breaks it and stays silent on one that keeps it."""

from __future__ import annotations

import json
from dataclasses import dataclass

import pytest
import yaml

from observatory.lint import FIELD_RULES, field_findings, shipped_exemptions
from observatory.lint.exemptions import ExemptionError, apply_exemptions, parse_exemptions
from observatory.lint.labels import output_labels
from observatory.lint.promql import parse

DASHBOARD = "dashboards/generated/fixture.json"
RULES = "rules/fixture.yml"
SELECTED = 'job=~"$job", instance=~"$instance"'
DATASOURCE = {"type": "prometheus", "uid": "${datasource}"}


def variable(name: str, **fields) -> dict:
    """A query variable as dashboard-linter wants job and instance written."""
    return {
        "name": name,
        "label": name,
        "type": "query",
        "datasource": DATASOURCE,
        "multi": True,
        "allValue": ".+",
        "query": f"label_values(up, {name})",
    } | fields


VARIABLES = [
    {"name": "datasource", "label": "Data source", "type": "datasource", "query": "prometheus"},
    variable("job"),
    variable("instance", query='label_values(up{job=~"$job"}, instance)'),
]


def panel(expr: str = f"sum(rate(requests_total{{{SELECTED}}}[$__rate_interval]))", **fields) -> dict:
    """A time series panel with one query, a unit, a title and a description."""
    return {
        "type": "timeseries",
        "title": "Requests",
        "description": "Requests per second.",
        "datasource": DATASOURCE,
        "fieldConfig": {"defaults": {"unit": "reqps", "mappings": []}},
        "targets": [{"expr": expr, "refId": "A", "datasource": DATASOURCE}],
    } | fields


def dashboard(panels: list | None = None, variables: list | None = None, **fields) -> dict[str, str]:
    data = {
        "title": "Fixture",
        "uid": "fixture",
        "templating": {"list": VARIABLES if variables is None else variables},
        "panels": [{"type": "row", "title": "Row"}, *(panels if panels is not None else [panel()])],
    } | fields
    return {DASHBOARD: json.dumps(data)}


def alert(**fields) -> dict:
    """An alert every field rule accepts; ``fields`` break one thing at a time."""
    return {
        "alert": "RequestErrorsHigh",
        "expr": "sum by (shard) (rate(errors_total[5m])) > 1",
        "for": "5m",
        "labels": {"severity": "warning"},
        "annotations": {"summary": "Requests fail.", "description": "{{ $labels.shard }} fails {{ $value }}/s."},
    } | fields


def rules(*items: dict) -> dict[str, str]:
    return {RULES: yaml.safe_dump({"groups": [{"name": "fixture", "rules": list(items)}]})}


ERROR_RATE = "sum by (shard) (rate(errors_total[5m]))"
TEMPLATED = {"summary": "{{ $labels.shard }} fails.", "description": "{{ $value }}"}
RECORD = {"record": "shard:requests:rate5m", "expr": "sum by (shard) (rate(requests_total[5m]))"}


@dataclass(frozen=True)
class Case:
    rule: str
    fires: dict[str, str]
    silent: dict[str, str]
    # What the finding must say: its object and the change asked for.
    says: str


CASES = [
    Case("template-datasource", dashboard(variables=VARIABLES[1:]), dashboard(), "define exactly one"),
    Case(
        "template-datasource",
        dashboard(variables=[VARIABLES[0] | {"label": "DS"}, *VARIABLES[1:]]),
        dashboard(),
        "label the data source variable",
    ),
    Case("template-job", dashboard(variables=[VARIABLES[0], VARIABLES[2]]), dashboard(), "add a 'job' query variable"),
    Case(
        "template-job",
        dashboard(variables=[VARIABLES[0], variable("job", allValue=".*"), VARIABLES[2]]),
        dashboard(),
        "set its All value to .+",
    ),
    Case("template-instance", dashboard(variables=VARIABLES[:2]), dashboard(), "add a 'instance' query variable"),
    Case(
        "template-label-promql",
        dashboard(variables=[*VARIABLES, variable("shard", query="label_values(up{, shard)")]),
        dashboard(variables=[*VARIABLES, variable("shard", query='label_values(up{job=~"$job"}, shard)')]),
        "variable 'shard'",
    ),
    Case(
        "panel-datasource",
        dashboard([panel(datasource={"type": "prometheus", "uid": "prom-1"})]),
        dashboard(),
        "panel 'Requests': [panel-datasource] read the panel",
    ),
    Case("panel-title-description", dashboard([panel(description="")]), dashboard(), "give the panel a description"),
    Case(
        "panel-units",
        dashboard([panel(fieldConfig={"defaults": {"unit": "requests", "mappings": []}})]),
        dashboard([panel(fieldConfig={"defaults": {"unit": "suffix: tok/s", "mappings": []}})]),
        "set a Grafana unit (got 'requests')",
    ),
    Case(
        "target-promql",
        dashboard([panel(f"sum(rate(requests_total{{{SELECTED}}}[$__rate_interval])")]),
        dashboard(),
        "query A is not valid PromQL",
    ),
    Case(
        "target-rate-interval",
        dashboard([panel(f"sum(rate(requests_total{{{SELECTED}}}[5m]))")]),
        dashboard([panel(f"sum(rate(requests_total{{{SELECTED}}}[${{__rate_interval}}]))")]),
        "rate() over requests_total: use [$__rate_interval]",
    ),
    Case("target-job", dashboard([panel('up{instance=~"$instance"}')]), dashboard(), 'up: add job=~"$job"'),
    Case("target-instance", dashboard([panel('up{job=~"$job"}')]), dashboard(), 'up: add instance=~"$instance"'),
    Case("dashboard-title", dashboard(title=""), dashboard(), "give the dashboard a title"),
    Case("dashboard-uid", dashboard(uid=""), dashboard(), "give the dashboard a uid"),
    Case("alert-name-camelcase", rules(alert(alert="request_errors_high")), rules(alert()), "CamelCase"),
    Case(
        "alert-severity",
        rules(alert(labels={"severity": "none"})),
        rules(alert(labels={"severity": "info"})),
        "got 'none'",
    ),
    Case(
        "alert-description",
        rules(alert(annotations={"summary": "Requests fail.", "description": "Fails."})),
        rules(alert()),
        "template the description",
    ),
    Case(
        "alert-description",
        rules(alert(annotations={"summary": "Requests fail."})),
        rules(alert()),
        "add a description",
    ),
    Case("alert-summary", rules(alert(annotations=TEMPLATED)), rules(alert()), "keep templates out of the summary"),
    Case(
        "alert-summary",
        rules(alert(annotations={"summary": "requests fail.", "description": "{{ $value }}"})),
        rules(alert()),
        "start the summary with a capital",
    ),
    Case(
        "alert-summary",
        rules(alert(annotations={"summary": "Requests fail", "description": "{{ $value }}"})),
        rules(alert()),
        "end the summary with a period",
    ),
    Case(
        "alerts/template",
        rules(alert(expr="sum(rate(errors_total[5m])) > 1")),
        rules(alert()),
        "reads $labels.shard, which the query's result never carries",
    ),
    Case(
        "alerts/template",
        rules(alert(labels={"severity": "warning", "rate": "{{ $value }}"})),
        rules(alert()),
        "label rate uses $value",
    ),
    Case(
        "alerts/comparison",
        rules(alert(expr="sum by (shard) (rate(errors_total[5m]))")),
        rules(alert(expr='absent(up{job="shards"})', annotations={"summary": "Gone.", "description": "{{ $value }}"})),
        "has no condition",
    ),
    Case(
        "alerts/comparison",
        rules(alert(expr="sum by (shard) (rate(errors_total[5m])) > bool 1")),
        rules(alert()),
        "uses bool",
    ),
    Case("alerts/for", rules(alert(**{"for": "0s"})), rules(alert()), "for: 0s is the default"),
    Case("alerts/for", rules(alert(**{"for": "five minutes"})), rules(alert()), "is not a Prometheus duration"),
    Case("rule/for", rules(alert(**{"for": "2h"})), rules(alert(**{"for": "1h"})), "for: 2h is longer than 1h"),
    Case("rule/label", rules(alert(labels={})), rules(alert()), "set a severity label"),
    Case("rule/label", rules(RECORD | {"labels": {"severity": "warning"}}), rules(RECORD), "remove label severity"),
    Case(
        "rule/duplicate",
        rules(RECORD, RECORD),
        rules(RECORD, RECORD | {"labels": {"slo": "latency"}}),
        "defined 2 times",
    ),
    Case(
        "promql/aggregate",
        rules(RECORD | {"expr": "sum(rate(requests_total[5m]))"}),
        rules(RECORD),
        "keeps 'shard' but the query drops it",
    ),
    Case(
        "promql/impossible",
        rules(RECORD | {"expr": "sum by (shard) (sum(rate(requests_total[5m])))"}),
        rules(RECORD),
        "sum by (shard) over a result that no longer has 'shard'",
    ),
    Case(
        "promql/impossible",
        rules(
            alert(
                expr="sum(rate(errors_total[5m])) > on (shard) sum by (shard) (up)",
                annotations={"summary": "A.", "description": "{{ $value }}"},
            )
        ),
        rules(alert(expr="sum by (shard) (rate(errors_total[5m])) > on (shard) sum by (shard) (up)")),
        "the left side has no shard",
    ),
    Case(
        "promql/impossible",
        rules(alert(expr="sum by (shard) (up) unless sum(errors_total)")),
        rules(alert(expr="sum by (shard) (up == 0) unless on (shard) sum by (shard) (rate(errors_total[5m]))")),
        "never matches",
    ),
    Case(
        "promql/fragile",
        rules(alert(expr="topk(3, sum by (shard) (rate(errors_total[5m]))) > 1")),
        rules(alert()),
        "topk() picks other series",
    ),
    Case(
        "promql/fragile",
        rules(
            alert(
                expr="sum by (shard) (rate(errors_total[5m])) / sum by (shard) (rate(requests_total[5m])) > 0.1",
                **{"for": "0s"},
            )
        ),
        rules(alert(expr="sum by (shard) (rate(errors_total[5m])) / sum by (shard) (rate(requests_total[5m])) > 0.1")),
        "arithmetic between two aggregations without for",
    ),
    Case(
        "promql/regexp",
        rules(alert(expr='sum by (shard) (rate(errors_total{code=~"500"}[5m])) > 1')),
        rules(alert(expr='sum by (shard) (rate(errors_total{code=~"5.."}[5m])) > 1')),
        'use code="500"',
    ),
    Case(
        "promql/regexp",
        rules(alert(expr='sum by (shard) (rate(errors_total{code=~"^5..$"}[5m])) > 1')),
        rules(alert()),
        "drop ^ and $",
    ),
    Case(
        "promql/vector_matching",
        rules(alert(expr=f"{ERROR_RATE} / sum by (shard, model) (rate(requests_total[5m])) > 1")),
        rules(alert(expr="sum by (shard) (rate(errors_total[5m])) / sum by (shard) (rate(requests_total[5m])) > 1")),
        "no series match",
    ),
    Case(
        "promql/counter",
        rules(alert(expr="sum by (shard) (errors_total) > 1")),
        rules(alert(expr="count by (shard) (errors_total) > 1")),
        "counter errors_total is read raw",
    ),
]


@pytest.mark.parametrize("case", CASES, ids=lambda case: f"{case.rule}:{case.says[:30]}")
def test_a_rule_fires_on_its_fixture_and_not_on_the_fixed_one(case: Case) -> None:
    [rule] = [rule for rule in FIELD_RULES if rule.id == case.rule]
    fired = field_findings(case.fires, [rule])
    assert fired, f"{case.rule} did not fire"
    rendered = "\n".join(finding.render() for finding in fired)
    assert case.says in rendered
    # The finding names the file and the rule.
    assert fired[0].where.startswith((DASHBOARD, RULES)) and f"[{case.rule}]" in rendered
    assert field_findings(case.silent, [rule]) == []


def test_the_silent_fixtures_pass_every_rule_of_their_linter() -> None:
    # The good dashboard and the good alert are clean for all rules, so each firing fixture breaks one thing.
    assert field_findings(dashboard() | rules(alert(), RECORD)) == []


def test_every_field_rule_has_a_fixture() -> None:
    assert {rule.id for rule in FIELD_RULES} == {case.rule for case in CASES}
    assert len({rule.id for rule in FIELD_RULES}) == len(FIELD_RULES)


@pytest.mark.parametrize(
    ("expr", "labels"),
    [
        ("sum by (shard) (rate(x_total[5m]))", {"shard"}),
        ("histogram_quantile(0.9, sum by (le, shard) (rate(x_bucket[5m])))", {"shard"}),
        ('absent(up{job="a", shard!="b"})', {"job"}),
        ("vector(1)", set()),
        ("sum by (a) (x) * on (a) group_left (b) sum by (a, b) (y)", {"a", "b"}),
        ("sum by (a, b) (x) / on (a) sum by (a) (y)", {"a"}),
        ('label_replace(sum by (a) (x), "c", "$1", "a", "(.*)")', {"a", "c"}),
        ("rate(x_total[5m])", None),
        ("sum without (a) (x)", None),
    ],
)
def test_the_labels_a_result_carries(expr: str, labels: set[str] | None) -> None:
    assert output_labels(parse(expr)) == (None if labels is None else frozenset(labels))


def test_an_exemption_spares_only_its_rule_on_its_objects() -> None:
    findings = field_findings(rules(alert(alert="bad_name", labels={"severity": "none"})))
    assert {finding.rule for finding in findings} == {"alert-name-camelcase", "alert-severity"}
    exemptions = parse_exemptions(
        yaml.safe_dump(
            {
                "exemptions": [
                    {"rule": "alert-severity", "objects": [f"{RULES} / alert 'bad_*'"], "reason": "a fixture"},
                    {"rule": "alert-severity", "objects": ["x"], "reason": "spares nothing"},
                ]
            }
        ),
        (rule.id for rule in FIELD_RULES),
    )
    kept, unused = apply_exemptions(findings, exemptions)
    assert [finding.rule for finding in kept] == ["alert-name-camelcase"]
    assert [exemption.objects for exemption in unused] == [("x",)]


@pytest.mark.parametrize(
    ("entry", "error"),
    [
        ({"rule": "no-such-rule", "objects": ["*"], "reason": "r"}, "unknown rule 'no-such-rule'"),
        ({"rule": "target-job", "objects": [], "reason": "r"}, "objects must be a non-empty list"),
        ({"rule": "target-job", "objects": ["*"]}, "give the reason"),
    ],
)
def test_an_incomplete_exemption_is_refused_with_its_number(entry: dict, error: str) -> None:
    with pytest.raises(ExemptionError, match="exemption 1") as raised:
        parse_exemptions(yaml.safe_dump({"exemptions": [entry]}), (rule.id for rule in FIELD_RULES))
    assert error in str(raised.value)


def test_the_readme_lists_every_rule_and_every_exempted_rule(repo_root) -> None:
    readme = (repo_root / "README.md").read_text()
    assert [rule.id for rule in FIELD_RULES if f"| `{rule.id}` | {rule.linter} |" not in readme] == []
    exempted = {exemption.rule for exemption in shipped_exemptions()}
    assert [rule for rule in sorted(exempted) if f"`{rule}`" not in readme.split("Today's exemptions:")[1]] == []
