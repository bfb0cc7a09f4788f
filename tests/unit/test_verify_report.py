"""The verify report's pieces that need no server: panel queries as Prometheus runs them, gaps, rendering."""

from __future__ import annotations

import json

import pytest

from observatory.cli import main
from observatory.commandline import free_port
from observatory.verify.checks import panel_expr
from observatory.verify.report import (
    AlertmanagerResult,
    DashboardResult,
    PanelResult,
    Report,
    UndeclaredLabels,
    render_json,
    render_table,
)


def test_a_variable_in_a_matcher_selects_every_value_and_parameters_become_numbers() -> None:
    expr = 'sum(rate(x_total{shard=~"$shard"}[$__rate_interval])) * $gpu_cost_per_month / ${price}'
    assert panel_expr(expr) == 'sum(rate(x_total{shard=~".*"}[5m])) * 1 / 1'


def test_the_dashboards_range_is_the_range_it_opens_on() -> None:
    # A stat of the events over the dashboard's range: an event an hour ago shows on a 6 h dashboard.
    expr = "sum(increase(x_total[$__range])) / sum(increase(y_total[${__range}])) / $__range_s"
    assert panel_expr(expr, "6h") == "sum(increase(x_total[6h])) / sum(increase(y_total[6h])) / 1"
    assert panel_expr("rate(x_total[$__rate_interval])", "6h") == "rate(x_total[5m])"


def _report(**changes) -> Report:
    values = {
        "prometheus": "http://p:9090",
        "dashboards": (DashboardResult("u", "Overview", (PanelResult("Up", "data"), PanelResult("Cost", "empty"))),),
        "missing_metrics": (),
        "wrong_types": (),
        "undeclared_labels": (),
        "unexpected_metrics": (),
        "rule_errors": (),
        "missing_rule_groups": (),
        "firing_alerts": ("ThemisShardDown {shard=legal}",),
        "alertmanager": AlertmanagerResult(True, "http://a:9093: HTTP 200"),
    }
    return Report(**(values | changes))


def test_every_panel_without_data_is_a_gap_and_firing_alerts_are_not() -> None:
    report = _report()
    assert report.gaps == ("dashboard 'Overview': panel 'Cost' empty",)
    all_data = (DashboardResult("u", "Overview", (PanelResult("Up", "data"),)),)
    assert _report(dashboards=all_data).ok
    unreachable = _report(dashboards=all_data, alertmanager=AlertmanagerResult(False, "http://a:9093: HTTP 503"))
    assert unreachable.gaps == ("Alertmanager: http://a:9093: HTTP 503",)


def test_the_table_counts_panels_and_ends_with_the_verdict() -> None:
    labels = (UndeclaredLabels("themis_x_total", ("tenant",)),)
    text = render_table(_report(undeclared_labels=labels))
    assert "## Dashboard Overview (1 with data, 1 without)" in text
    assert "- themis_x_total: tenant" in text
    assert "- ThemisShardDown {shard=legal}" in text
    assert text.rstrip().endswith("FAILED: 2 gaps")


def test_json_carries_every_section_and_the_verdict() -> None:
    data = json.loads(render_json(_report()))
    assert data["ok"] is False and len(data["gaps"]) == 1
    assert data["dashboards"][0]["panels"][1] == {"title": "Cost", "status": "empty", "detail": ""}
    assert data["alertmanager"] == {"reachable": True, "detail": "http://a:9093: HTTP 200"}


def test_bad_urls_and_an_unreachable_prometheus_are_one_line(capsys) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["verify", "--prometheus", "localhost:9090"])
    assert exited.value.code == 2
    assert capsys.readouterr().err == (
        "observatory verify: error: argument --prometheus: expected an http(s) URL such as"
        " http://localhost:9090, got 'localhost:9090'\n"
    )
    dead = f"http://127.0.0.1:{free_port()}"
    assert main(["verify", "--prometheus", dead]) == 1
    err = capsys.readouterr().err
    assert err.startswith(f"observatory verify: cannot reach Prometheus at {dead}: ") and err.count("\n") == 1


class _Answers:
    """A Prometheus API stand-in answering each query with a fixed result."""

    def __init__(self, result: object) -> None:
        self.result = result

    def query(self, _expr: str) -> object:
        return self.result


@pytest.mark.parametrize("result, status", [
    ([], "empty"),
    ([{"metric": {}, "value": [1.0, "NaN"]}], "empty"),  # 0/0: Grafana shows no value
    ([{"metric": {}, "value": [1.0, "NaN"]}, {"metric": {"shard": "a"}, "value": [1.0, "0"]}], "data"),
    ([1.0, "NaN"], "empty"),  # a scalar
    ([1.0, "2"], "data"),
])  # fmt: skip
def test_a_panel_has_data_only_when_a_query_answers_a_number(result, status) -> None:
    from observatory.dashboards.model import Panel, PanelKind, Target
    from observatory.verify.checks import _panel

    panel = Panel("p", PanelKind.STAT, "d", "none", (Target("x", "x"),))
    assert _panel(_Answers(result), panel, "6h").status == status
