"""The generated promtool tests feed series that respect each metric's type and labels."""

from __future__ import annotations

import re
from collections import defaultdict
from itertools import pairwise
from pathlib import Path

import pytest
import yaml

from observatory.catalogue import CATALOGUE
from observatory.config import DEFAULT_CONFIG
from observatory.lint.promql import QueryChecker
from observatory.metric import MetricType
from observatory.rules import recorded_series

_SERIES = re.compile(r"^(?P<name>[a-zA-Z_:][a-zA-Z0-9_:]*)(\{(?P<labels>.*)\})?$")
_LABEL = re.compile(r'(\w+)="((?:[^"\\]|\\.)*)"')
_SEGMENT = re.compile(r"^(?P<start>-?[0-9.e+]+?)(?P<step>[+-][0-9.e]+)?x(?P<times>\d+)$")


def expand(values: str) -> list[float | None]:
    """promtool's expanding notation: ``a+bxn`` is n+1 samples, ``axn`` n+1 times a, ``_`` a missing one."""
    samples: list[float | None] = []
    for token in values.split():
        if token in ("_", "stale"):
            samples.append(None)
        elif match := _SEGMENT.match(token):
            start, step = float(match["start"]), float(match["step"] or 0)
            samples += [start + step * i for i in range(int(match["times"]) + 1)]
        else:
            samples.append(float(token))
    return samples


def falls(samples: list[float | None]) -> bool:
    """True if any present sample is below the one before it."""
    present = [value for value in samples if value is not None]
    return any(later < earlier for earlier, later in pairwise(present))


def _test_cases(repo_root: Path) -> list[tuple[str, list[dict]]]:
    cases = []
    for path in sorted((repo_root / "rules" / "tests").rglob("*.yml")):
        for index, case in enumerate(yaml.safe_load(path.read_text())["tests"]):
            cases.append((f"{path.name}#{index}", case["input_series"]))
    return cases


def _parse(series: str) -> tuple[str, dict[str, str]]:
    match = _SERIES.match(series)
    assert match, series
    return match["name"], dict(_LABEL.findall(match["labels"] or ""))


def test_expand_follows_promtool_notation() -> None:
    assert expand("0+10x2 _ 5 1-1x1 7x2 stale") == [0.0, 10.0, 20.0, None, 5.0, 1.0, 0.0, 7.0, 7.0, 7.0, None]


def test_every_input_series_is_a_catalogue_metric_with_declared_labels(repo_root: Path) -> None:
    problems = []
    for where, inputs in _test_cases(repo_root):
        for item in inputs:
            name, labels = _parse(item["series"])
            # Alert tests may feed a recorded series directly, with the labels its rule keeps.
            known = QueryChecker(CATALOGUE, recorded_series(DEFAULT_CONFIG)).series_labels(name)
            if known is None:
                problems.append(f"{where}: {name} is neither a catalogue metric nor a recorded series")
                continue
            problems += [f"{where}: {name} has undeclared label {label}" for label in labels if label not in known[0]]
    assert problems == []


def test_counters_and_histogram_series_only_rise(repo_root: Path) -> None:
    falling = []
    for where, inputs in _test_cases(repo_root):
        for item in inputs:
            name, _ = _parse(item["series"])
            resolved = CATALOGUE.resolve_series(name)
            if resolved is None:
                continue
            metric, suffix = resolved
            if (metric.type is MetricType.COUNTER or suffix) and falls(expand(item["values"])):
                falling.append(f"{where}: {item['series']}")
    assert falling == []


def test_histogram_buckets_are_cumulative_and_inf_equals_count(repo_root: Path) -> None:
    problems = []
    for where, inputs in _test_cases(repo_root):
        buckets: dict[tuple, list[tuple[float, list[float | None]]]] = defaultdict(list)
        counts: dict[tuple, list[float | None]] = {}
        for item in inputs:
            name, labels = _parse(item["series"])
            resolved = CATALOGUE.resolve_series(name)
            if resolved is None or resolved[0].type is not MetricType.HISTOGRAM:
                continue
            metric, suffix = resolved
            rest = labels.copy()
            bound = rest.pop("le", None)
            key = (metric.name, tuple(sorted(rest.items())))
            if suffix == "_bucket":
                buckets[key].append((float(bound), expand(item["values"])))
            elif suffix == "_count":
                counts[key] = expand(item["values"])
        for key, series in buckets.items():
            series.sort()
            for (_, lower), (upper_bound, upper) in pairwise(series):
                if any(a is not None and b is not None and b < a for a, b in zip(lower, upper, strict=False)):
                    problems.append(f"{where}: {key} bucket le={upper_bound} below a smaller bucket")
            if series[-1][0] != float("inf"):
                problems.append(f"{where}: {key} has no +Inf bucket")
            elif key in counts and series[-1][1] != counts[key]:
                problems.append(f"{where}: {key} +Inf bucket differs from _count")
    assert problems == []


@pytest.mark.parametrize("values", ["0+1x3 2", "5 4"])
def test_the_rise_check_sees_a_fall(values: str) -> None:
    assert falls(expand(values))
