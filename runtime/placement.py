"""Where the work runs: llama.cpp layers and the FAISS index go to a GPU when the builds support one."""

from __future__ import annotations

from typing import Protocol

import faiss

MIB = 1024**2


def llama_gpu_layers(requested: int | None, can_offload: bool) -> int:
    """The layers llama.cpp offloads: as requested, else all of them where the build can offload (-1)."""
    if requested is not None:
        return requested
    return -1 if can_offload else 0


def faiss_gpu_present() -> bool:
    """Whether this faiss build has GPU support and sees at least one GPU."""
    return hasattr(faiss, "StandardGpuResources") and faiss.get_num_gpus() > 0


class Placement(Protocol):
    """A device the served index is copied to for searching."""

    scratch_bytes: int

    def place(self, index: faiss.Index) -> faiss.Index:
        """The index to search: ``index`` itself, or a copy of it on the device."""
        ...

    def index_bytes(self, vectors: int, dim: int) -> int:
        """Device memory a copy of ``vectors`` vectors of ``dim`` floats occupies."""
        ...


class CpuPlacement:
    """The index stays where it was built; no device memory is used."""

    scratch_bytes = 0

    def place(self, index: faiss.Index) -> faiss.Index:
        """``index`` itself."""
        return index

    def index_bytes(self, vectors: int, dim: int) -> int:
        """Nothing on a device."""
        return 0


class GpuPlacement:
    """Copies of the index on one GPU, sharing one ``StandardGpuResources``."""

    def __init__(self, scratch_bytes: int, device: int = 0) -> None:
        self._resources = faiss.StandardGpuResources()
        # FAISS reserves this much temporary device memory up front for searches; fixing it keeps
        # the reservation known (the default is a fraction of the whole card).
        self._resources.setTempMemory(scratch_bytes)
        self.scratch_bytes = scratch_bytes
        self._device = device

    def place(self, index: faiss.Index) -> faiss.Index:
        """A copy of ``index`` on the GPU."""
        return faiss.index_cpu_to_gpu(self._resources, self._device, index)

    def index_bytes(self, vectors: int, dim: int) -> int:
        """An estimate: FAISS reports no per-index device memory, so count the float32 vectors
        (``ntotal * d * 4``); ids and IVF centroids are small beside them."""
        return vectors * dim * 4


def choose_placement(scratch_bytes: int) -> Placement:
    """A GPU placement where faiss can use a GPU, else the CPU."""
    return GpuPlacement(scratch_bytes) if faiss_gpu_present() else CpuPlacement()
