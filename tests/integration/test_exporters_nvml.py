"""The GPU collector against the real NVML; runs where a GPU and driver are present, skipped elsewhere."""

from __future__ import annotations

import pynvml
import pytest
from prometheus_client import CollectorRegistry

from observatory.exporters.gpu_collector import GpuCollector


@pytest.fixture
def real_nvml():
    try:
        pynvml.nvmlInit()
    except pynvml.NVMLError as error:
        pytest.skip(f"no usable NVML here: {error}")
    yield pynvml
    pynvml.nvmlShutdown()


@pytest.mark.gpu
def test_reads_every_gpu_through_real_nvml(real_nvml):
    registry = CollectorRegistry()
    registry.register(GpuCollector(real_nvml, "gpu-test", timeout=30.0))
    families = {family.name: family for family in registry.collect()}
    count = real_nvml.nvmlDeviceGetCount()
    assert count >= 1
    for index in range(count):
        labels = {"shard": "gpu-test", "gpu": str(index)}
        assert registry.get_sample_value("themis_gpu_available", labels) == 1
        uuid = real_nvml.nvmlDeviceGetUUID(real_nvml.nvmlDeviceGetHandleByIndex(index))
        total = registry.get_sample_value("themis_vram_total_bytes", {**labels, "uuid": uuid})
        assert total == real_nvml.nvmlDeviceGetMemoryInfo(real_nvml.nvmlDeviceGetHandleByIndex(index)).total
    info = families["themis_gpu_info"].samples
    assert len(info) == count and all(sample.labels["driver_version"] for sample in info)
    # Whatever the board supports must lie in range; what it does not is absent, never a sentinel.
    for sample in families["themis_gpu_utilization_ratio"].samples:
        assert 0 <= sample.value <= 1
    for sample in families["themis_gpu_temperature_celsius"].samples:
        assert 0 < sample.value < 150
    assert registry.get_sample_value("themis_exporter_collector_up", {"collector": "nvml"}) == 1
