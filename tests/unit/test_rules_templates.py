"""Annotation rendering mirrors Prometheus' template functions; the duration and name helpers."""

from __future__ import annotations

import pytest

from observatory.rules.model import names_in, seconds
from observatory.rules.templates import TemplateError, humanize, humanize_duration, humanize_percentage, render


@pytest.mark.parametrize(
    ("function", "value", "text"),
    [
        (humanize, 0.0, "0"),
        (humanize, 15.84, "15.84"),
        (humanize, 1234.5, "1.234k"),
        (humanize, 0.25, "250m"),
        (humanize_percentage, 0.315, "31.5%"),
        (humanize_percentage, 0.0105, "1.05%"),
        (humanize_duration, 2.1, "2.1s"),
        (humanize_duration, 0.21, "210ms"),
        (humanize_duration, 75.0, "1m 15s"),
        (humanize_duration, 90061.0, "1d 1h 1m 1s"),
    ],
)
def test_humanize_functions(function, value: float, text: str) -> None:
    assert function(value) == text


def test_render_fills_labels_and_value() -> None:
    template = "Shard {{ $labels.shard }} at {{ $value | humanizePercentage }}."
    assert render(template, {"shard": "legal"}, 0.945) == "Shard legal at 94.5%."


@pytest.mark.parametrize("template", ["{{ $value }}", "{{ .Labels.shard }}", '{{ $value | printf "%.2f" }}', "{{ x"])
def test_render_refuses_what_it_cannot_predict(template: str) -> None:
    with pytest.raises(TemplateError):
        render(template, {}, 1.0)


@pytest.mark.parametrize(
    ("duration", "expected"),
    [("5m", 300.0), ("6h", 21_600.0), ("30d", 2_592_000.0), ("1.5h", 5400.0), ("10s", 10.0), ("250ms", 0.25)],
)
def test_seconds_reads_one_unit_durations(duration: str, expected: float) -> None:
    assert seconds(duration) == expected


@pytest.mark.parametrize("duration", ["5", "1h30m", "10 s", "", "5M"])
def test_seconds_refuses_other_durations(duration: str) -> None:
    with pytest.raises(ValueError, match="is not a number followed by"):
        seconds(duration)


def test_names_in_lists_each_name_like_token_once_in_order() -> None:
    expr = 'shard:x:rate5m{slo="a"} / on (shard) y_total + shard:x:rate5m'
    # Lexical: label names, values and keywords come too; callers keep only known series.
    assert names_in(expr) == ["shard:x:rate5m", "slo", "a", "on", "shard", "y_total"]
