"""Label values that come from requests stay within the catalogue's declared bounds."""

import pytest
from prometheus_client import CollectorRegistry, Counter, generate_latest

from observatory.catalogue.labels import ADAPTER, DOMAIN
from observatory.catalogue.shard import ENDPOINT
from observatory.metric import Label
from observatory.runtime.admission import endpoint_of
from observatory.runtime.metrics import LabelFolder, ShardMetrics


def test_open_labels_fold_values_beyond_the_bound_into_other():
    fold = LabelFolder(Label("adapter", "An adapter.", max_values=4))
    kept = [fold(f"a{i}") for i in range(10)]
    assert kept[:3] == ["a0", "a1", "a2"]
    assert set(kept[3:]) == {"other"}
    assert fold("a1") == "a1"  # values already admitted keep their series


def test_closed_labels_fold_unknown_values():
    fold = LabelFolder(DOMAIN)
    assert fold("legal") == "legal"
    assert fold("astrology") == "other"


def test_adapter_label_never_exceeds_its_declared_bound():
    fold = LabelFolder(ADAPTER)
    assert len({fold(f"adapter-{i}") for i in range(1000)}) == ADAPTER.bound


def test_metrics_off_records_nothing():
    metrics = ShardMetrics("legal", "legal", "model", "0", enabled=False)
    metrics.search(0.1)
    metrics.request_failed("search", "rejected")
    assert generate_latest(metrics.registry) == b""


def test_the_registry_serves_no_created_series_and_leaves_the_process_switch_alone():
    metrics = ShardMetrics("legal", "legal", "model", "0")
    metrics.search(0.1)
    assert b"_created" not in generate_latest(metrics.registry)
    # Another registry in the same process still gets prometheus_client's default _created series.
    elsewhere = CollectorRegistry()
    Counter("elsewhere_events_total", "Events.", registry=elsewhere).inc()
    assert elsewhere.get_sample_value("elsewhere_events_created") is not None


@pytest.mark.parametrize(
    ("path", "endpoint"),
    [
        ("/api/v1/inference", "inference"),
        ("/api/v1/documents/42", "documents"),
        ("/api/v1/lora/legal-lora", "lora"),
        ("/api/v1/search", "search"),
        ("/api/v1/anything-else/x", "other"),
        ("/api/v1/", "other"),
    ],
)
def test_endpoint_label_comes_from_the_path_within_the_catalogue_values(path, endpoint):
    assert endpoint_of(path) == endpoint
    assert endpoint in ENDPOINT.values
