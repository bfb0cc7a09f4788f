"""The shard's FAISS vector index: add, remove and search by id, and recall against an exact index."""

from __future__ import annotations

import contextlib
import math
import threading
from collections.abc import Callable, Iterator, Sequence

import faiss
import numpy as np

from observatory.runtime.placement import CpuPlacement, Placement

# FAISS warns below 39 training points per IVF list; the index stays exact until it has that many.
TRAIN_POINTS_PER_LIST = 39
# k-means on more points per list costs training time (minutes at a million vectors on two cores)
# for centroids that hardly move; FAISS itself samples at most 256 per list.
TRAIN_SAMPLE_PER_LIST = 64


# Below this many query rows a search runs on one thread. FAISS fans every search out over OpenMP
# threads; for a few rows the fan-out costs more than the work, and on a busy machine its barrier
# waits for descheduled threads: one 10k-vector query measured 33 ms on two threads, 0.33 ms on one.
SMALL_SEARCH_ROWS = 20


@contextlib.contextmanager
def _threads(count: int) -> Iterator[None]:
    before = faiss.omp_get_max_threads()
    faiss.omp_set_num_threads(count)
    try:
        yield
    finally:
        faiss.omp_set_num_threads(before)


def ivf_shape(count: int, min_lists: int, min_probes: int) -> tuple[int, int]:
    """IVF lists and probes for ``count`` vectors: about sqrt(count) lists (at least ``min_lists``, at most what
    the data can train), probing about sqrt(lists) of them (at least ``min_probes``), so that search cost grows
    slower than the collection while recall holds."""
    lists = max(min_lists, min(round(math.sqrt(count)), count // TRAIN_POINTS_PER_LIST))
    return lists, min(lists, max(min_probes, round(math.sqrt(lists))))


def first_duplicate(ids: Sequence[int | None], in_use: Callable[[int], bool]) -> tuple[int, int] | None:
    """The position and id of the first given id that is ``in_use`` or given earlier in ``ids``; one pass."""
    seen: set[int] = set()
    for position, given in enumerate(ids):
        if given is not None:
            if given in seen or in_use(given):
                return position, given
            seen.add(given)
    return None


class DuplicateIdError(ValueError):
    """A document id that is already in use."""

    def __init__(self, position: int, vector_id: int) -> None:
        super().__init__(f"document id {vector_id} is already in use")
        self.position = position
        self.vector_id = vector_id


class VectorIndex:
    """Vectors by integer id in a served FAISS index (exact, or IVF once large enough); thread-safe.

    The raw vectors are kept so that the IVF index can be retrained as the collection grows (it is
    rebuilt whenever the collection doubles, its lists and probes growing by :func:`ivf_shape` from the
    minimums ``nlist`` and ``nprobe``) and recall can be measured against an exact search.
    The index is built and changed on the CPU; ``placement`` decides where it is searched. A GPU
    copy is made again before the first search after a change, since GPU indexes cannot remove ids.
    """

    def __init__(
        self, dim: int, kind: str = "ivf", nlist: int = 16, nprobe: int = 4, placement: Placement | None = None
    ) -> None:
        self.dim = dim
        self.kind = kind
        self.nlist = nlist
        self.nprobe = nprobe
        self.lists = 0  # of the built IVF index
        self.placement = placement or CpuPlacement()
        self._searched: faiss.Index | None = None  # the placed copy; None once a change made it stale
        self._vectors: dict[int, np.ndarray] = {}
        self._lock = threading.RLock()
        self._trained_at = 0
        self._next_id = 1
        self._built = self._flat()

    @property
    def count(self) -> int:
        """Vectors in the index."""
        return len(self._vectors)

    @property
    def is_ivf(self) -> bool:
        """Whether the served index is the approximate IVF index (else exact)."""
        return isinstance(self._built, faiss.IndexIVF)

    @property
    def size_bytes(self) -> int:
        """Memory of the built index's vectors, ids and centroids."""
        per_vector = self.dim * 4 + 8
        centroids = self.lists * self.dim * 4 if self.is_ivf else 0
        return self.count * per_vector + centroids

    @property
    def vram_bytes(self) -> int:
        """Device memory of the searched copy (0 on the CPU)."""
        return self.placement.index_bytes(self.count, self.dim)

    def contains(self, vector_id: int) -> bool:
        """Whether ``vector_id`` is in the index."""
        return vector_id in self._vectors

    def add(self, vectors: np.ndarray, ids: Sequence[int | None]) -> list[int]:
        """Add rows of ``vectors`` under ``ids`` (``None`` picks a fresh id); returns the ids used.

        Raises :class:`DuplicateIdError` (and adds nothing) if a given id is in the index or given twice.
        """
        vectors = np.ascontiguousarray(vectors, dtype=np.float32).reshape(-1, self.dim)
        with self._lock:
            duplicate = first_duplicate(ids, self._vectors.__contains__)
            if duplicate is not None:
                raise DuplicateIdError(*duplicate)
            chosen: list[int] = []
            taken = {given for given in ids if given is not None}
            for given in ids:
                if given is None:
                    while self._next_id in self._vectors or self._next_id in taken:
                        self._next_id += 1
                    given = self._next_id
                    taken.add(given)
                chosen.append(given)
            for vector_id, vector in zip(chosen, vectors, strict=True):
                self._vectors[vector_id] = vector
            if self._needs_training():
                self._rebuild()
            else:
                self._built.add_with_ids(vectors, np.asarray(chosen, dtype=np.int64))
            self._searched = None
            return chosen

    def remove(self, vector_id: int) -> bool:
        """Remove ``vector_id``; ``False`` if it was not there."""
        with self._lock:
            if self._vectors.pop(vector_id, None) is None:
                return False
            self._built.remove_ids(np.asarray([vector_id], dtype=np.int64))
            self._searched = None
            return True

    def search(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """Squared L2 distances and ids of the ``k`` nearest vectors per query row, nearest first."""
        queries = np.ascontiguousarray(queries, dtype=np.float32).reshape(-1, self.dim)
        small = len(queries) < SMALL_SEARCH_ROWS and isinstance(self.placement, CpuPlacement)
        with self._lock, _threads(1) if small else contextlib.nullcontext():
            return self._searchable().search(queries, k)

    def recall_at(self, sample: int, k: int = 10, seed: int = 0) -> float | None:
        """Recall@k of the served index against an exact search, for ``sample`` stored vectors as queries.

        ``None`` when the index holds fewer than ``k`` vectors.
        """
        with self._lock:
            if self.count < k:
                return None
            ids = np.fromiter(self._vectors, dtype=np.int64, count=self.count)
            matrix = np.stack([self._vectors[int(i)] for i in ids])
        # The exact search runs on a copy, outside the lock: searches and adds go on meanwhile.
        rng = np.random.default_rng(seed)
        picks = rng.choice(len(ids), size=min(sample, len(ids)), replace=False)
        noise = rng.standard_normal((len(picks), self.dim)).astype(np.float32) * matrix.std() * 0.1
        queries = matrix[picks] + noise
        exact = faiss.IndexFlatL2(self.dim)
        exact.add(matrix)
        _, exact_rows = exact.search(queries, k)
        served_ids = self.search(queries, k)[1]
        truth = ids[exact_rows]
        found = sum(len(set(want) & set(got)) for want, got in zip(truth, served_ids, strict=True))
        return found / (len(picks) * k)

    def _searchable(self) -> faiss.Index:
        if self._searched is None:
            self._searched = self.placement.place(self._built)
        return self._searched

    def _flat(self) -> faiss.Index:
        return faiss.IndexIDMap2(faiss.IndexFlatL2(self.dim))

    def _needs_training(self) -> bool:
        if self.kind != "ivf" or self.count < self.nlist * TRAIN_POINTS_PER_LIST:
            return False
        return self._trained_at == 0 or self.count >= 2 * self._trained_at

    def _rebuild(self) -> None:
        ids = np.fromiter(self._vectors, dtype=np.int64, count=self.count)
        matrix = np.stack([self._vectors[int(i)] for i in ids])
        lists, probes = ivf_shape(self.count, self.nlist, self.nprobe)
        index = faiss.IndexIVFFlat(faiss.IndexFlatL2(self.dim), self.dim, lists)
        sample = min(self.count, lists * TRAIN_SAMPLE_PER_LIST)
        index.train(matrix[np.random.default_rng(self._trained_at).choice(self.count, sample, replace=False)])
        index.nprobe = probes
        index.add_with_ids(matrix, ids)
        self._built = index
        self._trained_at = self.count
        self.lists = lists
