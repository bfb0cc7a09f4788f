"""The FAISS index, recall against an exact index, and the micro-batching queue."""

import asyncio

import faiss
import numpy as np
import pytest

from observatory.runtime.batcher import SearchBatcher
from observatory.runtime.placement import MIB, CpuPlacement, GpuPlacement, choose_placement, faiss_gpu_present
from observatory.runtime.vectors import VectorIndex, ivf_shape


def _vectors(n: int, dim: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal((n, dim)).astype(np.float32)


def test_search_returns_k_results_sorted_by_distance():
    index = VectorIndex(768, kind="flat")
    index.add(_vectors(1000, 768), [None] * 1000)
    distances, ids = index.search(_vectors(1, 768, seed=1), 10)
    assert ids.shape == (1, 10)
    assert len(set(ids[0])) == 10
    assert distances[0][0] < distances[0][9]
    assert list(distances[0]) == sorted(distances[0])


def test_removed_vectors_are_not_found():
    index = VectorIndex(8, kind="flat")
    vectors = _vectors(20, 8)
    ids = index.add(vectors, [None] * 20)
    assert index.remove(ids[3])
    assert not index.remove(ids[3])
    _, found = index.search(vectors[3:4], 1)
    assert found[0][0] != ids[3]
    assert index.count == 19


def test_explicit_and_fresh_ids_do_not_collide():
    index = VectorIndex(4, kind="flat")
    assert index.add(_vectors(3, 4), [1, None, None]) == [1, 2, 3]
    # A fresh id skips an id given later in the same batch.
    assert index.add(_vectors(3, 4), [None, 4, 5]) == [6, 4, 5]
    assert index.count == 6


def test_ivf_index_trains_once_large_and_recall_is_measured_against_exact():
    index = VectorIndex(16, kind="ivf", nlist=8, nprobe=1)
    index.add(_vectors(100, 16), [None] * 100)
    assert not index.is_ivf  # too few vectors to train 8 lists
    assert index.recall_at(32) == 1.0
    index.add(_vectors(400, 16, seed=2), [None] * 400)
    assert index.is_ivf
    recall = index.recall_at(32)
    assert 0.0 < recall < 1.0  # three probed lists of twelve miss some true neighbours
    assert index.lists == 12  # sqrt(500) rounds to 22, but 500 vectors train only 12 lists well
    index.nprobe = 64
    index.add(_vectors(500, 16, seed=3), [None] * 500)  # doubling retrains with the new nprobe
    assert index.lists == 25 and index.recall_at(32) == 1.0  # every list probed: exact


def test_ivf_lists_grow_as_the_square_root_of_the_collection_and_probes_as_theirs():
    assert ivf_shape(10_000, 16, 4) == (100, 10)
    assert ivf_shape(1_000_000, 16, 4) == (1000, 32)
    assert ivf_shape(700, 16, 4) == (17, 4)  # 700 vectors train 17 lists; sqrt(17) < the minimum probes
    assert ivf_shape(100, 16, 32) == (16, 16)  # never fewer lists than asked, never more probes than lists


def test_concurrent_queries_share_micro_batches():
    index = VectorIndex(8, kind="flat")
    index.add(_vectors(50, 8), [None] * 50)
    batches: list[int] = []

    async def scenario():
        batcher = SearchBatcher(index, max_batch=64, max_wait_s=0.05, on_batch=lambda rows, _: batches.append(rows))
        await batcher.start()
        queries = _vectors(10, 8, seed=4)
        results = await asyncio.gather(*(batcher.search(queries[i : i + 1], 3) for i in range(10)))
        await batcher.stop()
        return queries, results

    queries, results = asyncio.run(scenario())
    assert sum(batches) == 10
    assert max(batches) > 1
    for query, (_, ids) in zip(queries, results, strict=True):
        assert list(ids[0]) == list(index.search(query, 3)[1][0])


def test_the_cpu_index_is_served_where_faiss_has_no_gpu():
    if faiss_gpu_present():
        pytest.skip("faiss sees a GPU here; the GPU test covers this machine")
    placement = choose_placement(64 * MIB)
    assert isinstance(placement, CpuPlacement)
    index = VectorIndex(8, kind="flat", placement=placement)
    index.add(_vectors(20, 8), [None] * 20)
    assert (index.vram_bytes, placement.scratch_bytes) == (0, 0)


@pytest.mark.gpu
def test_a_gpu_index_serves_the_same_neighbours_and_reports_its_vram():
    if not faiss_gpu_present():
        pytest.skip("faiss has no GPU support here, or sees no GPU")
    placement = choose_placement(64 * MIB)
    assert isinstance(placement, GpuPlacement)
    index = VectorIndex(32, kind="flat", placement=placement)
    vectors = _vectors(1000, 32)
    ids = index.add(vectors, [None] * 1000)
    assert index.remove(ids[0])  # the GPU copy is made again after a removal
    exact = faiss.IndexIDMap2(faiss.IndexFlatL2(32))
    exact.add_with_ids(vectors[1:], np.asarray(ids[1:], dtype=np.int64))
    queries = _vectors(5, 32, seed=7)
    assert (index.search(queries, 5)[1] == exact.search(queries, 5)[1]).all()
    assert index.vram_bytes == 999 * 32 * 4
    assert placement.scratch_bytes == 64 * MIB


def test_an_id_in_use_or_given_twice_is_refused_at_its_position_and_nothing_is_added():
    from observatory.runtime.vectors import DuplicateIdError

    index = VectorIndex(4, kind="flat")
    index.add(_vectors(1, 4), [7])
    for ids, where in (([None, 7], (1, 7)), ([3, None, 3], (2, 3))):
        with pytest.raises(DuplicateIdError) as refused:
            index.add(_vectors(len(ids), 4), ids)
        assert (refused.value.position, refused.value.vector_id) == where
    assert index.count == 1
