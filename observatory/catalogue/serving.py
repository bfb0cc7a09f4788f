"""The names the shard's serving signals have in vLLM, llama.cpp's server and OpenTelemetry GenAI."""

from dataclasses import dataclass


@dataclass(frozen=True)
class ServingName:
    """What other LLM servers and OpenTelemetry call a catalogue metric ("—": they have none)."""

    metric: str
    opentelemetry: str
    vllm: str
    llama_cpp_server: str


# The names users of vLLM, llama.cpp's server (--metrics) and the OpenTelemetry GenAI conventions look for.
SERVING_NAMES = (
    ServingName(
        "themis_inference_time_to_first_token_seconds",
        "gen_ai.server.time_to_first_token",
        "vllm:time_to_first_token_seconds",
        "—",
    ),
    ServingName(
        "themis_inference_time_per_output_token_seconds",
        "gen_ai.server.time_per_output_token",
        "vllm:time_per_output_token_seconds (per token: vllm:inter_token_latency_seconds)",
        "—",
    ),
    ServingName(
        "themis_inference_latency_seconds",
        "gen_ai.server.request.duration",
        "vllm:e2e_request_latency_seconds",
        "—",
    ),
    ServingName("themis_inference_queue_time_seconds", "—", "vllm:request_queue_time_seconds", "—"),
    ServingName(
        "themis_inference_stage_latency_seconds",
        "—",
        'vllm:request_prefill_time_seconds (stage="prompt_eval"), vllm:request_decode_time_seconds'
        ' (stage="generation")',
        "llamacpp:prompt_seconds_total, llamacpp:tokens_predicted_seconds_total (counters: compare with the _sum)",
    ),
    ServingName(
        "themis_prompt_tokens_total",
        'gen_ai.client.token.usage (gen_ai.token.type="input"), summed',
        "vllm:prompt_tokens_total",
        "llamacpp:prompt_tokens_total",
    ),
    ServingName(
        "themis_generated_tokens_total",
        'gen_ai.client.token.usage (gen_ai.token.type="output"), summed',
        "vllm:generation_tokens_total",
        "llamacpp:tokens_predicted_total",
    ),
    ServingName(
        "themis_inference_request_prompt_tokens",
        'gen_ai.client.token.usage (gen_ai.token.type="input")',
        "vllm:request_prompt_tokens",
        "—",
    ),
    ServingName(
        "themis_inference_request_generation_tokens",
        'gen_ai.client.token.usage (gen_ai.token.type="output")',
        "vllm:request_generation_tokens",
        "—",
    ),
    ServingName(
        "themis_inference_requests_running",
        "—",
        "vllm:num_requests_running",
        "llamacpp:requests_processing",
    ),
    ServingName("themis_requests_waiting", "—", "vllm:num_requests_waiting", "llamacpp:requests_deferred"),
    ServingName(
        "themis_inference_finished_total",
        "gen_ai.response.finish_reasons (attribute)",
        "vllm:request_success_total (label finished_reason)",
        "—",
    ),
    ServingName(
        "themis_kv_cache_usage_ratio",
        "—",
        "vllm:kv_cache_usage_perc (a 0-1 ratio; formerly vllm:gpu_cache_usage_perc)",
        "llamacpp:kv_cache_usage_ratio (not exported by every build)",
    ),
)
