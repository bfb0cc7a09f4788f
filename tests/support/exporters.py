"""A substitute NVML binding with nvidia-ml-py's function names, result types and error classes.

Tests build :class:`SubstituteNvml` instances with faults (a missing library, a lost GPU, an
unsupported field, a hanging call). The module itself also works as a binding: its module-level
functions serve two healthy GPUs, so an exporter process can load it with
``--nvml-module support.exporters``; ``SUBSTITUTE_NVML_FAULT=no_library`` makes that binding
behave as if the NVML library were missing.
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass, field

import pynvml
from pynvml import NVMLError

# The real binding's error classes and constants, so the exporter's look-ups behave as with NVML.
_REAL_NAMES = {name: getattr(pynvml, name) for name in dir(pynvml) if name.startswith(("NVMLError", "NVML_"))}
globals().update(_REAL_NAMES)

NVML_FUNCTIONS = (
    "nvmlInit",
    "nvmlShutdown",
    "nvmlSystemGetDriverVersion",
    "nvmlDeviceGetCount",
    "nvmlDeviceGetHandleByIndex",
    "nvmlDeviceGetUUID",
    "nvmlDeviceGetName",
    "nvmlDeviceGetUtilizationRates",
    "nvmlDeviceGetMemoryInfo",
    "nvmlDeviceGetTemperature",
    "nvmlDeviceGetPowerUsage",
    "nvmlDeviceGetEnforcedPowerLimit",
    "nvmlDeviceGetClockInfo",
    "nvmlDeviceGetTotalEnergyConsumption",
)


@dataclass
class SubstituteGpu:
    """One GPU's state, in NVML's own units (percent, bytes, milliwatts, MHz, millijoules)."""

    uuid: str
    name: str = "NVIDIA Substitute 80GB HBM3"
    utilization: tuple[int, int] = (42, 17)
    memory: tuple[int, int] = (20 * 2**30, 80 * 2**30)
    temperature: int = 55
    power_mw: int = 250_000
    power_limit_mw: int = 700_000
    sm_clock_mhz: int = 1_410
    energy_mj: int = 123_456_789
    lost: bool = False
    # NVML function name -> error class raised for this GPU (e.g. power -> NotSupported).
    faults: dict[str, type[NVMLError]] = field(default_factory=dict)


class SubstituteNvml:
    """An NVML binding over :class:`SubstituteGpu` objects, with injectable faults.

    ``hang`` names functions that block until :meth:`release` (an NVML call stuck in the driver).
    """

    def __init__(
        self,
        gpus: list[SubstituteGpu] | None = None,
        driver_version: str = "550.54.15",
        library_missing: bool = False,
        hang: tuple[str, ...] = (),
    ) -> None:
        self.gpus = gpus if gpus is not None else [SubstituteGpu("GPU-0000-sub"), SubstituteGpu("GPU-0001-sub")]
        self.driver_version = driver_version
        self.library_missing = library_missing
        self.hang = set(hang)
        self.initialised = False
        self.init_calls = 0
        self.calls: list[str] = []
        self._released = threading.Event()
        for name, value in _REAL_NAMES.items():
            setattr(self, name, value)

    def release(self) -> None:
        """Let every hanging call return."""
        self._released.set()

    def _enter(self, function: str) -> None:
        self.calls.append(function)
        if function in self.hang:
            self._released.wait()
        if self.library_missing:
            raise pynvml.NVMLError_LibraryNotFound()
        if not self.initialised and function != "nvmlInit":
            raise pynvml.NVMLError_Uninitialized()

    def _gpu(self, function: str, handle: SubstituteGpu, entered: bool = False) -> SubstituteGpu:
        if not entered:
            self._enter(function)
        if handle.lost:
            raise pynvml.NVMLError_GpuIsLost()
        if function in handle.faults:
            raise handle.faults[function]()
        return handle

    def nvmlInit(self) -> None:  # noqa: N802 (NVML's names)
        self.init_calls += 1
        self._enter("nvmlInit")
        self.initialised = True

    def nvmlShutdown(self) -> None:  # noqa: N802
        self._enter("nvmlShutdown")
        self.initialised = False

    def nvmlSystemGetDriverVersion(self) -> str:  # noqa: N802
        self._enter("nvmlSystemGetDriverVersion")
        return self.driver_version

    def nvmlDeviceGetCount(self) -> int:  # noqa: N802
        self._enter("nvmlDeviceGetCount")
        return len(self.gpus)

    def nvmlDeviceGetHandleByIndex(self, index: int) -> SubstituteGpu:  # noqa: N802
        self._enter("nvmlDeviceGetHandleByIndex")
        if index >= len(self.gpus):
            raise pynvml.NVMLError_InvalidArgument()
        return self._gpu("nvmlDeviceGetHandleByIndex", self.gpus[index], entered=True)

    def nvmlDeviceGetUUID(self, handle: SubstituteGpu) -> str:  # noqa: N802
        return self._gpu("nvmlDeviceGetUUID", handle).uuid

    def nvmlDeviceGetName(self, handle: SubstituteGpu) -> str:  # noqa: N802
        return self._gpu("nvmlDeviceGetName", handle).name

    def nvmlDeviceGetUtilizationRates(self, handle: SubstituteGpu) -> pynvml.c_nvmlUtilization_t:  # noqa: N802
        gpu, memory = self._gpu("nvmlDeviceGetUtilizationRates", handle).utilization
        return pynvml.c_nvmlUtilization_t(gpu=gpu, memory=memory)

    def nvmlDeviceGetMemoryInfo(self, handle: SubstituteGpu) -> pynvml.c_nvmlMemory_t:  # noqa: N802
        used, total = self._gpu("nvmlDeviceGetMemoryInfo", handle).memory
        return pynvml.c_nvmlMemory_t(total=total, free=total - used, used=used)

    def nvmlDeviceGetTemperature(self, handle: SubstituteGpu, sensor: int) -> int:  # noqa: N802
        return self._gpu("nvmlDeviceGetTemperature", handle).temperature

    def nvmlDeviceGetPowerUsage(self, handle: SubstituteGpu) -> int:  # noqa: N802
        return self._gpu("nvmlDeviceGetPowerUsage", handle).power_mw

    def nvmlDeviceGetEnforcedPowerLimit(self, handle: SubstituteGpu) -> int:  # noqa: N802
        return self._gpu("nvmlDeviceGetEnforcedPowerLimit", handle).power_limit_mw

    def nvmlDeviceGetClockInfo(self, handle: SubstituteGpu, clock_type: int) -> int:  # noqa: N802
        return self._gpu("nvmlDeviceGetClockInfo", handle).sm_clock_mhz

    def nvmlDeviceGetTotalEnergyConsumption(self, handle: SubstituteGpu) -> int:  # noqa: N802
        return self._gpu("nvmlDeviceGetTotalEnergyConsumption", handle).energy_mj


# The module as a binding: two healthy GPUs, or a missing library when the environment asks for it.
_DEFAULT = SubstituteNvml(library_missing=os.environ.get("SUBSTITUTE_NVML_FAULT") == "no_library")
globals().update({name: getattr(_DEFAULT, name) for name in NVML_FUNCTIONS})
