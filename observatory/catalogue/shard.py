"""Metrics the reference shard runtime records where the work happens."""

from observatory.catalogue.labels import ADAPTER, DOMAIN, MODEL, SHARD, STATUS
from observatory.metric import Label, Metric, MetricType, SeedName, Source, Unit

STAGE = Label(
    "stage",
    "The inference stage: tokenize, prompt_eval (prefill) or generation (decode).",
    values=("tokenize", "prompt_eval", "generation"),
)
ENDPOINT = Label(
    "endpoint",
    "The API operation: inference, search, documents, lora.",
    values=("inference", "search", "documents", "lora", "other"),
)
BENCHMARK = Label("benchmark", "The quality benchmark a score comes from.", values=("mmlu",))
INDEX_OPERATION = Label("operation", "The index operation.", values=("add", "remove"))
FINISH_REASON = Label(
    "finish_reason",
    "Why generation stopped: length (max_tokens reached), stop (end of sequence or a stop string), cancelled"
    " (the client left) or error.",
    values=("length", "stop", "cancelled", "error"),
)

LATENCY_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 5.0, 10.0, 30.0)
SEARCH_BUCKETS = (0.0005, 0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5, 1.0)
BATCH_BUCKETS = (1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0)
# OpenTelemetry GenAI semantic conventions' explicit bucket boundaries for these two histograms.
TIME_TO_FIRST_TOKEN_BUCKETS = (0.001, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5,
                               10.0)  # fmt: skip
TIME_PER_OUTPUT_TOKEN_BUCKETS = (0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.75, 1.0, 2.5)
# OpenTelemetry's token-usage boundaries (powers of 4), up to the largest context the shard allows.
TOKEN_COUNT_BUCKETS = (1.0, 4.0, 16.0, 64.0, 256.0, 1024.0, 4096.0, 16384.0, 65536.0, 262144.0)
QUEUE_BUCKETS = (0.001, 0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 20.0, 30.0, 60.0)


def _shard(name: str, type: MetricType, help: str, unit: Unit = Unit.NONE, labels=(SHARD,), **kwargs) -> Metric:
    return Metric(name, type, help, unit, Source.SHARD, tuple(labels), **kwargs)


INFERENCE_METRICS = (
    _shard(
        "themis_inference_requests_total",
        MetricType.COUNTER,
        "Inference requests the shard finished, by model and outcome.",
        labels=(SHARD, MODEL, STATUS),
    ),
    _shard(
        "themis_inference_latency_seconds",
        MetricType.HISTOGRAM,
        "Wall time of a successful inference request from arrival to the last token, in seconds.",
        Unit.SECONDS,
        (SHARD, MODEL),
        buckets=LATENCY_BUCKETS,
    ),
    _shard(
        "themis_inference_stage_latency_seconds",
        MetricType.HISTOGRAM,
        "Time one inference request spent in each stage, from llama.cpp's own timings, in seconds.",
        Unit.SECONDS,
        (SHARD, STAGE),
        buckets=(0.0001, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1.0, 5.0),
        seed=SeedName(
            "themis_inference_encode_latency_ms, themis_inference_forward_latency_ms,"
            " themis_inference_decode_latency_ms",
            "ms / 1000; encode=tokenize, forward=prompt_eval, decode=generation",
            "none in the seed",
        ),
    ),
    _shard(
        "themis_generated_tokens_total",
        MetricType.COUNTER,
        "Tokens the model generated.",
        Unit.TOKENS,
        (SHARD, MODEL),
        seed=SeedName(
            "themis_tokens_generated_per_second",
            "rate(themis_generated_tokens_total)"
            ' / rate(themis_inference_stage_latency_seconds_sum{stage="generation"})',
            "< 20 tokens/s alert and 20/50 panel steps: unchanged (tokens per second)",
        ),
    ),
    _shard(
        "themis_prompt_tokens_total",
        MetricType.COUNTER,
        "Prompt tokens the shard received for inference.",
        Unit.TOKENS,
        (SHARD, MODEL),
    ),
    _shard(
        "themis_inference_batch_size",
        MetricType.HISTOGRAM,
        "Requests the inference engine served together in one batch.",
        labels=(SHARD,),
        buckets=BATCH_BUCKETS,
        seed=SeedName("themis_batch_size_current", "gauge became a histogram of batch sizes"),
    ),
    _shard(
        "themis_kv_cache_usage_ratio",
        MetricType.GAUGE,
        "Fraction of the context's KV-cache cells holding tokens (0-1).",
        Unit.RATIO,
        seed=SeedName(
            "themis_kv_cache_utilization_percent", "percent / 100", "> 70 % target → > 0.7"
        ),
    ),
    _shard(
        "themis_kv_cache_lookups_total",
        MetricType.COUNTER,
        "Prompt tokens looked up in the KV (prefix) cache.",
    ),
    _shard(
        "themis_kv_cache_misses_total",
        MetricType.COUNTER,
        "Prompt tokens not found in the KV (prefix) cache, which had to be evaluated.",
        seed=SeedName(
            "themis_kv_cache_miss_rate",
            "rate(misses_total) / rate(lookups_total)",
            "> 0.30 alert → > 0.3; < 20 % target → < 0.2",
        ),
    ),
    _shard(
        "themis_model_load_latency_seconds",
        MetricType.HISTOGRAM,
        "Time to load a model into memory (cold start), in seconds.",
        Unit.SECONDS,
        (SHARD, MODEL),
        buckets=(0.01, 0.1, 0.5, 1.0, 5.0, 15.0, 30.0, 60.0, 120.0),
    ),
    _shard(
        "themis_model_loaded",
        MetricType.GAUGE,
        "1 while the model is loaded and serving on the shard, else 0.",
        labels=(SHARD, MODEL),
        seed=SeedName("swarm_model_loaded"),
    ),
    _shard(
        "themis_model_size_bytes",
        MetricType.GAUGE,
        "Size of the loaded model's weights, in bytes.",
        Unit.BYTES,
        (SHARD, MODEL),
    ),
    _shard(
        "themis_model_quality_ratio",
        MetricType.GAUGE,
        "The model's configured score on a quality benchmark (0-1), for cost-efficiency tables.",
        Unit.RATIO,
        (SHARD, MODEL, BENCHMARK),
    ),
    _shard(
        "themis_cuda_fragmentation_events_total",
        MetricType.COUNTER,
        "Allocations refused although enough device memory was free in total, because no block was large enough.",
        seed=SeedName("swarm_cuda_fragmentation_events_total"),
    ),
    _shard(
        "themis_vram_budget_bytes",
        MetricType.GAUGE,
        "Device memory the shard's VRAM budget (GPU profile or licence) allows, in bytes.",
        Unit.BYTES,
    ),
    _shard(
        "themis_vram_reserved_bytes",
        MetricType.GAUGE,
        "Device memory the shard has reserved against its budget for models, adapters and indexes, in bytes.",
        Unit.BYTES,
    ),
)

SERVING_METRICS = (
    _shard(
        "themis_inference_time_to_first_token_seconds",
        MetricType.HISTOGRAM,
        "Time from a request's arrival (queueing included) to its first generated token, in seconds.",
        Unit.SECONDS,
        (SHARD, MODEL),
        buckets=TIME_TO_FIRST_TOKEN_BUCKETS,
    ),
    _shard(
        "themis_inference_time_per_output_token_seconds",
        MetricType.HISTOGRAM,
        "Mean time between a request's output tokens after the first, in seconds.",
        Unit.SECONDS,
        (SHARD, MODEL),
        buckets=TIME_PER_OUTPUT_TOKEN_BUCKETS,
    ),
    _shard(
        "themis_inference_queue_time_seconds",
        MetricType.HISTOGRAM,
        "Time an inference request waited (admission queue and its turn at the model) before generating,"
        " in seconds.",
        Unit.SECONDS,
        (SHARD, MODEL),
        buckets=QUEUE_BUCKETS,
    ),
    _shard(
        "themis_inference_request_prompt_tokens",
        MetricType.HISTOGRAM,
        "Prompt length of each finished inference request, in tokens.",
        Unit.TOKENS,
        (SHARD, MODEL),
        buckets=TOKEN_COUNT_BUCKETS,
    ),
    _shard(
        "themis_inference_request_generation_tokens",
        MetricType.HISTOGRAM,
        "Tokens generated for each finished inference request.",
        Unit.TOKENS,
        (SHARD, MODEL),
        buckets=TOKEN_COUNT_BUCKETS,
    ),
    _shard(
        "themis_inference_requests_running",
        MetricType.GAUGE,
        "Inference requests generating on the model now.",
    ),
    _shard(
        "themis_inference_finished_total",
        MetricType.COUNTER,
        "Inference requests whose generation ended, by why it stopped.",
        labels=(SHARD, MODEL, FINISH_REASON),
    ),
)

LORA_METRICS = (
    _shard(
        "themis_active_lora_adapters",
        MetricType.GAUGE,
        "LoRA adapters loaded on the shard.",
        seed=SeedName("themis_active_loras_count"),
    ),
    _shard(
        "themis_lora_switch_latency_seconds",
        MetricType.HISTOGRAM,
        "Time to switch the adapters applied to the context, in seconds.",
        Unit.SECONDS,
        buckets=(0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.2, 0.5, 1.0),
        seed=SeedName(
            "themis_lora_switch_latency_milliseconds",
            "ms / 1000",
            "p95 > 200 ms alert → > 0.2 s; buckets 50/100/200 ms → 0.05/0.1/0.2 s; p95 < 100 ms target → < 0.1 s",
        ),
    ),
    _shard(
        "themis_lora_adapter_requests_total",
        MetricType.COUNTER,
        "Inference requests that applied each LoRA adapter.",
        labels=(SHARD, ADAPTER),
    ),
    _shard(
        "themis_lora_cache_requests_total",
        MetricType.COUNTER,
        "Requests for a LoRA adapter that looked in the shard's adapter cache.",
    ),
    _shard(
        "themis_lora_cache_hits_total",
        MetricType.COUNTER,
        "Adapter requests served from the shard's adapter cache without loading.",
        seed=SeedName(
            "themis_lora_cache_hit_rate", "rate(hits_total) / rate(requests_total)", "> 70 % target → > 0.7"
        ),
    ),
)

VECTOR_SEARCH_METRICS = (
    _shard(
        "themis_vector_search_queries_total",
        MetricType.COUNTER,
        "Vector search queries the shard finished, by outcome.",
        labels=(SHARD, STATUS),
    ),
    _shard(
        "themis_vector_search_latency_seconds",
        MetricType.HISTOGRAM,
        "Wall time of one search query through the request queue, in seconds.",
        Unit.SECONDS,
        buckets=SEARCH_BUCKETS,
        seed=SeedName(
            "themis_vector_search_latency_milliseconds",
            "ms / 1000",
            "buckets 5/10/50/100 ms → 0.005/0.01/0.05/0.1 s; p95 < 10 ms (GPU) → < 0.01 s",
        ),
    ),
    _shard(
        "themis_vector_search_batch_size",
        MetricType.HISTOGRAM,
        "Queries searched together in one micro-batch.",
        buckets=BATCH_BUCKETS,
        seed=SeedName("themis_vector_search_batch_size_avg", "rate(_sum) / rate(_count)"),
    ),
    _shard(
        "themis_vector_search_batch_latency_seconds",
        MetricType.HISTOGRAM,
        "Time the index took to search one micro-batch, in seconds.",
        Unit.SECONDS,
        buckets=SEARCH_BUCKETS,
        seed=SeedName(
            "themis_vector_search_batch_latency_per_query_ms",
            "rate(batch_latency_seconds_sum) / rate(batch_size_sum), seconds",
        ),
    ),
    _shard(
        "themis_vector_search_recall_at_10_ratio",
        MetricType.GAUGE,
        "Recall@10 of the served index against an exact search on a sample of queries (0-1).",
        Unit.RATIO,
        seed=SeedName(
            "themis_vector_search_recall_at_10", "percent / 100", "> 80 % / > 90 % → > 0.8 / > 0.9"
        ),
    ),
    _shard(
        "themis_faiss_index_operations_total",
        MetricType.COUNTER,
        "Vectors added to or removed from the FAISS index.",
        labels=(SHARD, INDEX_OPERATION),
        seed=SeedName("themis_faiss_index_add_total / themis_faiss_index_remove_total", "operation label"),
    ),
    _shard(
        "themis_faiss_index_vectors",
        MetricType.GAUGE,
        "Vectors held in the FAISS index.",
        Unit.VECTORS,
    ),
    _shard(
        "themis_faiss_index_size_bytes",
        MetricType.GAUGE,
        "Memory the FAISS index's vectors and structures take, in bytes.",
        Unit.BYTES,
    ),
    _shard(
        "themis_faiss_index_vram_bytes",
        MetricType.GAUGE,
        "Device memory the FAISS index occupies on the GPU, in bytes (0 for a CPU index).",
        Unit.BYTES,
    ),
    _shard(
        "themis_faiss_scratch_vram_bytes",
        MetricType.GAUGE,
        "Device scratch memory FAISS reserves for searches on the GPU, in bytes (0 for a CPU index).",
        Unit.BYTES,
    ),
)

SERVICE_METRICS = (
    _shard(
        "themis_shard_health_status",
        MetricType.GAUGE,
        "Shard health by the probe's rules: 1 healthy, 0.5 degraded, 0 unhealthy.",
    ),
    _shard(
        "themis_shard_info",
        MetricType.GAUGE,
        "Always 1; identifies the shard's domain and version.",
        labels=(SHARD, DOMAIN, Label("version", "The runtime's package version.", max_values=4)),
    ),
    _shard(
        "themis_shard_start_time_seconds",
        MetricType.GAUGE,
        "Unix time the shard process started, in seconds.",
        Unit.SECONDS,
    ),
    _shard(
        "themis_requests_in_flight",
        MetricType.GAUGE,
        "Requests the shard is working on now.",
    ),
    _shard(
        "themis_request_capacity",
        MetricType.GAUGE,
        "Requests the shard works on at once; further ones wait in its admission queue.",
    ),
    _shard(
        "themis_requests_waiting",
        MetricType.GAUGE,
        "Requests waiting in the shard's admission queue for a slot.",
    ),
    _shard(
        "themis_request_queue_capacity",
        MetricType.GAUGE,
        "Places in the shard's admission queue; a request arriving when all are taken is answered 429.",
    ),
    _shard(
        "themis_requests_rejected_total",
        MetricType.COUNTER,
        "Requests refused with 429 because the shard was at capacity.",
        labels=(SHARD, ENDPOINT),
    ),
)

SHARD_METRICS = INFERENCE_METRICS + SERVING_METRICS + LORA_METRICS + VECTOR_SEARCH_METRICS + SERVICE_METRICS

