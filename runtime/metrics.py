"""The shard's instruments, built from the catalogue, and the calls that record into them.

Every ``Source.SHARD`` catalogue entry becomes one live instrument (names, labels and buckets come
from the catalogue). Children whose labels are fixed for the shard's life are bound once, since
``labels()`` costs twice an ``observe()``; state the shard already keeps (requests in flight) is
read at scrape time instead of being copied into a gauge on every request.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator

from prometheus_client import CollectorRegistry, Counter
from prometheus_client.metrics_core import Metric as Family

from observatory.catalogue import CATALOGUE
from observatory.catalogue.labels import ADAPTER, DOMAIN, MODEL, STATUS
from observatory.catalogue.shard import ENDPOINT, FINISH_REASON
from observatory.exposition import instrument
from observatory.metric import OTHER, Label, MetricType, Source

# Endpoints whose requests carry an outcome counter, and the counter.
OUTCOME_COUNTERS = {"inference": "themis_inference_requests_total", "search": "themis_vector_search_queries_total"}


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

    def set_function(self, _: Callable[[], float]) -> None:
        pass

    def observe(self, _: float) -> None:
        pass


class _CatalogueOnly:
    """The instruments' families without the ``_created`` samples prometheus_client adds.

    The catalogue declares no ``_created`` series. prometheus_client can stop making them only
    process-wide (``disable_created_metrics``); dropping them here leaves that switch alone.
    """

    def __init__(self, instruments: CollectorRegistry) -> None:
        self._instruments = instruments

    def collect(self) -> Iterator[Family]:
        for family in self._instruments.collect():
            created = f"{family.name}_created"
            family.samples = [sample for sample in family.samples if sample.name != created]
            yield family


class ShardMetrics:
    """Records the shard's work into the ``Source.SHARD`` catalogue metrics.

    ``registry`` serves exactly the catalogue's series. Successes are recorded where the work
    happens (with their latency, tokens, queries); every other outcome of an API request is
    recorded once from its HTTP status by :meth:`request_failed`.
    """

    def __init__(self, shard: str, domain: str, model: str, version: str, enabled: bool = True) -> None:
        instruments = CollectorRegistry()
        self.registry = CollectorRegistry(auto_describe=False)
        self.registry.register(_CatalogueOnly(instruments))
        self._fold_adapter = LabelFolder(ADAPTER)
        # Adapter name -> its bound request counter: a request pays a dict look-up, not labels().
        self._adapter_requests: dict[str, Counter] = {}
        self._shard = shard
        self.model = LabelFolder(MODEL)(model)
        metrics = CATALOGUE.by_source(Source.SHARD)
        self._i = {m.name: instrument(m, instruments) if enabled else _Disabled() for m in metrics}
        i, s, mdl = self._i, shard, self.model
        # Gauges labelled by the shard alone, bound once.
        self._gauges = {
            m.name: i[m.name].labels(s) for m in metrics if m.type is MetricType.GAUGE and m.label_names == ("shard",)
        }
        outcome_labels = {"inference": (s, mdl), "search": (s,)}
        self._outcomes = {
            (endpoint, status): i[name].labels(*outcome_labels[endpoint], status)
            for endpoint, name in OUTCOME_COUNTERS.items()
            for status in STATUS.values
        }
        self._requests = self._outcomes["inference", "success"]
        self._search_queries = self._outcomes["search", "success"]
        self._rejected = {e: i["themis_requests_rejected_total"].labels(s, e) for e in ENDPOINT.values}
        self._latency = i["themis_inference_latency_seconds"].labels(s, mdl)
        self._stage = {stage: i["themis_inference_stage_latency_seconds"].labels(s, stage)
                       for stage in ("tokenize", "prompt_eval", "generation")}  # fmt: skip
        self._generated = i["themis_generated_tokens_total"].labels(s, mdl)
        self._prompt = i["themis_prompt_tokens_total"].labels(s, mdl)
        self._batch = i["themis_inference_batch_size"].labels(s)
        self._kv_lookups = i["themis_kv_cache_lookups_total"].labels(s)
        self._kv_misses = i["themis_kv_cache_misses_total"].labels(s)
        self._search_latency = i["themis_vector_search_latency_seconds"].labels(s)
        self._search_batch = i["themis_vector_search_batch_size"].labels(s)
        self._search_batch_latency = i["themis_vector_search_batch_latency_seconds"].labels(s)
        self._index_ops = {op: i["themis_faiss_index_operations_total"].labels(s, op) for op in ("add", "remove")}
        self._lora_switch = i["themis_lora_switch_latency_seconds"].labels(s)
        self._lora_cache_requests = i["themis_lora_cache_requests_total"].labels(s)
        self._lora_cache_hits = i["themis_lora_cache_hits_total"].labels(s)
        self._model_loaded = i["themis_model_loaded"].labels(s, mdl)
        self._ttft = i["themis_inference_time_to_first_token_seconds"].labels(s, mdl)
        self._tpot = i["themis_inference_time_per_output_token_seconds"].labels(s, mdl)
        self._queue_time = i["themis_inference_queue_time_seconds"].labels(s, mdl)
        self._prompt_length = i["themis_inference_request_prompt_tokens"].labels(s, mdl)
        self._generation_length = i["themis_inference_request_generation_tokens"].labels(s, mdl)
        self._finished = {r: i["themis_inference_finished_total"].labels(s, mdl, r) for r in FINISH_REASON.values}
        # Series that exist from the start, so that rate() and absent() see them before any event.
        i["themis_cuda_fragmentation_events_total"].labels(s)
        self._model_loaded.set(0)
        for name in ("themis_active_lora_adapters", "themis_faiss_index_vram_bytes", "themis_faiss_scratch_vram_bytes"):
            self.gauge(name, 0)
        i["themis_shard_info"].labels(s, LabelFolder(DOMAIN)(domain), version).set(1)
        self.gauge("themis_shard_start_time_seconds", time.time())

    def gauge(self, name: str, value: float) -> None:
        """Set a shard-level gauge (labelled by ``shard`` only) named in the catalogue."""
        self._gauges[name].set(value)

    def model_loaded(self, seconds: float, size_bytes: int, quality: dict[str, float]) -> None:
        """The model finished loading in ``seconds``."""
        i, s, mdl = self._i, self._shard, self.model
        i["themis_model_load_latency_seconds"].labels(s, mdl).observe(seconds)
        self._model_loaded.set(1)
        i["themis_model_size_bytes"].labels(s, mdl).set(size_bytes)
        for benchmark, score in quality.items():
            i["themis_model_quality_ratio"].labels(s, mdl, benchmark).set(score)

    def model_unloaded(self) -> None:
        """The model stopped serving."""
        self._model_loaded.set(0)

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
        self._requests.inc()
        self._latency.observe(seconds)
        for stage, stage_seconds in stages.items():
            self._stage[stage].observe(stage_seconds)
        self._prompt.inc(prompt_tokens)
        self._generated.inc(completion_tokens)
        self._prompt_length.observe(prompt_tokens)
        self._generation_length.observe(completion_tokens)
        self._batch.observe(1)  # llama.cpp serves one request per context at a time
        self._kv_lookups.inc(prompt_tokens)
        self._kv_misses.inc(evaluated_prompt_tokens)
        self.gauge("themis_kv_cache_usage_ratio", kv_usage)

    def serving(self, queued_s: float, first_token_s: float | None, per_output_token_s: float | None) -> None:
        """One generation's serving latencies; a generation with no token (or one) has no TTFT (TPOT)."""
        self._queue_time.observe(queued_s)
        if first_token_s is not None:
            self._ttft.observe(first_token_s)
        if per_output_token_s is not None:
            self._tpot.observe(per_output_token_s)

    def inference_finished(self, reason: str) -> None:
        """A generation ended for ``reason``: length, stop, cancelled or error."""
        self._finished[reason].inc()

    def client_left(self, endpoint: str) -> None:
        """A client hung up while its request waited in the admission queue."""
        if endpoint == "inference":
            self.inference_finished("cancelled")

    def request_failed(self, endpoint: str, status: str) -> None:
        """An API request to ``endpoint`` ended with ``status`` (client_error, server_error, rejected).

        A failed search counts once: a refused body's queries are not known.
        """
        if status == "rejected":
            self._rejected[endpoint].inc()
        counter = self._outcomes.get((endpoint, status))
        if counter is not None:
            counter.inc()

    def adapters_used(self, names: tuple[str, ...], cache_hits: int, switch_seconds: float | None) -> None:
        """A request applied ``names``; ``cache_hits`` of them were loaded already."""
        for name in names:
            self._adapter_counter(name).inc()
        self._lora_cache_requests.inc(len(names))
        self._lora_cache_hits.inc(cache_hits)
        if switch_seconds is not None:
            self._lora_switch.observe(switch_seconds)

    def adapters_available(self, names: list[str]) -> None:
        """Start each available adapter's request counter at zero, so that increase() sees its first use."""
        for name in names:
            self._adapter_counter(name)

    def _adapter_counter(self, name: str) -> Counter:
        counter = self._adapter_requests.get(name)
        if counter is None:
            series = self._i["themis_lora_adapter_requests_total"].labels(self._shard, self._fold_adapter(name))
            counter = self._adapter_requests[name] = series
        return counter

    def adapters_loaded(self, count: int) -> None:
        """The number of adapters in the cache changed."""
        self.gauge("themis_active_lora_adapters", count)

    def vram(self, budget: int, reserved: int) -> None:
        """The VRAM budget and what is reserved against it."""
        self.gauge("themis_vram_budget_bytes", budget)
        self.gauge("themis_vram_reserved_bytes", reserved)

    def search(self, seconds: float, queries: int = 1) -> None:
        """``queries`` search queries succeeded after ``seconds`` through the queue."""
        self._search_queries.inc(queries)
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

    def faiss_vram(self, index_bytes: int, scratch_bytes: int) -> None:
        """Device memory of the served FAISS index and the scratch space its GPU resources reserve."""
        self.gauge("themis_faiss_index_vram_bytes", index_bytes)
        self.gauge("themis_faiss_scratch_vram_bytes", scratch_bytes)

    def track_requests(
        self, in_flight: Callable[[], int], capacity: int, waiting: Callable[[], int], queue_capacity: int
    ) -> None:
        """Requests in flight and waiting in the admission queue, read at each scrape, and both bounds."""
        self._gauges["themis_requests_in_flight"].set_function(in_flight)
        self.gauge("themis_request_capacity", capacity)
        self._gauges["themis_requests_waiting"].set_function(waiting)
        self.gauge("themis_request_queue_capacity", queue_capacity)

    def track_inference(self, running: Callable[[], int]) -> None:
        """Inference requests generating now, read at each scrape."""
        self._gauges["themis_inference_requests_running"].set_function(running)
