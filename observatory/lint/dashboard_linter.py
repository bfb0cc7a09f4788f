"""Grafana dashboard-linter's rules, and mixtool's dashboard checks, over the generated dashboard JSON."""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import Any

import promql_parser

from observatory.lint.field import Artefacts, FieldRule, Problem, panel_subject, parsed
from observatory.lint.labels import walk
from observatory.lint.promql import _selectors, substitute_grafana_variables

TEMPLATED_DATASOURCE = frozenset({"$datasource", "${datasource}"})
# Panel types whose values are numbers a unit applies to (the types dashboard-linter checks).
UNIT_PANEL_TYPES = frozenset({"stat", "singlestat", "graph", "table", "timeseries", "gauge"})
# Grafana's unit ids (its value-format categories), the ones a Themis panel may need.
GRAFANA_UNITS = frozenset(
    {
        "none", "short", "percent", "percentunit", "humidity", "dB", "hex", "hex0x", "sci", "locale", "pixel",
        "bool", "bool_yes_no", "bool_on_off",
        "s", "ms", "µs", "ns", "m", "h", "d", "dtdurationms", "dtdurations", "dthms", "dtdhms", "timeticks",
        "clockms", "clocks", "dateTimeAsIso", "dateTimeAsUS", "dateTimeFromNow",
        "bytes", "decbytes", "bits", "decbits", "kbytes", "deckbytes", "mbytes", "decmbytes", "gbytes",
        "decgbytes", "tbytes", "dectbytes", "pbytes", "decpbytes",
        "Bps", "binBps", "bps", "binbps", "KBs", "KiBs", "Kbits", "MBs", "MiBs", "Mbits", "GBs", "GiBs", "Gbits",
        "ops", "reqps", "rps", "wps", "iops", "cps", "opm", "rpm", "wpm", "cpm", "eps", "mps", "pps",
        "watt", "kwatt", "mwatt", "Wm2", "voltamp", "kvoltamp", "watth", "kwatth", "kwattm", "joule", "ev",
        "amp", "mamp", "volt", "mvolt", "hertz", "khertz", "mhertz", "ghertz",
        "celsius", "fahrenheit", "kelvin",
        "currencyUSD", "currencyGBP", "currencyEUR", "currencyJPY", "currencyCHF", "currencyCNY",
    }
)  # fmt: skip
# Custom units Grafana builds from a prefix: `suffix: tok/s`, `prefix: €`, `si: W`, `count: tokens`...
CUSTOM_UNIT = re.compile(r"^(suffix|prefix|si|count|currency|time|bool):.+")
RATE_FUNCTIONS = frozenset({"rate", "irate", "increase"})
# `$__rate_interval` becomes this duration before parsing, so a range can be told to be it afterwards.
_RATE_INTERVAL_SENTINEL = "1111s"
_RATE_INTERVAL = re.compile(r"\$__rate_interval\b|\$\{__rate_interval\}")
_VARIABLE_QUERY = re.compile(r"^\s*(label_values|query_result|label_names|metrics)\s*\((.*)\)\s*$", re.S)


def _datasource_uid(holder: Mapping[str, Any]) -> str:
    source = holder.get("datasource")
    return source.get("uid", "") if isinstance(source, dict) else str(source or "")


def _template_datasource(artefacts: Artefacts) -> Iterator[Problem]:
    for path, dashboard in artefacts.dashboards.items():
        sources = [v for v in dashboard.get("templating", {}).get("list", []) if v.get("type") == "datasource"]
        if len(sources) != 1:
            yield Problem(path, "dashboard", f"has {len(sources)} data source variables; define exactly one")
            continue
        [source] = sources
        if source.get("name") != "datasource":
            yield Problem(path, f"variable {source.get('name')!r}", "name the data source variable 'datasource'")
        if str(source.get("label", "")).lower() != "data source":
            yield Problem(path, "variable 'datasource'", "label the data source variable 'Data source'")
        if source.get("query") != "prometheus":
            yield Problem(path, "variable 'datasource'", "make the data source variable select Prometheus sources")


def _template_variable(name: str):
    def check(artefacts: Artefacts) -> Iterator[Problem]:
        for path, dashboard in artefacts.dashboards.items():
            found = [v for v in dashboard.get("templating", {}).get("list", []) if v.get("name") == name]
            if not found:
                yield Problem(path, "dashboard", f"add a {name!r} query variable (multi-select, All value .+)")
                continue
            variable = found[0]
            wrong = [
                what
                for what, ok in (
                    (f"label it {name!r}", str(variable.get("label", "")).lower() == name),
                    ("read it from $datasource", _datasource_uid(variable) in TEMPLATED_DATASOURCE),
                    ("make it a Prometheus query", variable.get("type") == "query"),
                    ("make it multi-select", variable.get("multi") is True),
                    ("set its All value to .+", variable.get("allValue") == ".+"),
                )
                if not ok
            ]
            if wrong:
                yield Problem(path, f"variable {name!r}", "; ".join(wrong))

    return check


def _variable_query(variable: Mapping[str, Any]) -> str:
    query = variable.get("query", "")
    return str(query.get("query", "")) if isinstance(query, dict) else str(query)


def _label_query_problem(query: str) -> str | None:
    """Why a query variable's query is not a Prometheus label or result query, None when it is."""
    match = _VARIABLE_QUERY.match(query)
    if not match:
        return "use label_values(), label_names(), metrics() or query_result()"
    function, inner = match.groups()
    if function == "label_values":
        expr, _, label = inner.rpartition(",")
        if not re.fullmatch(r"\s*[a-zA-Z_][a-zA-Z0-9_]*\s*", label):
            return f"{label.strip()!r} is not a label name"
        if expr.strip() and parsed(expr) is None:
            return f"{expr.strip()!r} is not valid PromQL"
    elif function == "query_result" and parsed(inner) is None:
        return f"{inner.strip()!r} is not valid PromQL"
    return None


def _template_label_promql(artefacts: Artefacts) -> Iterator[Problem]:
    for path, variable in artefacts.variables():
        if variable.get("type") != "query":
            continue
        problem = _label_query_problem(_variable_query(variable))
        if problem:
            yield Problem(path, f"variable {variable.get('name')!r}", problem)


def _panel_datasource(artefacts: Artefacts) -> Iterator[Problem]:
    for path, panel in artefacts.panels():
        holders = [panel, *panel.get("targets", [])]
        if any(_datasource_uid(holder) not in TEMPLATED_DATASOURCE for holder in holders):
            yield Problem(path, panel_subject(panel), "read the panel and its queries from the $datasource variable")


def _panel_title_description(artefacts: Artefacts) -> Iterator[Problem]:
    for path, panel in artefacts.panels():
        missing = [field for field in ("title", "description") if not str(panel.get(field, "")).strip()]
        if missing:
            yield Problem(path, panel_subject(panel), f"give the panel a {' and a '.join(missing)}")


def valid_unit(unit: str) -> bool:
    """Whether Grafana knows ``unit``: one of its unit ids or a custom ``prefix:`` unit."""
    return unit in GRAFANA_UNITS or CUSTOM_UNIT.match(unit) is not None


def _panel_units(artefacts: Artefacts) -> Iterator[Problem]:
    for path, panel in artefacts.panels():
        if panel.get("type") not in UNIT_PANEL_TYPES:
            continue
        defaults = panel.get("fieldConfig", {}).get("defaults", {})
        # Mapped values are text, and a stat showing a label's value shows no number.
        if defaults.get("mappings") or panel.get("options", {}).get("reduceOptions", {}).get("fields", "") != "":
            continue
        unit = str(defaults.get("unit", ""))
        if not valid_unit(unit):
            yield Problem(path, panel_subject(panel), f"set a Grafana unit (got {unit!r})")


def _target_promql(artefacts: Artefacts) -> Iterator[Problem]:
    for path, panel, target in artefacts.targets():
        if parsed(str(target.get("expr", ""))) is None:
            yield Problem(path, panel_subject(panel), f"query {target.get('refId', '')} is not valid PromQL")


def fixed_rate_windows(expr: str) -> list[str]:
    """The functions of ``expr`` (rate, irate, increase) whose range is not ``$__rate_interval``."""
    try:
        tree = promql_parser.parse(substitute_grafana_variables(_RATE_INTERVAL.sub(_RATE_INTERVAL_SENTINEL, expr)))
    except ValueError:
        return []
    fixed = []
    for node in walk(tree):
        if isinstance(node, promql_parser.Call) and node.func.name in RATE_FUNCTIONS:
            argument = node.args[0] if node.args else None
            if isinstance(argument, promql_parser.MatrixSelector) and argument.range.total_seconds() != 1111:
                fixed.append(f"{node.func.name}() over {argument.vector_selector.name}")
    return fixed


def _target_rate_interval(artefacts: Artefacts) -> Iterator[Problem]:
    for path, panel, target in artefacts.targets():
        for call in fixed_rate_windows(str(target.get("expr", ""))):
            yield Problem(path, panel_subject(panel), f"{call}: use [$__rate_interval] as its range")


def _target_matcher(label: str):
    def check(artefacts: Artefacts) -> Iterator[Problem]:
        for path, panel, target in artefacts.targets():
            tree = parsed(str(target.get("expr", "")))
            if tree is None:
                continue
            for selector in _selectors(tree):
                if not any(m.name == label and f"${label}" in m.value for m in selector.matchers.matchers):
                    yield Problem(path, panel_subject(panel), f'{selector.name or "selector"}: add {label}=~"${label}"')

    return check


def _dashboard_field(field: str):
    def check(artefacts: Artefacts) -> Iterator[Problem]:
        for path, dashboard in artefacts.dashboards.items():
            if not str(dashboard.get(field, "")).strip():
                yield Problem(path, "dashboard", f"give the dashboard a {field}")

    return check


LINTER = "dashboard-linter"
RULES = (
    FieldRule("template-datasource", LINTER, "one Prometheus data source variable, `datasource`",
              _template_datasource),
    FieldRule("template-job", LINTER, "a multi-select `job` variable from `$datasource`, All value `.+`",
              _template_variable("job")),
    FieldRule("template-instance", LINTER, "a multi-select `instance` variable from `$datasource`, All value `.+`",
              _template_variable("instance")),
    FieldRule("template-label-promql", LINTER, "query variables are label_values()/query_result() of valid PromQL",
              _template_label_promql),
    FieldRule("panel-datasource", LINTER, "every panel and query reads `$datasource`", _panel_datasource),
    FieldRule("panel-title-description", LINTER, "every panel has a title and a description",
              _panel_title_description),
    FieldRule("panel-units", LINTER, "numeric panels have a unit Grafana knows", _panel_units),
    FieldRule("target-promql", LINTER, "every query is valid PromQL", _target_promql),
    FieldRule("target-rate-interval", LINTER, "rate(), irate() and increase() range over `$__rate_interval`",
              _target_rate_interval),
    FieldRule("target-job", LINTER, 'every selector matches `job=~"$job"`', _target_matcher("job")),
    FieldRule("target-instance", LINTER, 'every selector matches `instance=~"$instance"`',
              _target_matcher("instance")),
    FieldRule("dashboard-title", "mixtool", "every dashboard has a title", _dashboard_field("title")),
    FieldRule("dashboard-uid", "mixtool", "every dashboard has a uid", _dashboard_field("uid")),
)  # fmt: skip
