"""The catalogue's content and the naming rules every entry obeys."""

from __future__ import annotations

import re

import pytest

from observatory.catalogue import CATALOGUE, Catalogue
from observatory.catalogue.labels import SHARD
from observatory.metric import Label, Metric, MetricType, NamingError, Source, Unit

# Every themis_* name seed 000 (the main specification) mentions.
SEED_000_METRICS = (
    "themis_active_connections",
    "themis_active_loras_count",
    "themis_batch_size_current",
    "themis_cot_steps_executed_total",
    "themis_cpu_usage_percent",
    "themis_cross_shard_messages_total",
    "themis_cross_shard_queries_total",
    "themis_distributed_cot_latency_seconds",
    "themis_faiss_index_add_total",
    "themis_faiss_index_remove_total",
    "themis_faiss_index_size_bytes",
    "themis_faiss_index_vram_bytes",
    "themis_faiss_scratch_vram_bytes",
    "themis_federated_queries_total",
    "themis_gpu_utilization_percent",
    "themis_hierarchical_task_depth",
    "themis_inference_decode_latency_ms",
    "themis_inference_encode_latency_ms",
    "themis_inference_forward_latency_ms",
    "themis_inference_latency_seconds",
    "themis_inference_requests_total",
    "themis_kv_cache_miss_rate",
    "themis_kv_cache_utilization_percent",
    "themis_lora_cache_hit_rate",
    "themis_lora_switch_latency_milliseconds",
    "themis_lora_transfer_bytes",
    "themis_lora_transfers_total",
    "themis_model_load_latency_seconds",
    "themis_multi_perspective_consensus_latency_seconds",
    "themis_network_bytes_received_total",
    "themis_network_bytes_sent_total",
    "themis_orchestrator_tasks_total",
    "themis_perspective_agreement_rate",
    "themis_power_consumption_watts",
    "themis_ram_total_bytes",
    "themis_ram_usage_bytes",
    "themis_reasoning_step_end_time",
    "themis_reasoning_step_start_time",
    "themis_reasoning_task_duration_seconds",
    "themis_reasoning_task_success_total",
    "themis_reasoning_task_total",
    "themis_shard_health_status",
    "themis_tokens_generated_per_second",
    "themis_vector_search_batch_latency_per_query_ms",
    "themis_vector_search_batch_size_avg",
    "themis_vector_search_latency_milliseconds",
    "themis_vector_search_latency_seconds",
    "themis_vector_search_queries_total",
    "themis_vector_search_recall_at_10",
    "themis_vram_total_bytes",
    "themis_vram_usage_bytes",
)


def _metric(name: str, type: MetricType = MetricType.GAUGE, unit: Unit = Unit.NONE, **kwargs) -> Metric:
    return Metric(name, type, kwargs.pop("help", "A test metric."), unit, Source.SHARD, **kwargs)


def test_catalogue_is_large_and_covers_every_source() -> None:
    assert len(CATALOGUE) > 50
    for source in Source:
        assert CATALOGUE.by_source(source), f"nothing exposed by {source.value}"


def test_every_seed_metric_name_is_in_the_catalogue_or_mapped() -> None:
    mapped = {name for metric in CATALOGUE if metric.seed for name in re.findall(r"\w+", metric.seed.name)}
    missing = [name for name in SEED_000_METRICS if name not in CATALOGUE and name not in mapped]
    assert missing == []


@pytest.mark.parametrize(
    ("name", "type", "unit", "problem"),
    [
        ("themis_latency_milliseconds", MetricType.GAUGE, Unit.NONE, "base unit"),
        ("themis_cpu_usage_percent", MetricType.GAUGE, Unit.NONE, "base unit"),
        ("themis_requests", MetricType.COUNTER, Unit.NONE, "_total"),
        ("themis_loras_total", MetricType.GAUGE, Unit.NONE, "only counters"),
        ("themis_active_loras_count", MetricType.GAUGE, Unit.NONE, "reserved"),
        ("themis_size", MetricType.GAUGE, Unit.BYTES, "must end the name"),
        ("ThemisSize", MetricType.GAUGE, Unit.NONE, "snake_case"),
        ("other_size_bytes", MetricType.GAUGE, Unit.BYTES, "themis_"),
    ],
)
def test_naming_rules_reject_convention_breaks(name: str, type: MetricType, unit: Unit, problem: str) -> None:
    with pytest.raises(NamingError, match=problem):
        _metric(name, type, unit)


def test_histograms_need_increasing_buckets_and_others_none() -> None:
    with pytest.raises(NamingError, match="buckets"):
        _metric("themis_x_seconds", MetricType.HISTOGRAM, Unit.SECONDS, buckets=(1.0, 0.5))
    with pytest.raises(NamingError, match="only histograms"):
        _metric("themis_x_seconds", MetricType.GAUGE, Unit.SECONDS, buckets=(1.0,))


def test_help_must_be_a_sentence_and_labels_unique_and_unreserved() -> None:
    with pytest.raises(NamingError, match="help"):
        _metric("themis_x", help="no capital and no stop")
    with pytest.raises(NamingError, match="duplicate"):
        _metric("themis_x", labels=(SHARD, SHARD))
    with pytest.raises(NamingError, match="reserved"):
        Label("le", "Bucket bound.")


def test_label_bound_is_the_closed_set_or_the_cap() -> None:
    assert SHARD.bound == 32
    mode = Label("mode", "Mode.", values=("a", "b"))
    assert mode.bound == 2
    with pytest.raises(NamingError, match="more values"):
        Label("x", "X.", values=("a", "b", "c"), max_values=2)


def test_catalogue_refuses_a_name_defined_twice() -> None:
    histogram = _metric("themis_job_seconds", MetricType.HISTOGRAM, Unit.SECONDS, buckets=(1.0,))
    with pytest.raises(ValueError, match="defined twice"):
        Catalogue((histogram, _metric("themis_job_seconds", unit=Unit.SECONDS)))


def test_resolve_series_maps_histogram_suffixes() -> None:
    metric, suffix = CATALOGUE.resolve_series("themis_inference_latency_seconds_bucket")
    assert (metric.name, suffix) == ("themis_inference_latency_seconds", "_bucket")
    assert CATALOGUE.resolve_series("themis_inference_requests_total")[1] == ""
    assert CATALOGUE.resolve_series("themis_inference_requests_total_bucket") is None


def test_renamed_seed_metrics_say_how_thresholds_convert() -> None:
    switch = CATALOGUE["themis_lora_switch_latency_seconds"].seed
    assert (switch.name, switch.conversion) == ("themis_lora_switch_latency_milliseconds", "ms / 1000")
    assert "200 ms alert → > 0.2 s" in switch.thresholds
    assert CATALOGUE["themis_gpu_utilization_ratio"].seed.conversion == "percent / 100"
