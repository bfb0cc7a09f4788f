"""Label definitions shared by several catalogue entries, with their bounds."""

from observatory.metric import Label

SHARD = Label("shard", "The shard (domain service) the series belongs to, one of the configured shards.", max_values=32)
SOURCE_SHARD = Label("source_shard", "The shard a cross-shard exchange starts from.", max_values=33)
DESTINATION_SHARD = Label("destination_shard", "The shard a cross-shard exchange goes to.", max_values=33)
MODEL = Label("model", "The model name as configured on the shard; unknown names fold into 'other'.", max_values=16)
DOMAIN = Label(
    "domain",
    "The knowledge domain a task was routed to.",
    values=("legal", "finance", "medical", "technical", "other"),
)
GPU = Label("gpu", "The GPU's index on its host, as NVML numbers it.", max_values=16)
GPU_UUID = Label("uuid", "The GPU's stable NVML UUID.", max_values=16)
ADAPTER = Label("adapter", "The LoRA adapter name; unknown names fold into 'other'.", max_values=32)
STATUS = Label(
    "status",
    "How a request ended: success, client_error (4xx), server_error (5xx) or rejected (backpressure).",
    values=("success", "client_error", "server_error", "rejected"),
)
COLLECTOR = Label("collector", "The exporter's collector that read the value (e.g. nvml, cpu, memory).", max_values=16)
REASON = Label(
    "reason",
    "Why a collection failed: unsupported, lost, timeout, not_found, no_library or error.",
    values=("unsupported", "lost", "timeout", "not_found", "no_library", "error"),
)
