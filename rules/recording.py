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
    GPU_ENERGY_1H,
    KV_MISS_RATIO,
    LATENCY_BUCKET_RATE,
    LATENCY_QUANTILE,
    LORA_SWITCH_QUANTILE,
    QUEUE_TIME_QUANTILE,
    QUEUE_USAGE,
    RAM_USAGE,
    REQUESTS_RATE,
    SUCCESSES_1H,
    TOKENS_1H,
    TOKENS_PER_SECOND,
    TTFT_QUANTILE,
    VECTOR_SEARCH_QUANTILE,
    VRAM_USAGE,
)
from observatory.rules.histories import GPU_OUTPUT, GPU_SERIES, SHARD, STEP_SECONDS, counter, gauge, histogram
from observatory.rules.model import Case, Group, Labels, Recording, Series, number

GROUP = "themis-recording"
SERVING_GROUP = "themis-serving-recording"

_LATENCY = CATALOGUE["themis_inference_latency_seconds"]
_LORA_SWITCH = CATALOGUE["themis_lora_switch_latency_seconds"]
_VECTOR_SEARCH = CATALOGUE["themis_vector_search_latency_seconds"]
_TTFT = CATALOGUE["themis_inference_time_to_first_token_seconds"]
_QUEUE_TIME = CATALOGUE["themis_inference_queue_time_seconds"]


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


def ttft_history(quantile: float, value: float) -> tuple[Series, ...]:
    """Inference requests whose time to first token has ``quantile`` ``value`` seconds."""
    return histogram(_TTFT, (*SHARD, ("model", "mistral-7b")), 2.0, quantile, value)


def queue_time_history(quantile: float, value: float) -> tuple[Series, ...]:
    """Inference requests whose queue time has ``quantile`` ``value`` seconds."""
    return histogram(_QUEUE_TIME, (*SHARD, ("model", "mistral-7b")), 2.0, quantile, value)


def queue_usage_history(ratio: float) -> tuple[Series, ...]:
    """A 64-place admission queue with ``ratio`` of its places taken."""
    return (gauge("themis_requests_waiting", SHARD, 64 * ratio), gauge("themis_request_queue_capacity", SHARD, 64))


def tokens_history(tokens_per_second: float) -> tuple[Series, ...]:
    """Token generation at ``tokens_per_second`` of generation time, half of wall time generating."""
    generation = (*SHARD, ("stage", "generation"))
    return (
        counter("themis_generated_tokens_total", (*SHARD, ("model", "mistral-7b")), tokens_per_second * 0.5),
        counter("themis_inference_stage_latency_seconds_sum", generation, 0.5),
    )


# An hour's increase needs an hour of samples: these histories run a full hour, evaluated at its end.
HOUR_SAMPLES, HOUR_END = 60, "60m"


def hour_counter(name: str, labels: Labels, per_second: float) -> Series:
    """A counter rising ``per_second`` for an hour, so its increase over the hour is 3600 times that."""
    return Series(name, labels, f"0+{number(per_second * STEP_SECONDS)}x{HOUR_SAMPLES}")


def successes_history(per_second: float) -> tuple[Series, ...]:
    """Successful inference requests at ``per_second`` beside server errors at the same rate, for an hour."""
    model = (*SHARD, ("model", "mistral-7b"))
    name = "themis_inference_requests_total"
    return tuple(hour_counter(name, (*model, ("status", status)), per_second) for status in ("success", "server_error"))


def tokens_processed_history(prompt_per_second: float, generated_per_second: float) -> tuple[Series, ...]:
    """Prompt and generated tokens counted at the given rates for an hour."""
    labels = (*SHARD, ("model", "mistral-7b"))
    return (
        hour_counter("themis_prompt_tokens_total", labels, prompt_per_second),
        hour_counter("themis_generated_tokens_total", labels, generated_per_second),
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
        Recording(
            SUCCESSES_1H,
            'sum by (shard) (increase(themis_inference_requests_total{status="success"}[1h]))',
            ("shard",),
            "Inference requests each shard answered successfully over the last hour.",
            case=Case(successes_history(1.0), 3600.0, SHARD, at=HOUR_END),
        ),
        Recording(
            GPU_ENERGY_1H,
            "sum by (shard) (increase(themis_gpu_energy_joules_total[1h]))",
            ("shard",),
            "Energy each shard's GPUs drew over the last hour, in joules.",
            case=Case(
                (hour_counter("themis_gpu_energy_joules_total", GPU_SERIES, 450.0),), 1_620_000.0, SHARD, at=HOUR_END
            ),
        ),
        Recording(
            TOKENS_1H,
            "sum by (shard) (increase(themis_prompt_tokens_total[1h]))"
            " + sum by (shard) (increase(themis_generated_tokens_total[1h]))",
            ("shard",),
            "Tokens each shard processed (prompt and generated) over the last hour.",
            case=Case(tokens_processed_history(3.0, 1.0), 14_400.0, SHARD, at=HOUR_END),
        ),
    ]
    return Group(GROUP, tuple(rules))


def serving_recording_group() -> Group:
    """Recording rules of the serving signals: first-token and queue-time quantiles, queue usage."""
    rules = [
        *_quantile_rules(
            TTFT_QUANTILE,
            "sum by (shard, le) (rate(themis_inference_time_to_first_token_seconds_bucket[5m]))",
            "Time-to-first-token quantile of each shard over 5 minutes, in seconds (queueing included).",
            ttft_history,
            {0.95: 0.8},
        ),
        *_quantile_rules(
            QUEUE_TIME_QUANTILE,
            "sum by (shard, le) (rate(themis_inference_queue_time_seconds_bucket[5m]))",
            "Queue-time quantile of each shard's inference requests over 5 minutes, in seconds.",
            queue_time_history,
            {0.95: 1.5},
        ),
        Recording(
            QUEUE_USAGE,
            "max by (shard) (themis_requests_waiting) / max by (shard) (themis_request_queue_capacity)",
            ("shard",),
            "Share of each shard's admission-queue places taken (0-1); at 1 it answers 429 and is not ready.",
            case=Case(queue_usage_history(0.25), 0.25, SHARD),
        ),
    ]
    return Group(SERVING_GROUP, tuple(rules))
