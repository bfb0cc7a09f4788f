"""The shard: the engine, adapter cache, vector index and metrics wired together, and its operations.

Routes stay thin and call these methods; blocking llama.cpp and FAISS work runs in threads.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Sequence
from importlib.metadata import PackageNotFoundError, version

import llama_cpp
import numpy as np

from observatory.runtime.adapters import AdapterCache
from observatory.runtime.admission import InFlightLimiter
from observatory.runtime.batcher import SearchBatcher
from observatory.runtime.engine import Completion, LlamaEngine, ModelFacts
from observatory.runtime.errors import ShardError, input_error, not_found, unavailable
from observatory.runtime.faults import FaultInjector
from observatory.runtime.health import HEALTH_SCORES, ShardState, overall_status
from observatory.runtime.metrics import ShardMetrics
from observatory.runtime.placement import choose_placement, llama_gpu_layers
from observatory.runtime.schemas import (
    Document,
    DocumentsRequest,
    Hit,
    InferenceRequest,
    InferenceResponse,
    Query,
    SearchRequest,
    StageTimings,
)
from observatory.runtime.settings import ShardSettings
from observatory.runtime.tinymodel import ensure_default_adapters, ensure_default_model
from observatory.runtime.vectors import VectorIndex
from observatory.runtime.vram import VRAMLicenseManager, VRAMLimitError

log = logging.getLogger(__name__)


def package_version() -> str:
    """The installed package's version."""
    try:
        return version("themis-observatory")
    except PackageNotFoundError:
        return "unknown"


class Shard:
    """One domain shard: what the API serves and the probes inspect."""

    def __init__(self, settings: ShardSettings, request_shutdown: Callable[[], None] = lambda: None) -> None:
        self.settings = settings
        self.request_shutdown = request_shutdown
        self.model_path = settings.model or ensure_default_model(settings.cache_dir)
        self.model_name = settings.model_name or self.model_path.stem
        self.adapter_dir = settings.adapter_dir or self.model_path.parent / f"{self.model_path.stem}-adapters"
        self.metrics = ShardMetrics(
            settings.shard_name, settings.domain, self.model_name, package_version(), settings.metrics_enabled
        )
        self.vram = VRAMLicenseManager(settings.vram_budget)
        # A property of the llama.cpp build, fixed for the process: asked once, not on every probe and scrape.
        self.gpu_available = bool(llama_cpp.llama_supports_gpu_offload())
        gpu_layers = llama_gpu_layers(settings.n_gpu_layers, self.gpu_available)
        self.engine = LlamaEngine(self.model_path, settings.n_ctx, settings.n_threads, gpu_layers, settings.seed)
        self.adapters = AdapterCache(self.engine, self.vram, self.adapter_dir)
        self.limiter = InFlightLimiter(settings.max_in_flight)
        self.metrics.track_requests(lambda: self.limiter.in_flight, self.limiter.capacity)
        self.index: VectorIndex | None = None
        self.batcher: SearchBatcher | None = None
        self.texts: dict[int, str] = {}
        self.faults = FaultInjector()
        self.startup_error: str | None = None
        self.started = False
        self.started_monotonic = time.monotonic()
        self._last_recall = float("-inf")
        self._record_vram()

    # -- life cycle ---------------------------------------------------------------------------

    async def start(self) -> None:
        """Load the model and start the search queue; a failure is kept for the probes, not raised."""
        try:
            facts = await asyncio.to_thread(self._load)
        except (VRAMLimitError, ValueError, OSError) as error:
            self.startup_error = str(error)
            log.error("the shard could not load its model: %s", error)
            self.metrics.gauge("themis_shard_health_status", 0.0)
            return
        placement = choose_placement(self.settings.faiss_gpu_scratch_bytes)
        self.index = VectorIndex(facts.embedding_dim, self.settings.index_kind, self.settings.ivf_nlist,
                                 self.settings.ivf_nprobe, placement)  # fmt: skip
        self.batcher = SearchBatcher(
            self.index, self.settings.search_batch_max, self.settings.search_batch_wait_s, self.metrics.search_batch
        )
        await self.batcher.start()
        self._record_index("add", 0, self.index)
        self.started = True
        self.refresh_health()
        log.info("shard %s serving %s (%d bytes)", self.settings.shard_name, self.model_name, facts.size_bytes)

    def _load(self) -> ModelFacts:
        if self.settings.model is None and self.settings.adapter_dir is None:
            ensure_default_adapters(self.adapter_dir)
        self.vram.reserve("model", self.model_path.stat().st_size)
        facts = self.engine.load()
        self.metrics.model_loaded(facts.load_seconds, facts.size_bytes, self.settings.model_quality)
        self.metrics.adapters_available(self.adapters.available())
        self._record_vram()
        return facts

    async def stop(self) -> None:
        """Stop the queue and free adapters and the model."""
        if self.batcher is not None:
            await self.batcher.stop()
        if self.engine.loaded:
            await asyncio.to_thread(self.adapters.close)
            await asyncio.to_thread(self.engine.close)
        self.metrics.model_unloaded()
        self.started = False

    # -- probes -------------------------------------------------------------------------------

    def state(self) -> ShardState:
        """What the probes judge."""
        return ShardState(
            gpu_available=self.gpu_available,
            gpu_required=self.settings.gpu_required,
            model_loaded=self.started and self.engine.loaded,
            vram_reserved_bytes=self.vram.reserved_bytes,
            vram_limit_bytes=self.vram.limit_bytes,
            active_requests=self.limiter.in_flight,
            capacity=self.limiter.capacity,
        )

    def refresh_health(self) -> str:
        """The health status now, also recorded in ``themis_shard_health_status``."""
        status = "unhealthy" if self.faults.unhealthy else overall_status(self.state())
        self.metrics.gauge("themis_shard_health_status", HEALTH_SCORES[status])
        return status

    # -- inference ----------------------------------------------------------------------------

    async def infer(self, request: InferenceRequest) -> InferenceResponse:
        """Run one completion and record it (a refusal is recorded from its HTTP status by the app)."""
        started = time.perf_counter()
        self._require_started()
        await self.faults.before_request()
        if len(request.prompt) > self.settings.max_prompt_chars:
            raise input_error("prompt", f"prompt: longer than {self.settings.max_prompt_chars} characters")
        wanted = [(adapter.name, adapter.scale) for adapter in request.adapters]
        completion, hits = await asyncio.to_thread(self._complete, request, wanted)
        seconds = time.perf_counter() - started
        stages = {
            "tokenize": completion.tokenize_seconds,
            "prompt_eval": completion.prompt_eval_seconds,
            "generation": completion.generation_seconds,
        }
        self.metrics.inference(
            seconds,
            completion.prompt_tokens,
            completion.completion_tokens,
            completion.evaluated_prompt_tokens,
            stages,
            completion.kv_cache_usage_ratio,
        )
        if completion.adapters or completion.switch_seconds is not None:
            self.metrics.adapters_used(completion.adapters, hits, completion.switch_seconds)
            self._record_adapters()
        return InferenceResponse(
            text=completion.text,
            model=self.model_name,
            prompt_tokens=completion.prompt_tokens,
            completion_tokens=completion.completion_tokens,
            tokens_per_second=completion.tokens_per_second,
            kv_cache_usage_ratio=completion.kv_cache_usage_ratio,
            timings=StageTimings(**stages, total=seconds, adapter_switch=completion.switch_seconds),
            adapters_used=list(completion.adapters),
        )

    def _complete(self, request: InferenceRequest, wanted: list[tuple[str, float | None]]) -> tuple[Completion, int]:
        with self.adapters.using(wanted) as resolution:
            completion = self.engine.complete(
                request.prompt, request.max_tokens, request.temperature, resolution.applied
            )
        return completion, resolution.cache_hits

    # -- adapters -----------------------------------------------------------------------------

    async def load_adapter(self, name: str, scale: float) -> None:
        """Load an adapter into the cache under the VRAM budget."""
        self._require_started()
        try:
            await asyncio.to_thread(self.adapters.load, name, scale)
        finally:
            self._record_adapters()

    async def unload_adapter(self, name: str) -> None:
        """Unload an adapter and release its VRAM."""
        self._require_started()
        await asyncio.to_thread(self.adapters.unload, name)
        self._record_adapters()

    def _record_adapters(self) -> None:
        self.metrics.adapters_loaded(len(self.adapters.loaded()))
        self._record_vram()

    def _record_vram(self) -> None:
        self.metrics.vram(self.vram.limit_bytes, self.vram.reserved_bytes)

    # -- vector search ------------------------------------------------------------------------

    async def add_documents(self, request: DocumentsRequest) -> list[int]:
        """Embed and index a batch of documents."""
        index = self._require_index()
        ids = [document.id for document in request.documents]
        for position, vector_id in enumerate(ids):
            if vector_id is not None and (index.contains(vector_id) or ids.index(vector_id) != position):
                raise ShardError(409, f"document id {vector_id} is already in use", f"documents.{position}.id")
        vectors = await self._vectors(request.documents, "documents")
        chosen = await asyncio.to_thread(index.add, vectors, ids)
        for vector_id, document in zip(chosen, request.documents, strict=True):
            if document.text is not None:
                self.texts[vector_id] = document.text
        self._record_index("add", len(chosen), index)
        await self._maybe_measure_recall(index)
        return chosen

    async def delete_document(self, vector_id: int) -> None:
        """Remove one document from the index."""
        index = self._require_index()
        if not await asyncio.to_thread(index.remove, vector_id):
            raise not_found("id", f"no document with id {vector_id}")
        self.texts.pop(vector_id, None)
        self._record_index("remove", 1, index)

    def _record_index(self, operation: str, vectors: int, index: VectorIndex) -> None:
        self.metrics.index_changed(operation, vectors, index.count, index.size_bytes)
        self.metrics.faiss_vram(index.vram_bytes, index.placement.scratch_bytes)

    async def search(self, request: SearchRequest) -> list[list[Hit]]:
        """The ``k`` nearest documents for each query, through the micro-batching queue.

        Successful queries are recorded here; a refusal is recorded from its HTTP status by the app.
        """
        started = time.perf_counter()
        queries = request.as_queries()
        index = self._require_index()
        await self.faults.before_request()
        if request.k > index.count:
            raise input_error("k", f"k: {request.k} is larger than the index ({index.count} vectors)")
        vectors = await self._vectors(queries, "queries" if request.queries is not None else None)
        assert self.batcher is not None
        distances, ids = await self.batcher.search(vectors, request.k)
        self.metrics.search(time.perf_counter() - started, len(queries))
        return [
            [Hit(id=int(i), distance=float(d), text=self.texts.get(int(i))) for d, i in zip(row_d, row_i, strict=True)
             if i >= 0]
            for row_d, row_i in zip(distances, ids, strict=True)
        ]  # fmt: skip

    async def _vectors(self, items: Sequence[Query | Document], field: str | None) -> np.ndarray:
        """One row per item: its vector, or its text embedded; ``field`` is the list's name in the body."""
        assert self.index is not None
        dim = self.index.dim
        rows: list[np.ndarray | None] = []
        texts: list[tuple[int, str, str]] = []
        for position, item in enumerate(items):
            prefix = f"{field}.{position}." if field else ""
            if item.vector is not None:
                if len(item.vector) != dim:
                    where = f"{prefix}vector"
                    raise input_error(where, f"{where}: has {len(item.vector)} dimensions, the index has {dim}")
                rows.append(np.asarray(item.vector, dtype=np.float32))
            else:
                rows.append(None)
                texts.append((position, item.text, f"{prefix}text"))
        if texts:
            embedded = await asyncio.to_thread(
                self.engine.embed, [text for _, text, _ in texts], [where for _, _, where in texts]
            )
            for (position, _, _), vector in zip(texts, embedded, strict=True):
                rows[position] = vector
        return np.stack(rows)

    async def _maybe_measure_recall(self, index: VectorIndex) -> None:
        now = time.monotonic()
        if now - self._last_recall < self.settings.recall_interval_s:
            return
        recall = await asyncio.to_thread(index.recall_at, self.settings.recall_sample)
        if recall is not None:
            self._last_recall = now
            self.metrics.gauge("themis_vector_search_recall_at_10_ratio", recall)

    def _require_started(self) -> None:
        if not self.started:
            raise unavailable(self.startup_error or "the model is still loading")

    def _require_index(self) -> VectorIndex:
        self._require_started()
        assert self.index is not None
        return self.index
