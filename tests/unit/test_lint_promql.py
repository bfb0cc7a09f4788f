"""The PromQL checker catches each kind of violation and accepts correct queries."""

from __future__ import annotations

import pytest

from observatory.catalogue import CATALOGUE
from observatory.lint.promql import Query, QueryChecker, substitute_grafana_variables

RECORDED = {"shard:themis_inference_requests:rate5m": ("shard",)}


def _problems(expr: str) -> list[str]:
    return [finding.problem for finding in QueryChecker(CATALOGUE, RECORDED).check(Query("here", expr))]


@pytest.mark.parametrize(
    "expr",
    [
        'sum by (shard) (rate(themis_inference_requests_total{shard=~"$shard"}[$__rate_interval]))',
        "histogram_quantile(0.95, sum by (le, shard) (rate(themis_inference_latency_seconds_bucket[5m])))",
        "themis_vram_usage_bytes / themis_vram_total_bytes > 0.9",
        "sum(increase(themis_inference_requests_total[$__range])) * ${api_price_per_query}",
        'up{job="themisdb-shards"} == 0 or absent(themis_inference_requests_total)',
        "count(themis_shard_health_status == 1) / count(themis_shard_health_status)",
        "shard:themis_inference_requests:rate5m > 10",
        'label_replace(themis_gpu_info, "x", "$1", "name", "(.*)")',
        # The mean of every observation since the process started (a model load happens once per process).
        "themis_model_load_latency_seconds_sum / (themis_model_load_latency_seconds_count > 0)",
    ],
)
def test_correct_queries_pass(expr: str) -> None:
    assert _problems(expr) == []


@pytest.mark.parametrize(
    ("expr", "expected"),
    [
        ("themis_no_such_metric", "unknown metric 'themis_no_such_metric'"),
        ('themis_vram_usage_bytes{device_id="0"}', "label 'device_id' is not declared"),
        ("rate(themis_vram_usage_bytes[5m])", "rate() on themis_vram_usage_bytes, which is not a counter"),
        ("sum(rate(themis_inference_requests_total[5m]", "unparsable query"),
        ("sum(themis_inference_requests_total)", "counter themis_inference_requests_total is used without rate()"),
        ("rate(themis_inference_latency_seconds[5m])", "needs _bucket, _sum or _count"),
        ("histogram_quantile(0.95, themis_inference_latency_seconds_bucket)", "used without rate()"),
        ("sum by (gpu) (rate(themis_inference_requests_total[5m]))", "groups by 'gpu'"),
        ('themis_inference_latency_seconds_sum{le="1"}', "label 'le' is not declared"),
        # Sum over count of another histogram, or a product: no mean of one histogram, raw counters.
        ("themis_model_load_latency_seconds_sum / themis_inference_latency_seconds_count", "used without rate()"),
        ("themis_model_load_latency_seconds_sum * themis_model_load_latency_seconds_count", "used without rate()"),
        ('shard:themis_inference_requests:rate5m{model="x"}', "label 'model' is not declared"),
    ],
)
def test_each_kind_of_violation_is_reported(expr: str, expected: str) -> None:
    problems = _problems(expr)
    assert any(expected in problem for problem in problems), problems


def test_a_histograms_lifetime_mean_reads_its_raw_sum_and_count() -> None:
    name = "themis_model_load_latency_seconds"
    expr = f'max by (shard) ({name}_sum{{shard=~"a"}} / {name}_count{{shard=~"a"}})'
    assert _problems(expr) == []


def test_findings_name_the_location_and_expression() -> None:
    [finding] = QueryChecker(CATALOGUE, {}).check(Query("dashboard 'X' / panel 'Y'", "themis_nope"))
    assert finding.where == "dashboard 'X' / panel 'Y'"
    assert finding.expr == "themis_nope"
    assert finding.render().startswith("dashboard 'X' / panel 'Y': unknown metric")


def test_grafana_variables_become_parsable_values_outside_strings() -> None:
    expr = 'rate(x_total{shard=~"$shard"}[$__rate_interval]) * $price * ${hours:raw} / $__range_s'
    assert substitute_grafana_variables(expr) == 'rate(x_total{shard=~"$shard"}[5m]) * 1 * 1 / 1'


def test_a_subquery_over_an_interval_variable_keeps_its_step() -> None:
    # `$__range:1h` is a subquery's range and step; only `${__range:raw}` carries a format.
    expr = "avg_over_time((sum(x))[$__range:1h]) + rate(y[${__interval}]) + rate(z[${__range:raw}])"
    assert substitute_grafana_variables(expr) == "avg_over_time((sum(x))[5m:1h]) + rate(y[5m]) + rate(z[5m])"


def test_referenced_metrics_resolves_histogram_series() -> None:
    checker = QueryChecker(CATALOGUE, RECORDED)
    names = checker.referenced_metrics("rate(themis_inference_latency_seconds_sum[5m]) / rate(themis_cpus[5m])")
    assert names == {"themis_inference_latency_seconds", "themis_cpus"}
