"""The shard: the engine, adapter cache, vector index and metrics wired together, and its operations.

Routes stay thin and call these methods. Blocking llama.cpp work runs in its own executor and FAISS
work in another, so a long generation never starves a search, and neither ever blocks the event
loop that answers the probes.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import defaultdict
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from importlib.metadata import PackageNotFoundError, version

import llama_cpp
import numpy as np

from observatory.runtime.adapters import AdapterCache
from observatory.runtime.admission import AdmissionQueue
from observatory.runtime.batcher import SearchBatcher
from observatory.runtime.engine import LlamaEngine, ModelFacts, Piece
from observatory.runtime.errors import ShardError, input_error, not_found, unavailable
from observatory.runtime.faults import FaultInjector
from observatory.runtime.generation import GenerationRequest
from observatory.runtime.health import HEALTH_SCORES, ShardState, overall_status
from observatory.runtime.inference import InferenceRunner, StreamEnd
from observatory.runtime.metrics import ShardMetrics
from observatory.runtime.placement import choose_placement, llama_gpu_layers
from observatory.runtime.recall import RecallMonitor
from observatory.runtime.schemas import (
    Document,
    DocumentsRequest,
    Hit,
    InferenceResponse,
    Query,
    SearchRequest,
)
from observatory.runtime.settings import ShardSettings
from observatory.runtime.tinymodel import ensure_default_adapters, ensure_default_model
from observatory.runtime.vectors import DuplicateIdError, VectorIndex, first_duplicate
from observatory.runtime.vram import VRAMLicenseManager, VRAMLimitError

# What /startup, /health and refused requests say when the model could not be loaded for a reason
# other than the VRAM budget; the exception itself (paths included) goes to the log only.
LOAD_FAILED = "the model could not be loaded; see the shard's log"
SHUTTING_DOWN = "the shard is shutting down"

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
        self._request_shutdown = request_shutdown
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
        self.queue = AdmissionQueue(
            settings.max_in_flight, settings.max_queued, settings.max_queue_wait_s, settings.retry_after_s
        )
        self.metrics.track_requests(
            lambda: self.queue.in_flight, self.queue.capacity, lambda: self.queue.waiting, self.queue.max_waiting
        )
        # One generation runs at a time; the other threads serve embeddings and adapter loads beside it.
        self.llama_executor = ThreadPoolExecutor(settings.llama_threads, thread_name_prefix="llama")
        self.faiss_executor = ThreadPoolExecutor(settings.faiss_threads, thread_name_prefix="faiss")
        self.inference = InferenceRunner(
            self.engine, self.adapters, self.llama_executor, self.metrics, self.model_name, self._record_adapters
        )
        self.index: VectorIndex | None = None
        self.batcher: SearchBatcher | None = None
        self.recall: RecallMonitor | None = None
        self.texts: dict[int, str] = {}
        # One upload of an adapter name at a time: two at once both found no file, and the loser of the load
        # deleted the file the winner had stored.
        self.adapter_uploads: defaultdict[str, asyncio.Lock] = defaultdict(asyncio.Lock)
        self.faults = FaultInjector()
        self.startup_error: str | None = None
        self.started = False
        self.exit_code = 0
        self.started_monotonic = time.monotonic()
        self._record_vram()

    # -- life cycle ---------------------------------------------------------------------------

    async def start(self) -> None:
        """Load the model and start the search queue.

        A failure is kept for the probes (``/startup`` says what failed, in words) and the process is
        asked to exit non-zero, so that Kubernetes restarts it; the exception goes to the log.
        """
        try:
            facts = await asyncio.get_running_loop().run_in_executor(self.llama_executor, self._load)
            placement = choose_placement(self.settings.faiss_gpu_scratch_bytes)
            self.index = VectorIndex(facts.embedding_dim, self.settings.index_kind, self.settings.ivf_nlist,
                                     self.settings.ivf_nprobe, placement)  # fmt: skip
            self.batcher = SearchBatcher(self.index, self.settings.search_batch_max, self.settings.search_batch_wait_s,
                                         self.metrics.search_batch, self.faiss_executor)  # fmt: skip
            await self.batcher.start()
            self.recall = RecallMonitor(self.index, self.settings.recall_sample, self.settings.recall_interval_s,
                                        self.faiss_executor, self._record_recall)  # fmt: skip
            self.recall.start()
        except VRAMLimitError as error:
            self._fail_start(str(error))
            return
        except Exception:
            log.exception("the shard could not start")
            self._fail_start(LOAD_FAILED)
            return
        self._record_index("add", 0, self.index)
        self.started = True
        self.refresh_health()
        log.info("shard %s serving %s (%d bytes)", self.settings.shard_name, self.model_name, facts.size_bytes)

    def _fail_start(self, message: str) -> None:
        log.error("the shard failed to start: %s", message)
        self.startup_error = message
        self.exit_code = 1
        self.metrics.gauge("themis_shard_health_status", 0.0)
        self.queue.close(message)
        self._request_shutdown()

    def request_shutdown(self) -> None:
        """Stop taking requests (those waiting in line are answered 503) and ask the server to stop."""
        self.begin_shutdown()
        self._request_shutdown()

    def begin_shutdown(self) -> None:
        """Answer every request still waiting in line with 503 and refuse new ones; running ones finish."""
        self.queue.close(SHUTTING_DOWN)

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
        """Answer what still waits, stop the queues and free adapters and the model."""
        self.begin_shutdown()
        if self.recall is not None:
            await self.recall.stop()
        if self.batcher is not None:
            await self.batcher.stop()
        if self.engine.loaded:
            loop = asyncio.get_running_loop()
            await loop.run_in_executor(self.llama_executor, self.adapters.close)
            await loop.run_in_executor(self.llama_executor, self.engine.close)
        self.llama_executor.shutdown(wait=False)
        self.faiss_executor.shutdown(wait=False)
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
            active_requests=self.queue.in_flight,
            capacity=self.queue.capacity,
            queue_full=self.queue.full,
            search_failed=self.batcher is not None and self.batcher.failed,
        )

    def refresh_health(self) -> str:
        """The health status now, also recorded in ``themis_shard_health_status``."""
        status = "unhealthy" if self.faults.unhealthy else overall_status(self.state())
        self.metrics.gauge("themis_shard_health_status", HEALTH_SCORES[status])
        return status

    # -- inference ----------------------------------------------------------------------------

    async def infer(
        self,
        request: GenerationRequest,
        arrived: float | None = None,
        gone: Callable[[], Awaitable[None]] | None = None,
    ) -> tuple[InferenceResponse, str] | None:
        """Run one completion (``arrived``: when the request reached the shard, before it queued); the answer
        and its finish reason. Once ``gone()`` returns (the client hung up) the request leaves its turn or its
        generation stops (counted as ``cancelled``), and the result is None.
        """
        self._check_inference(request)
        arrived = arrived or time.perf_counter()
        if gone is None:
            return await self.inference.run(request, arrived)
        return await self.inference.run_until_gone(request, arrived, gone)

    def stream(self, request: GenerationRequest, arrived: float | None = None) -> AsyncIterator[str]:
        """The native API's server-sent events of one completion; the request is checked before the stream
        starts."""
        self._check_inference(request)
        return self.inference.stream(request, arrived or time.perf_counter())

    def pieces(self, request: GenerationRequest, arrived: float | None = None) -> AsyncIterator[Piece | StreamEnd]:
        """One completion's text piece by piece, then how it ended; the request is checked first."""
        self._check_inference(request)
        return self.inference.pieces(request, arrived or time.perf_counter())

    def _check_inference(self, request: GenerationRequest) -> None:
        self.require_started()
        if len(request.prompt) > self.settings.max_prompt_chars:
            raise input_error("prompt", f"prompt: longer than {self.settings.max_prompt_chars} characters")

    # -- adapters -----------------------------------------------------------------------------

    async def load_adapter(self, name: str, scale: float) -> None:
        """Load an adapter into the cache under the VRAM budget."""
        self.require_started()
        try:
            await asyncio.get_running_loop().run_in_executor(self.llama_executor, self.adapters.load, name, scale)
        finally:
            self._record_adapters()

    async def unload_adapter(self, name: str) -> None:
        """Unload an adapter and release its VRAM."""
        self.require_started()
        await asyncio.get_running_loop().run_in_executor(self.llama_executor, self.adapters.unload, name)
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
        duplicate = first_duplicate(ids, index.contains)
        if duplicate is not None:
            position, vector_id = duplicate
            raise ShardError(409, f"document id {vector_id} is already in use", f"documents.{position}.id")
        vectors = await self._vectors(request.documents, "documents")
        try:
            # The index checks the ids again under its lock: a concurrent request may have taken one meanwhile.
            chosen = await asyncio.get_running_loop().run_in_executor(self.faiss_executor, index.add, vectors, ids)
        except DuplicateIdError as error:
            raise ShardError(409, str(error), f"documents.{error.position}.id") from None
        for vector_id, document in zip(chosen, request.documents, strict=True):
            if document.text is not None:
                self.texts[vector_id] = document.text
        self._record_index("add", len(chosen), index)
        return chosen

    async def delete_document(self, vector_id: int) -> None:
        """Remove one document from the index."""
        index = self._require_index()
        if not await asyncio.get_running_loop().run_in_executor(self.faiss_executor, index.remove, vector_id):
            raise not_found("id", f"no document with id {vector_id}")
        self.texts.pop(vector_id, None)
        self._record_index("remove", 1, index)

    def _record_index(self, operation: str, vectors: int, index: VectorIndex) -> None:
        self.metrics.index_changed(operation, vectors, index.count, index.size_bytes)
        self.metrics.faiss_vram(index.vram_bytes, index.placement.scratch_bytes)
        if self.recall is not None:
            self.recall.changed()

    def _record_recall(self, recall: float) -> None:
        self.metrics.gauge("themis_vector_search_recall_at_10_ratio", recall)

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
        given: list[int] = []
        texts: list[tuple[int, str, str]] = []
        for position, item in enumerate(items):
            prefix = f"{field}.{position}." if field else ""
            if item.vector is not None:
                if len(item.vector) != dim:
                    where = f"{prefix}vector"
                    raise input_error(where, f"{where}: has {len(item.vector)} dimensions, the index has {dim}")
                given.append(position)
            else:
                texts.append((position, item.text, f"{prefix}text"))
        rows = np.empty((len(items), dim), dtype=np.float32)
        if given:
            # One conversion of every given vector: converting row by row cost 9 % of a shard ingesting vectors.
            rows[given] = np.asarray([items[position].vector for position in given], dtype=np.float32)
        if texts:
            embedded = await self.embed([text for _, text, _ in texts], [where for _, _, where in texts])
            rows[[position for position, _, _ in texts]] = embedded
        return rows

    async def embed(self, texts: Sequence[str], fields: Sequence[str]) -> np.ndarray:
        """Mean-pooled embeddings of ``texts`` (``fields`` names each in the request), one row per text.

        They run in the llama.cpp executor beside generation, on the engine's own embedding context,
        so a long generation neither blocks them nor competes with them for more threads.
        """
        self.require_started()
        embed = partial(self.engine.embed, texts, fields)
        return await asyncio.get_running_loop().run_in_executor(self.llama_executor, embed)

    async def count_tokens(self, texts: Sequence[str]) -> int:
        """The tokens ``texts`` take as embedding inputs, counted in the llama.cpp executor."""
        self.require_started()
        return await asyncio.get_running_loop().run_in_executor(self.llama_executor, self.engine.count_tokens, texts)

    def require_started(self) -> None:
        """503 unless the model is loaded and serving."""
        if not self.started:
            raise unavailable(self.startup_error or "the model is still loading")

    def _require_index(self) -> VectorIndex:
        self.require_started()
        assert self.index is not None
        return self.index
