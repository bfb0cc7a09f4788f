"""One pass over every GPU through an NVML binding, turning NVML errors into typed failures.

The binding is an argument (the ``pynvml`` module of nvidia-ml-py, or a substitute with the same
function names and error classes), so the reader runs without a GPU in tests.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any

from observatory.exporters.self_metrics import ERROR, LOST, NO_LIBRARY, NOT_FOUND, TIMEOUT, UNSUPPORTED, Failure

COLLECTOR = "nvml"

# NVML error classes by the reason they are reported under; anything else is "error".
ERROR_REASONS = {
    "NVMLError_NotSupported": UNSUPPORTED,
    "NVMLError_FunctionNotFound": UNSUPPORTED,
    "NVMLError_GpuIsLost": LOST,
    "NVMLError_GpuNotFound": NOT_FOUND,
    "NVMLError_NotFound": NOT_FOUND,
    "NVMLError_Timeout": TIMEOUT,
    "NVMLError_LibraryNotFound": NO_LIBRARY,
}
# After these, NVML is shut down and initialised again on the next read (as nvidia_gpu_exporter does).
REINIT_ERRORS = (
    "NVMLError_GpuIsLost",
    "NVMLError_Uninitialized",
    "NVMLError_DriverNotLoaded",
    "NVMLError_LibRmVersionMismatch",
    "NVMLError_GpuNotFound",
    "NVMLError_ResetRequired",
)

# NVML fills unavailable values with all-ones sentinels; some drivers hand out values just below
# INT64_MAX. None of them is a reading.
_SENTINEL_FLOOR = 2**63 - 2**16
_SENTINELS = frozenset({2**32 - 1, 2**64 - 1})


def _is_sentinel(value: int | float) -> bool:
    return value in _SENTINELS or value >= _SENTINEL_FLOOR


@dataclass(frozen=True)
class GpuReading:
    """What NVML said about one GPU: its identity and the fields it answered, by catalogue metric name."""

    index: int
    uuid: str = ""
    name: str = ""
    values: dict[str, float] = field(default_factory=dict)
    available: bool = True
    read_at: float | None = None

    def unavailable(self) -> GpuReading:
        """This GPU's identity and the time of its last good reading, without values."""
        return GpuReading(self.index, self.uuid, self.name, available=False, read_at=self.read_at)


@dataclass(frozen=True)
class NvmlSnapshot:
    """One pass over all GPUs: per-GPU readings, the driver version and what failed."""

    gpus: tuple[GpuReading, ...]
    driver_version: str
    failures: tuple[Failure, ...]
    duration: float


# (catalogue metric, NVML function, extra-argument constant names, conversion to base units)
FIELDS: tuple[tuple[str, str, tuple[str, ...], Callable[[Any], dict[str, float]]], ...] = (
    (
        "utilization",
        "nvmlDeviceGetUtilizationRates",
        (),
        lambda u: {
            "themis_gpu_utilization_ratio": u.gpu / 100,
            "themis_gpu_memory_bandwidth_utilization_ratio": u.memory / 100,
        },
    ),
    (
        "memory",
        "nvmlDeviceGetMemoryInfo",
        (),
        lambda m: {"themis_vram_usage_bytes": m.used, "themis_vram_total_bytes": m.total},
    ),
    (
        "temperature",
        "nvmlDeviceGetTemperature",
        ("NVML_TEMPERATURE_GPU",),
        lambda c: {"themis_gpu_temperature_celsius": c},
    ),
    ("power_usage", "nvmlDeviceGetPowerUsage", (), lambda mw: {"themis_gpu_power_usage_watts": mw / 1000}),
    ("power_limit", "nvmlDeviceGetEnforcedPowerLimit", (), lambda mw: {"themis_gpu_power_limit_watts": mw / 1000}),
    ("sm_clock", "nvmlDeviceGetClockInfo", ("NVML_CLOCK_SM",), lambda mhz: {"themis_gpu_sm_clock_hertz": mhz * 1e6}),
    (
        "energy",
        "nvmlDeviceGetTotalEnergyConsumption",
        (),
        lambda mj: {"themis_gpu_energy_joules_total": mj / 1000},
    ),
)


def _raw_values(result: Any) -> list[int | float]:
    """The numbers inside an NVML result (a number or a ctypes structure), for sentinel checks."""
    if isinstance(result, int | float):
        return [result]
    return [getattr(result, name) for name, *_ in getattr(result, "_fields_", ())]


class NvmlReader:
    """Reads every GPU through ``nvml``; initialises NVML lazily and again after a lost GPU.

    GPUs seen once stay known: while one is lost, or NVML is unavailable, it is reported as
    unavailable with the time of its last good reading, instead of vanishing.
    """

    def __init__(self, nvml: ModuleType | Any, clock: Callable[[], float] = time.time) -> None:
        self._nvml = nvml
        self._clock = clock
        self._initialised = False
        self._reinit_pending = False
        self._known: dict[int, GpuReading] = {}
        self._reinit_errors = tuple(getattr(nvml, name) for name in REINIT_ERRORS if hasattr(nvml, name))

    def _failure(self, error: Exception, subject: str) -> Failure:
        reason = next(
            (reason for name, reason in ERROR_REASONS.items() if isinstance(error, getattr(self._nvml, name, ()))),
            ERROR,
        )
        if isinstance(error, self._reinit_errors):
            # Shut down after the pass, so the other GPUs of this pass are still read.
            self._reinit_pending = True
        return Failure(COLLECTOR, reason, subject, str(error))

    def _shutdown(self) -> None:
        self._reinit_pending = False
        if self._initialised:
            self._initialised = False
            # NVML may already be broken; the next read initialises it afresh either way.
            with contextlib.suppress(self._nvml.NVMLError):
                self._nvml.nvmlShutdown()

    def read(self) -> NvmlSnapshot:
        """One pass over every GPU; never raises an NVML error."""
        started = time.perf_counter()
        failures: list[Failure] = []
        driver_version = ""
        gpus: dict[int, GpuReading] = {}
        try:
            if not self._initialised:
                self._nvml.nvmlInit()
                self._initialised = True
            driver_version = self._nvml.nvmlSystemGetDriverVersion()
            count = self._nvml.nvmlDeviceGetCount()
        except self._nvml.NVMLError as error:
            failures.append(self._failure(error, "init"))
        else:
            for index in range(count):
                gpus[index] = self._read_gpu(index, failures)
        for index, previous in self._known.items():
            if index not in gpus:
                gpus[index] = previous.unavailable()
        self._known = dict(sorted(gpus.items()))
        if self._reinit_pending:
            self._shutdown()
        return NvmlSnapshot(tuple(self._known.values()), driver_version, tuple(failures), time.perf_counter() - started)

    def _read_gpu(self, index: int, failures: list[Failure]) -> GpuReading:
        nvml = self._nvml
        previous = self._known.get(index, GpuReading(index))
        try:
            handle = nvml.nvmlDeviceGetHandleByIndex(index)
            uuid = nvml.nvmlDeviceGetUUID(handle)
            name = nvml.nvmlDeviceGetName(handle)
        except nvml.NVMLError as error:
            failures.append(self._failure(error, f"gpu{index}"))
            return previous.unavailable()
        values: dict[str, float] = {}
        for subject, function, constants, convert in FIELDS:
            try:
                result = getattr(nvml, function)(handle, *(getattr(nvml, c) for c in constants))
            except nvml.NVMLError as error:
                failure = self._failure(error, f"gpu{index}.{subject}")
                failures.append(failure)
                if failure.reason == LOST:
                    return GpuReading(index, uuid, name, available=False, read_at=previous.read_at)
                continue
            if any(_is_sentinel(raw) for raw in _raw_values(result)):
                failures.append(Failure(COLLECTOR, UNSUPPORTED, f"gpu{index}.{subject}", "NVML sentinel value"))
                continue
            values.update(convert(result))
        return GpuReading(index, uuid, name, values, available=True, read_at=self._clock())
