"""Component selectors: every emitted selector of a component's metrics carries the configured matchers."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from observatory.artefacts import all_artefacts
from observatory.catalogue import CATALOGUE
from observatory.config import DEFAULT_CONFIG, ConfigError, config_from_mapping, config_yaml, load_config
from observatory.config.selectors import source_of, with_selectors
from observatory.lint import Query, QueryChecker, run_lint
from observatory.lint.promql import _selectors, parse
from observatory.metric import Source
from observatory.rules import recorded_series
from support.cli import generate_with

NAMESPACED = 'job="themisdb-shards", namespace="ai"'


def _namespaced_config(tmp_path: Path):
    path = tmp_path / "observatory.yml"
    path.write_text(f"selectors:\n  shards: '{NAMESPACED}'\n", encoding="utf-8")
    return load_config(path)


@pytest.fixture(scope="module")
def namespaced(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    return all_artefacts(_namespaced_config(tmp_path_factory.mktemp("config")))


def _rule_exprs(text: str) -> Iterator[str]:
    data = yaml.safe_load(text)
    groups = data["spec"]["groups"] if "spec" in data else data["groups"]
    for group in groups:
        for rule in group["rules"]:
            yield rule["expr"]


def _dashboard_exprs(node: object) -> Iterator[str]:
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "expr" and isinstance(value, str):
                yield value
            elif key == "query" and isinstance(value, str) and value.startswith("label_values(themis_"):
                # label_values(<selector>, <label>): the selector is PromQL
                yield value.removeprefix("label_values(").rsplit(",", 1)[0]
            else:
                yield from _dashboard_exprs(value)
    elif isinstance(node, list):
        for item in node:
            yield from _dashboard_exprs(item)


def _exprs(files: dict[str, str]) -> dict[str, list[str]]:
    """Every PromQL expression of the generated files, by kind of artefact."""
    found: dict[str, list[str]] = {"rules": [], "dashboards": [], "manifest rules": [], "manifest dashboards": []}
    for path, text in files.items():
        if path.startswith("rules/") and "/tests/" not in path and path.endswith(".yml"):
            found["rules"] += _rule_exprs(text)
        elif path.startswith("dashboards/generated/"):
            found["dashboards"] += _dashboard_exprs(json.loads(text))
        elif path.startswith("deploy/kubernetes/monitoring/rules/"):
            found["manifest rules"] += _rule_exprs(text)
        elif path.startswith("deploy/kubernetes/dashboards/"):
            for board in yaml.safe_load(text)["data"].values():
                found["manifest dashboards"] += _dashboard_exprs(json.loads(board))
    return found


def _matchers(selector) -> set[tuple[str, str, str]]:
    return {(m.name, str(m.op).rsplit(".", 1)[-1], m.value) for m in selector.matchers.matchers}


def _selectors_by_component(exprs: list[str]) -> dict[str, list[set[tuple[str, str, str]]]]:
    """The matchers of every selector, under its metric's component (``up`` of the shard job as the shards')."""
    found: dict[str, list[set[tuple[str, str, str]]]] = {}
    for expr in exprs:
        for selector in _selectors(parse(expr)):
            matchers = _matchers(selector)
            source = source_of(selector.name or "")
            if selector.name == "up" and ("job", "Equal", "themisdb-shards") in matchers:
                source = Source.SHARD
            key = source.value if source is not None else "other"
            found.setdefault(key, []).append(matchers)
    return found


def test_every_shard_selector_of_every_artefact_carries_the_configured_matchers(namespaced: dict[str, str]) -> None:
    wanted = {("job", "Equal", "themisdb-shards"), ("namespace", "Equal", "ai")}
    for kind, exprs in _exprs(namespaced).items():
        found = _selectors_by_component(exprs)
        shard = found[Source.SHARD.value]
        assert len(shard) >= 10, kind
        assert all(wanted <= matchers for matchers in shard), kind
        # Other components keep their own selector: the shards' namespace is not theirs.
        others = [m for source, selectors in found.items() if source != Source.SHARD for m in selectors]
        assert others and not any(name == "namespace" for m in others for (name, _, _) in m), kind


def test_the_manifests_hold_the_same_rules_and_dashboards(namespaced: dict[str, str]) -> None:
    found = _exprs(namespaced)
    assert sorted(found["rules"]) == sorted(found["manifest rules"])
    assert sorted(found["dashboards"]) == sorted(found["manifest dashboards"])


def test_test_inputs_of_shard_metrics_carry_the_namespace(namespaced: dict[str, str]) -> None:
    inputs = [
        series["series"]
        for path, text in namespaced.items()
        if path.startswith("rules/tests/")
        for test in yaml.safe_load(text)["tests"]
        for series in test["input_series"]
    ]
    shard = [s for s in inputs if source_of(s.split("{", 1)[0]) is Source.SHARD]
    gpu = [s for s in inputs if source_of(s.split("{", 1)[0]) is Source.GPU_EXPORTER]
    assert shard and all('namespace="ai"' in s and 'job="themisdb-shards"' in s for s in shard)
    assert gpu and not any("namespace" in s for s in gpu)


def test_by_default_each_component_is_selected_by_its_job() -> None:
    found = _selectors_by_component(list(_exprs(all_artefacts(DEFAULT_CONFIG))["rules"]))
    jobs = {
        Source.SHARD: "themisdb-shards",
        Source.ORCHESTRATOR: "themisdb-orchestrator",
        Source.HOST_EXPORTER: "node-exporter",
        Source.GPU_EXPORTER: "nvidia-gpu-exporter",
    }
    for source, job in jobs.items():
        assert found[source.value] and all(("job", "Equal", job) in m for m in found[source.value]), source


def test_a_renamed_job_moves_its_default_selector() -> None:
    config = config_from_mapping({"jobs": {"gpu": "dcgm"}})
    assert (
        with_selectors("avg(themis_gpu_utilization_ratio)", config) == 'avg(themis_gpu_utilization_ratio{job="dcgm"})'
    )


@pytest.mark.parametrize(
    ("expr", "expected"),
    [
        ("themis_shard_health_status", 'themis_shard_health_status{job="themisdb-shards", namespace="ai"}'),
        (
            'rate(themis_inference_requests_total{status="success"}[5m])',
            'rate(themis_inference_requests_total{job="themisdb-shards", namespace="ai", status="success"}[5m])',
        ),
        ("themis_shard_health_status{}", 'themis_shard_health_status{job="themisdb-shards", namespace="ai"}'),
        # A metric name inside a string is a label value, not a selector; recorded series are not raw metrics.
        (
            'label_replace(shard:themis_inference_requests:rate5m, "x", "themis_shard_health_status", "", "")',
            'label_replace(shard:themis_inference_requests:rate5m, "x", "themis_shard_health_status", "", "")',
        ),
        # Both exporters expose their own metrics: no one component's selector covers them.
        ("themis_exporter_collector_up", "themis_exporter_collector_up"),
    ],
)
def test_with_selectors(expr: str, expected: str) -> None:
    config = config_from_mapping({"selectors": {"shards": NAMESPACED}})
    assert with_selectors(expr, config) == expected


def test_a_selector_is_written_back_canonically() -> None:
    config = config_from_mapping({"selectors": {"shards": 'namespace=~"ai|ml" ,job="s",'}})
    assert with_selectors("themis_shard_health_status", config) == (
        'themis_shard_health_status{namespace=~"ai|ml", job="s"}'
    )


@pytest.mark.parametrize(
    "bad",
    ["job=themisdb-shards", 'job="a" or job="b"', 'up{job="a"}', 'job="a"} or vector(1) or {b="c"', '"', 7],
)
def test_a_bad_selector_is_refused_naming_its_key(bad: object) -> None:
    with pytest.raises(ConfigError, match=r"^selectors\.shards: ") as error:
        config_from_mapping({"selectors": {"shards": bad}})
    assert "\n" not in str(error.value)


def test_a_bad_selector_file_is_one_line_and_exit_2(tmp_path: Path) -> None:
    result = generate_with("selectors:\n  gpu: 'job=nvidia'\n", tmp_path)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "observatory.yml: selectors.gpu: not PromQL label matchers" in lines[0], lines
    assert not (tmp_path / "out").exists()


def test_the_default_file_documents_the_selectors() -> None:
    text = config_yaml()
    assert 'shards: job="themisdb-shards", namespace="ai"' in text
    assert yaml.safe_load(text)["selectors"] == {"shards": "", "orchestrator": "", "host": "", "gpu": ""}


def test_lint_takes_the_selectors_labels_as_target_labels(tmp_path: Path) -> None:
    config = _namespaced_config(tmp_path)
    assert run_lint(config).findings == []
    # Without them, the namespace matcher is a label no shard metric declares.
    checker = QueryChecker(CATALOGUE, recorded_series(config))
    [finding] = checker.check(Query("here", with_selectors("themis_shard_health_status", config)))
    assert "label 'namespace' is not declared" in finding.problem
