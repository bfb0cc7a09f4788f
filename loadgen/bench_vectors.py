"""Vector search at growing collection sizes, flat and IVF: through the service and in-process, with recall@10.

One shard per index kind, both filled at once through ``POST /api/v1/documents`` (several clients,
batches of 256), and an in-process :class:`VectorIndex` of the same kind gets the same batches in the
same order, so both train their IVF lists at the same sizes. At each size: ingest rate, search throughput and latency
through the service (several clients, micro-batched by the shard) against the in-process index one
query at a time and in batches, and recall@10 against an exact search. The data is clustered, as
embeddings are, which is what IVF relies on.
"""

from __future__ import annotations

import contextlib
import json
import tempfile
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

from observatory.loadgen.bench_common import closed_loop, encode, figures_of, spread
from observatory.loadgen.figures import HIGHER, LOWER
from observatory.runtime.bench import shard_process
from observatory.runtime.settings import ShardSettings
from observatory.runtime.vectors import VectorIndex

DIM = 64
K = 10
BATCH = 256
INGEST_CLIENTS = 4
SEARCH_CLIENTS = 8
IN_PROCESS_BATCH = 32
KINDS = ("flat", "ivf")


def clustered(count: int, seed: int = 0) -> np.ndarray:
    """``count`` vectors around ``count / 1000`` random centres (at least 10)."""
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((max(count // 1000, 10), DIM)).astype(np.float32) * 3
    noise = rng.standard_normal((count, DIM)).astype(np.float32)
    return centres[rng.integers(0, len(centres), count)] + noise


class DocumentBatches(Sequence[bytes]):
    """``POST /api/v1/documents`` bodies of :data:`BATCH` rows each, encoded as a client sends them: one at a
    time, so that a million vectors never sit in memory as Python floats or JSON at once."""

    def __init__(self, vectors: np.ndarray) -> None:
        self._vectors = vectors

    def __len__(self) -> int:
        return -(-len(self._vectors) // BATCH)

    def __getitem__(self, number: int) -> bytes:  # type: ignore[override]
        if not 0 <= number < len(self):
            raise IndexError(number)  # ends iteration, as a sequence must
        rows = self._vectors[number * BATCH : (number + 1) * BATCH].tolist()
        return encode([{"documents": [{"vector": row} for row in rows]}])[0]


def _ingest_service(base: str, vectors: np.ndarray) -> float:
    """Seconds to add ``vectors`` through the service."""
    bodies = DocumentBatches(vectors)
    started = time.perf_counter()
    sent = closed_loop(f"{base}/api/v1/documents", bodies, min(INGEST_CLIENTS, len(bodies)), 0, once=True)
    if sent.failures:
        raise RuntimeError(f"{sent.failures} document batches were refused")
    return time.perf_counter() - started


def _search_in_process(index: VectorIndex, queries: np.ndarray, seconds: float, batch: int) -> float:
    """Queries per second, ``batch`` at a time."""
    done, started = 0, time.perf_counter()
    while time.perf_counter() - started < seconds:
        start = (done // batch * batch) % (len(queries) - batch + 1)
        index.search(queries[start : start + batch], K)
        done += batch
    return done / (time.perf_counter() - started)


def _measure(base: str, index: VectorIndex, bodies: list[bytes], queries: np.ndarray, seconds: float,
             repeats: int) -> dict:  # fmt: skip
    service = [closed_loop(f"{base}/api/v1/search", bodies, SEARCH_CLIENTS, seconds) for _ in range(repeats)]
    if any(r.failures for r in service):
        raise RuntimeError(f"searches failed through the service at {index.count} vectors")
    one = [_search_in_process(index, queries, seconds, 1) for _ in range(repeats)]
    batched = [_search_in_process(index, queries, seconds, IN_PROCESS_BATCH) for _ in range(repeats)]
    qps = [r.requests_per_second for r in service]
    return {
        "ivf_lists": index.lists if index.is_ivf else 0,
        "service_queries_per_second": spread(qps),
        "service_latency_p50_ms": spread([r.percentile(50) for r in service]),
        "service_latency_p95_ms": spread([r.percentile(95) for r in service]),
        "in_process_queries_per_second": spread(one),
        "in_process_batched_queries_per_second": spread(batched),
        "service_to_in_process_ratio": spread([s / o for s, o in zip(qps, one, strict=True)]),
        "service_to_in_process_batched_ratio": spread([s / b for s, b in zip(qps, batched, strict=True)]),
        "recall_at_10": index.recall_at(200, K),
    }


def _add_in_process(index: VectorIndex, vectors: np.ndarray) -> float:
    """Seconds to add ``vectors`` in the service's batch size (so IVF retrains at the same sizes)."""
    started = time.perf_counter()
    for i in range(0, len(vectors), BATCH):
        index.add(vectors[i : i + BATCH], [None] * len(vectors[i : i + BATCH]))
    return time.perf_counter() - started


def bench_kinds(sizes: list[int], data: np.ndarray, queries: np.ndarray, seconds: float, repeats: int,
                cache_dir: Path) -> dict:  # fmt: skip
    """Flat and IVF shards side by side: filled together (each parses its own JSON), then measured in turn."""
    defaults = ShardSettings(domain="bench")
    bodies = encode({"vector": q, "k": K} for q in queries.tolist())
    rows: dict[str, dict] = {kind: {} for kind in KINDS}
    indexes = {kind: VectorIndex(DIM, kind, defaults.ivf_nlist, defaults.ivf_nprobe) for kind in KINDS}
    with contextlib.ExitStack() as stack:
        bases = {}
        for kind in KINDS:
            config = cache_dir / f"vectors-{kind}.json"
            config.write_text(json.dumps({"index_kind": kind, "recall_interval_s": 1e9}))
            bases[kind] = stack.enter_context(shard_process(cache_dir, "--config", str(config)))
        have = 0
        for size in sizes:
            added = data[have:size]
            with ThreadPoolExecutor(len(KINDS)) as pool:
                timings = pool.map(_ingest_service, [bases[kind] for kind in KINDS], [added] * len(KINDS))
                service_seconds = dict(zip(KINDS, timings, strict=True))
            for kind in KINDS:
                in_process_seconds = _add_in_process(indexes[kind], added)
                ingest = {"service": len(added) / service_seconds[kind], "in_process": len(added) / in_process_seconds}
                measured = _measure(bases[kind], indexes[kind], bodies, queries, seconds, repeats)
                rows[kind][str(size)] = {"ingest_vectors_per_second": ingest} | measured
            have = size
    return rows


def bench_vectors(sizes: list[int], seconds: float, repeats: int) -> dict:
    """Flat and IVF at every size; figures are medians of the repeats."""
    data = clustered(max(sizes))
    rng = np.random.default_rng(1)
    picks = rng.choice(len(data), 256, replace=False)
    queries = data[picks] + 0.1 * rng.standard_normal((256, DIM)).astype(np.float32)
    with tempfile.TemporaryDirectory() as scratch:
        kinds = bench_kinds(sizes, data, queries, seconds, repeats, Path(scratch))
    figures: dict[str, tuple[list[float], str, str]] = {}
    shown = (("service_queries_per_second", "q/s", HIGHER), ("service_latency_p95_ms", "ms", LOWER),
             ("service_to_in_process_ratio", "ratio", HIGHER), ("service_to_in_process_batched_ratio", "ratio", HIGHER))
    for kind, rows in kinds.items():
        for size, row in rows.items():
            for key, unit, better in shown:
                figures[f"{kind}.{size}.{key}"] = ([row[key]["median"]], unit, better)
            figures[f"{kind}.{size}.ingest_vectors_per_second"] = ([row["ingest_vectors_per_second"]["service"]],
                                                                   "vectors/s", HIGHER)
            figures[f"{kind}.{size}.recall_at_10"] = ([row["recall_at_10"]], "ratio", HIGHER)
    return {"dim": DIM, "k": K, "search_clients": SEARCH_CLIENTS, "ingest_clients": INGEST_CLIENTS,
            "in_process_batch": IN_PROCESS_BATCH, "seconds": seconds, "repeats": repeats, "kinds": kinds,
            "figures": figures_of(figures)}  # fmt: skip
