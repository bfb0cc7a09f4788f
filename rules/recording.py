"""Recording rules for the expressions that dashboards and alerts use more than once.

Names follow ``level:metric:operations``; ``cluster`` is the level with every label aggregated away.
Each signal also has a history builder: the inputs that make the recorded series take a given value,
shared by the recording rule's test and the tests of the alerts built on it.
"""

from __future__ import annotations

from collections.abc import Callable

from observatory.catalogue import CATALOGUE
from observatory.config.vocabulary import (
    CLUSTER_LATENCY_QUANTILE,
    CLUSTER_REQUESTS_RATE,
    CPU_USAGE,
    KV_MISS_RATIO,
    LATENCY_BUCKET_RATE,
    LATENCY_QUANTILE,
    LORA_SWITCH_QUANTILE,
    RAM_USAGE,
    REQUESTS_RATE,
    TOKENS_PER_SECOND,
    VECTOR_SEARCH_QUANTILE,
    VRAM_USAGE,
)
from observatory.rules.histories import GPU_OUTPUT, GPU_SERIES, SHARD, counter, gauge, histogram
from observatory.rules.model import Case, Group, Labels, Recording, Series, number

GROUP = "themis-recording"

_LATENCY = CATALOGUE["themis_inference_latency_seconds"]
_LORA_SWITCH = CATALOGUE["themis_lora_switch_latency_seconds"]
_VECTOR_SEARCH = CATALOGUE["themis_vector_search_latency_seconds"]


def requests_history(labels: Labels, per_second: float, error_ratio: float = 0.0) -> tuple[Series, ...]:
    """Inference requests at ``per_second``, of which ``error_ratio`` end in a server error."""
    name = "themis_inference_requests_total"
    model = (*labels, ("model", "mistral-7b"))
    series = [counter(name, (*model, ("status", "success")), per_second * (1 - error_ratio))]
    if error_ratio:
        series.append(counter(name, (*model, ("status", "server_error")), per_second * error_ratio))
    return tuple(series)


def latency_history(quantile: float, value: float) -> tuple[Series, ...]:
    """Inference latency observations whose ``quantile`` is ``value`` seconds."""
    return histogram(_LATENCY, (*SHARD, ("model", "mistral-7b")), 2.0, quantile, value)


def lora_switch_history(quantile: float, value: float) -> tuple[Series, ...]:
    """Adapter switches whose ``quantile`` is ``value`` seconds."""
    return histogram(_LORA_SWITCH, SHARD, 0.5, quantile, value)


def vector_search_history(quantile: float, value: float) -> tuple[Series, ...]:
    """Vector search queries whose ``quantile`` is ``value`` seconds."""
    return histogram(_VECTOR_SEARCH, SHARD, 20.0, quantile, value)


def tokens_history(tokens_per_second: float) -> tuple[Series, ...]:
    """Token generation at ``tokens_per_second`` of generation time, half of wall time generating."""
    generation = (*SHARD, ("stage", "generation"))
    return (
        counter("themis_generated_tokens_total", (*SHARD, ("model", "mistral-7b")), tokens_per_second * 0.5),
        counter("themis_inference_stage_latency_seconds_sum", generation, 0.5),
    )


def kv_cache_history(miss_ratio: float) -> tuple[Series, ...]:
    """Prefix-cache lookups of which ``miss_ratio`` miss."""
    return (
        counter("themis_kv_cache_lookups_total", SHARD, 100.0),
        counter("themis_kv_cache_misses_total", SHARD, 100.0 * miss_ratio),
    )


def cpu_history(usage_ratio: float) -> tuple[Series, ...]:
    """A four-CPU host busy ``usage_ratio`` of the time."""
    return (
        counter("themis_cpu_seconds_total", (*SHARD, ("mode", "idle")), 4 * (1 - usage_ratio)),
        counter("themis_cpu_seconds_total", (*SHARD, ("mode", "user")), 4 * usage_ratio),
    )


def ram_history(usage_ratio: float) -> tuple[Series, ...]:
    """A host with ``usage_ratio`` of its 64 GB memory in use."""
    total = 64e9
    return (gauge("themis_ram_usage_bytes", SHARD, total * usage_ratio), gauge("themis_ram_total_bytes", SHARD, total))


def vram_history(usage_ratio: float) -> tuple[Series, ...]:
    """A 24 GB GPU with ``usage_ratio`` of its memory in use."""
    total = 24e9
    return (
        gauge("themis_vram_usage_bytes", GPU_SERIES, total * usage_ratio),
        gauge("themis_vram_total_bytes", GPU_SERIES, total),
    )


def _quantile_rules(
    record: str,
    source: str,
    help: str,
    history: Callable[[float, float], tuple[Series, ...]],
    values: dict[float, float],
) -> list[Recording]:
    """One rule per quantile, told apart by a ``quantile`` label (kubernetes-mixin style)."""
    per_shard = record.startswith("shard_")
    keeps = ("shard", "quantile") if per_shard else ("quantile",)
    rules = []
    for quantile, value in values.items():
        labels = (("quantile", number(quantile)),)
        output = (*SHARD, *labels) if per_shard else labels
        rules.append(
            Recording(
                record,
                f"histogram_quantile({number(quantile)}, {source})",
                keeps,
                help,
                labels,
                Case(history(quantile, value), value, output),
            )
        )
    return rules


def recording_group() -> Group:
    """The shared recording rules: per-shard rates, ratios and quantiles."""
    rules = [
        Recording(
            REQUESTS_RATE,
            "sum by (shard) (rate(themis_inference_requests_total[5m]))",
            ("shard",),
            "Inference requests per second finished by each shard, all outcomes.",
            case=Case(requests_history(SHARD, 10.0, 0.1), 10.0, SHARD),
        ),
        Recording(
            CLUSTER_REQUESTS_RATE,
            f"sum({REQUESTS_RATE})",
            (),
            "Inference requests per second finished by the whole cluster.",
            case=Case(
                requests_history(SHARD, 4.0) + requests_history((("shard", "finance"),), 6.0),
                10.0,
            ),
        ),
        Recording(
            LATENCY_BUCKET_RATE,
            "sum by (shard, le) (rate(themis_inference_latency_seconds_bucket[5m]))",
            ("shard", "le"),
            "Per-shard rate of inference latency observations at or below each bucket bound.",
            case=Case(latency_history(0.95, 1.5), 2.0, (*SHARD, ("le", "2.0"))),
        ),
        *_quantile_rules(
            LATENCY_QUANTILE,
            LATENCY_BUCKET_RATE,
            "Inference latency quantiles of each shard over 5 minutes, in seconds.",
            latency_history,
            {0.5: 0.4, 0.95: 1.5, 0.99: 3.0},
        ),
        *_quantile_rules(
            CLUSTER_LATENCY_QUANTILE,
            f"sum by (le) ({LATENCY_BUCKET_RATE})",
            "Inference latency quantiles of the whole cluster over 5 minutes, in seconds.",
            latency_history,
            {0.5: 0.3, 0.95: 1.2, 0.99: 4.0},
        ),
        *_quantile_rules(
            LORA_SWITCH_QUANTILE,
            "sum by (shard, le) (rate(themis_lora_switch_latency_seconds_bucket[5m]))",
            "LoRA adapter switch latency quantile of each shard over 5 minutes, in seconds.",
            lora_switch_history,
            {0.95: 0.15},
        ),
        *_quantile_rules(
            VECTOR_SEARCH_QUANTILE,
            "sum by (shard, le) (rate(themis_vector_search_latency_seconds_bucket[5m]))",
            "Vector search latency quantiles of each shard over 5 minutes, in seconds.",
            vector_search_history,
            {0.95: 0.004, 0.99: 0.008},
        ),
        Recording(
            TOKENS_PER_SECOND,
            "sum by (shard) (rate(themis_generated_tokens_total[5m]))"
            ' / sum by (shard) (rate(themis_inference_stage_latency_seconds_sum{stage="generation"}[5m]))',
            ("shard",),
            "Tokens generated per second of generation (decode) time on each shard.",
            case=Case(tokens_history(42.0), 42.0, SHARD),
        ),
        Recording(
            KV_MISS_RATIO,
            "sum by (shard) (rate(themis_kv_cache_misses_total[5m]))"
            " / sum by (shard) (rate(themis_kv_cache_lookups_total[5m]))",
            ("shard",),
            "Share of prompt tokens each shard did not find in its KV (prefix) cache (0-1).",
            case=Case(kv_cache_history(0.25), 0.25, SHARD),
        ),
        Recording(
            CPU_USAGE,
            '1 - sum by (shard) (rate(themis_cpu_seconds_total{mode="idle"}[5m]))'
            " / sum by (shard) (rate(themis_cpu_seconds_total[5m]))",
            ("shard",),
            "Share of CPU time each shard's host spent outside idle (0-1).",
            case=Case(cpu_history(0.6), 0.6, SHARD),
        ),
        Recording(
            RAM_USAGE,
            "sum by (shard) (themis_ram_usage_bytes) / sum by (shard) (themis_ram_total_bytes)",
            ("shard",),
            "Share of each shard host's memory in use (0-1).",
            case=Case(ram_history(0.5), 0.5, SHARD),
        ),
        Recording(
            VRAM_USAGE,
            "sum by (shard, gpu) (themis_vram_usage_bytes) / sum by (shard, gpu) (themis_vram_total_bytes)",
            ("shard", "gpu"),
            "Share of each GPU's device memory in use (0-1).",
            case=Case(vram_history(0.75), 0.75, GPU_OUTPUT),
        ),
    ]
    return Group(GROUP, tuple(rules))
