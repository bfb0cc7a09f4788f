"""The shard's instruments, built from the catalogue, and the calls that record into them.

Every ``Source.SHARD`` catalogue entry becomes one live instrument in the runtime's own
registry (names, labels and buckets come from the catalogue). Children whose labels are fixed
for the shard's life are bound once, since ``labels()`` costs twice an ``observe()``.
"""

from __future__ import annotations

import threading
import time

from prometheus_client import CollectorRegistry, disable_created_metrics

from observatory.catalogue import CATALOGUE
from observatory.catalogue.labels import ADAPTER, DOMAIN, MODEL
from observatory.exposition import instrument
from observatory.metric import OTHER, Label, Source


class LabelFolder:
    """Keeps a label within its declared bound: values beyond it become ``"other"``."""

    def __init__(self, label: Label) -> None:
        self._label = label
        self._seen: set[str] = set()
        self._lock = threading.Lock()

    def __call__(self, value: str) -> str:
        """``value`` itself while the bound allows, else ``"other"``."""
        if self._label.values:
            return value if value in self._label.values else OTHER
        if value in self._seen:
            return value
        with self._lock:
            # One slot of the bound stays free for "other" itself.
            if len(self._seen) < self._label.bound - 1:
                self._seen.add(value)
                return value
        return OTHER


class _Disabled:
    """Stands in for every instrument when metrics are off (the benchmark's baseline)."""

    def labels(self, *_: str) -> _Disabled:
        return self

    def inc(self, _: float = 1) -> None:
        pass

    def set(self, _: float) -> None:
        pass

    def observe(self, _: float) -> None:
        pass


class ShardMetrics:
    """Records the shard's work into the ``Source.SHARD`` catalogue metrics."""

    def __init__(self, shard: str, domain: str, model: str, version: str, enabled: bool = True) -> None:
        # The shard exposes exactly the catalogue's series; ``_created`` gauges are not in it.
        # (prometheus_client keeps this switch per process, and one process serves one shard.)
        disable_created_metrics()
        self.registry = CollectorRegistry()
        self.enabled = enabled
        self._fold_model = LabelFolder(MODEL)
        self._fold_adapter = LabelFolder(ADAPTER)
        self._shard = shard
        self.model = self._fold_model(model)
        metrics = CATALOGUE.by_source(Source.SHARD)
        self._i = {m.name: instrument(m, self.registry) if enabled else _Disabled() for m in metrics}
        i, s, mdl = self._i, shard, self.model
        self._requests = {
            status: i["themis_inference_requests_total"].labels(s, mdl, status)
            for status in ("success", "client_error", "server_error", "rejected")
        }
        self._latency = i["themis_inference_latency_seconds"].labels(s, mdl)
        self._stage = {
            stage: i["themis_inference_stage_latency_seconds"].labels(s, stage)
            for stage in ("tokenize", "prompt_eval", "generation")
        }
        self._generated = i["themis_generated_tokens_total"].labels(s, mdl)
        self._prompt = i["themis_prompt_tokens_total"].labels(s, mdl)
        self._batch = i["themis_inference_batch_size"].labels(s)
        self._kv_usage = i["themis_kv_cache_usage_ratio"].labels(s)
        self._kv_lookups = i["themis_kv_cache_lookups_total"].labels(s)
        self._kv_misses = i["themis_kv_cache_misses_total"].labels(s)
        self._search_queries = {
            status: i["themis_vector_search_queries_total"].labels(s, status)
            for status in ("success", "client_error", "server_error", "rejected")
        }
        self._search_latency = i["themis_vector_search_latency_seconds"].labels(s)
        self._search_batch = i["themis_vector_search_batch_size"].labels(s)
        self._search_batch_latency = i["themis_vector_search_batch_latency_seconds"].labels(s)
        self._index_ops = {op: i["themis_faiss_index_operations_total"].labels(s, op) for op in ("add", "remove")}
        self._lora_switch = i["themis_lora_switch_latency_seconds"].labels(s)
        self._lora_cache_requests = i["themis_lora_cache_requests_total"].labels(s)
        self._lora_cache_hits = i["themis_lora_cache_hits_total"].labels(s)
        self._in_flight = i["themis_requests_in_flight"].labels(s)
        # Series that exist from the start, so that rate() and absent() see them before any event.
        i["themis_cuda_fragmentation_events_total"].labels(s)
        i["themis_model_loaded"].labels(s, mdl).set(0)
        i["themis_active_lora_adapters"].labels(s).set(0)
        i["themis_faiss_index_vram_bytes"].labels(s).set(0)
        i["themis_faiss_scratch_vram_bytes"].labels(s).set(0)
        i["themis_shard_info"].labels(s, LabelFolder(DOMAIN)(domain), version).set(1)
        i["themis_shard_start_time_seconds"].labels(s).set(time.time())

    def gauge(self, name: str, value: float) -> None:
        """Set a shard-level gauge (labelled by ``shard`` only) named in the catalogue."""
        self._i[name].labels(self._shard).set(value)

    def model_loaded(self, seconds: float, size_bytes: int, quality: dict[str, float]) -> None:
        """The model finished loading in ``seconds``."""
        i, s, mdl = self._i, self._shard, self.model
        i["themis_model_load_latency_seconds"].labels(s, mdl).observe(seconds)
        i["themis_model_loaded"].labels(s, mdl).set(1)
        i["themis_model_size_bytes"].labels(s, mdl).set(size_bytes)
        for benchmark, score in quality.items():
            i["themis_model_quality_ratio"].labels(s, mdl, benchmark).set(score)

    def model_unloaded(self) -> None:
        """The model stopped serving."""
        self._i["themis_model_loaded"].labels(self._shard, self.model).set(0)

    def inference(
        self,
        seconds: float,
        prompt_tokens: int,
        completion_tokens: int,
        evaluated_prompt_tokens: int,
        stages: dict[str, float],
        kv_usage: float,
    ) -> None:
        """One successful inference request."""
        self._requests["success"].inc()
        self._latency.observe(seconds)
        for stage, stage_seconds in stages.items():
            self._stage[stage].observe(stage_seconds)
        self._prompt.inc(prompt_tokens)
        self._generated.inc(completion_tokens)
        self._batch.observe(1)  # llama.cpp serves one request per context at a time
        self._kv_lookups.inc(prompt_tokens)
        self._kv_misses.inc(evaluated_prompt_tokens)
        self._kv_usage.set(kv_usage)

    def inference_failed(self, status: str) -> None:
        """An inference request that ended with ``status`` (client_error, server_error, rejected)."""
        self._requests[status].inc()

    def adapters_used(self, names: tuple[str, ...], cache_hits: int, switch_seconds: float | None) -> None:
        """A request applied ``names``; ``cache_hits`` of them were loaded already."""
        for name in names:
            self._i["themis_lora_adapter_requests_total"].labels(self._shard, self._fold_adapter(name)).inc()
        self._lora_cache_requests.inc(len(names))
        self._lora_cache_hits.inc(cache_hits)
        if switch_seconds is not None:
            self._lora_switch.observe(switch_seconds)

    def adapters_loaded(self, count: int) -> None:
        """The number of adapters in the cache changed."""
        self.gauge("themis_active_lora_adapters", count)

    def vram(self, budget: int, reserved: int) -> None:
        """The VRAM budget and what is reserved against it."""
        self.gauge("themis_vram_budget_bytes", budget)
        self.gauge("themis_vram_reserved_bytes", reserved)

    def search(self, seconds: float, status: str, queries: int = 1) -> None:
        """``queries`` search queries finished with ``status`` after ``seconds`` in the queue."""
        self._search_queries[status].inc(queries)
        if status == "success":
            for _ in range(queries):
                self._search_latency.observe(seconds)

    def search_batch(self, rows: int, seconds: float) -> None:
        """The index searched one micro-batch of ``rows`` queries in ``seconds``."""
        self._search_batch.observe(rows)
        self._search_batch_latency.observe(seconds)

    def index_changed(self, operation: str, vectors: int, total: int, size_bytes: int) -> None:
        """``vectors`` were added or removed; the index now holds ``total``."""
        self._index_ops[operation].inc(vectors)
        self.gauge("themis_faiss_index_vectors", total)
        self.gauge("themis_faiss_index_size_bytes", size_bytes)

    def in_flight(self, count: int, capacity: int) -> None:
        """Requests in flight and the capacity before 429."""
        self._in_flight.set(count)
        self.gauge("themis_request_capacity", capacity)

    def rejected(self, endpoint: str) -> None:
        """A request to ``endpoint`` was refused with 429."""
        self._i["themis_requests_rejected_total"].labels(self._shard, endpoint).inc()
