"""The agreement rules between a client's figures and Prometheus': which request a quantile is, which bucket."""

from __future__ import annotations

import math

import pytest

from observatory.loadgen.agreement import Window, agrees, bucket_of, compare_counts, ranked

BOUNDS = (0.01, 0.025, 0.05, 0.1)


@pytest.mark.parametrize(("quantile", "expected"), [(0.5, 5.0), (0.9, 9.0), (0.91, 10.0), (0.99, 10.0), (0.1, 1.0)])
def test_a_quantile_is_the_request_where_the_cumulative_count_reaches_q_times_n(quantile: float, expected: float):
    # Prometheus reads the bucket where the count of observations reaches q × n: of ten, p90 is the 9th.
    assert ranked([10.0, 3.0, 1.0, 7.0, 5.0, 2.0, 9.0, 4.0, 8.0, 6.0], quantile) == expected


@pytest.mark.parametrize(
    ("value", "bucket"),
    [(0.005, (0.0, 0.01)), (0.05, (0.025, 0.05)), (0.0501, (0.05, 0.1)), (3.0, (0.1, math.inf))],
)
def test_a_value_on_a_bound_belongs_to_the_bucket_below_it(value: float, bucket: tuple[float, float]) -> None:
    assert bucket_of(value, BOUNDS) == bucket


@pytest.mark.parametrize(
    ("client", "server", "verdict"),
    [
        (0.03, 0.04, True),  # the same bucket (0.025, 0.05]
        (0.06, 0.045, True),  # later by the client's own receipt, within one bucket width above
        (0.08, 0.045, False),  # more than a bucket width above the server's bucket
        (0.02, 0.045, False),  # earlier than the server's bucket: the server cannot be later than its client
    ],
)
def test_a_client_value_agrees_in_the_servers_bucket_or_just_above(client: float, server: float, verdict: bool):
    assert agrees(client, server, BOUNDS) is verdict


def test_counts_are_the_counters_rise_between_the_windows_two_ends() -> None:
    asked = []

    def query(expr: str, at: float) -> list[float]:
        asked.append((expr, at))
        return [12.0]

    rows = compare_counts(query, Window(100.0, 200.0), 'shard="legal"', {"requests": 12, "generated_tokens": 11})
    assert [(row.figure, row.agrees) for row in rows] == [("requests", True), ("generated_tokens", False)]
    expr, at = asked[0]
    assert at == 200.0
    assert expr == (
        'sum (themis_inference_requests_total{status="success", shard="legal"} @ 200.000)'
        ' - sum (themis_inference_requests_total{status="success", shard="legal"} @ 100.000)'
    )
