"""The GPU collector against the substitute NVML: readings, and every fault the issue names."""

from __future__ import annotations

import logging

import pynvml
import pytest
from prometheus_client import CollectorRegistry

from observatory.catalogue import CATALOGUE
from observatory.exporters.gpu_collector import GpuCollector
from observatory.exporters.nvml_reader import ERROR_REASONS, FIELDS, REINIT_ERRORS
from observatory.exporters.self_metrics import REASONS, UNSUPPORTED
from observatory.metric import Source
from support.exporters import NVML_FUNCTIONS, SubstituteGpu, SubstituteNvml

SHARD = "legal"


class Clock:
    """A wall clock the test moves by hand, so reading ages are exact."""

    def __init__(self, now: float = 1_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


class Scrape:
    """One ``collect()`` of a registry, indexed for look-ups (each collect triggers an NVML read)."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.samples = {
            (sample.name, frozenset(sample.labels.items())): sample.value
            for family in registry.collect()
            for sample in family.samples
        }

    def get(self, name: str, /, **labels: str) -> float | None:
        return self.samples.get((name, frozenset(labels.items())))

    def gpu(self, name: str, index: int, uuid: str | None = None) -> float | None:
        labels = {"shard": SHARD, "gpu": str(index)}
        if uuid is not None:
            labels["uuid"] = uuid
        return self.get(name, **labels)

    def errors(self, reason: str) -> float | None:
        return self.get("themis_exporter_collection_errors_total", collector="nvml", reason=reason)

    def up(self) -> float | None:
        return self.get("themis_exporter_collector_up", collector="nvml")


def registry_for(nvml: SubstituteNvml, timeout: float = 30.0, clock: Clock | None = None) -> CollectorRegistry:
    registry = CollectorRegistry()
    registry.register(GpuCollector(nvml, SHARD, timeout, **({"clock": clock} if clock else {})))
    return registry


def test_readings_are_converted_to_base_units():
    scrape = Scrape(registry_for(SubstituteNvml()))
    uuid = "GPU-0000-sub"
    assert scrape.gpu("themis_gpu_utilization_ratio", 0, uuid) == pytest.approx(0.42)
    assert scrape.gpu("themis_gpu_memory_bandwidth_utilization_ratio", 0, uuid) == pytest.approx(0.17)
    assert scrape.gpu("themis_vram_usage_bytes", 0, uuid) == 20 * 2**30
    assert scrape.gpu("themis_vram_total_bytes", 0, uuid) == 80 * 2**30
    assert scrape.gpu("themis_gpu_temperature_celsius", 0, uuid) == 55
    assert scrape.gpu("themis_gpu_power_usage_watts", 0, uuid) == 250
    assert scrape.gpu("themis_gpu_power_limit_watts", 0, uuid) == 700
    assert scrape.gpu("themis_gpu_sm_clock_hertz", 0, uuid) == 1.41e9
    assert scrape.gpu("themis_gpu_energy_joules_total", 0, uuid) == pytest.approx(123_456.789)
    info = {"shard": SHARD, "gpu": "1", "uuid": "GPU-0001-sub", "name": "NVIDIA Substitute 80GB HBM3"}
    assert scrape.get("themis_gpu_info", **info, driver_version="550.54.15") == 1
    assert scrape.gpu("themis_gpu_available", 1) == 1
    assert scrape.up() == 1
    assert all(scrape.errors(reason) == 0 for reason in REASONS)


def test_registering_does_not_touch_nvml():
    nvml = SubstituteNvml()
    registry_for(nvml)
    assert nvml.calls == []


def test_describe_names_exactly_the_catalogue_families_of_the_gpu_exporter():
    described = {family.name for family in GpuCollector(SubstituteNvml(), SHARD, 1.0).describe()}
    # prometheus_client names a counter family without its _total suffix.
    assert described == {m.name.removesuffix("_total") for m in CATALOGUE.by_source(Source.GPU_EXPORTER)}


def test_zero_utilisation_is_a_reading_not_a_failure():
    nvml = SubstituteNvml([SubstituteGpu("GPU-idle", utilization=(0, 0))])
    scrape = Scrape(registry_for(nvml))
    assert scrape.gpu("themis_gpu_utilization_ratio", 0, "GPU-idle") == 0
    assert scrape.errors(UNSUPPORTED) == 0


def test_unsupported_power_is_omitted_for_that_gpu_only():
    faulty = SubstituteGpu("GPU-nopower", faults={"nvmlDeviceGetPowerUsage": pynvml.NVMLError_NotSupported})
    scrape = Scrape(registry_for(SubstituteNvml([faulty, SubstituteGpu("GPU-ok")])))
    assert scrape.gpu("themis_gpu_power_usage_watts", 0, "GPU-nopower") is None
    assert scrape.gpu("themis_gpu_temperature_celsius", 0, "GPU-nopower") == 55
    assert scrape.gpu("themis_gpu_power_usage_watts", 1, "GPU-ok") == 250
    assert scrape.gpu("themis_gpu_available", 0) == 1
    assert scrape.errors("unsupported") == 1
    # The board lacks the sensor; nothing is broken.
    assert scrape.up() == 1


def test_unsupported_utilisation_under_mig_is_absent_not_zero():
    mig = SubstituteGpu("MIG-gpu", faults={"nvmlDeviceGetUtilizationRates": pynvml.NVMLError_NotSupported})
    scrape = Scrape(registry_for(SubstituteNvml([mig])))
    assert scrape.gpu("themis_gpu_utilization_ratio", 0, "MIG-gpu") is None
    assert scrape.gpu("themis_gpu_memory_bandwidth_utilization_ratio", 0, "MIG-gpu") is None
    assert scrape.gpu("themis_vram_usage_bytes", 0, "MIG-gpu") == 20 * 2**30


@pytest.mark.parametrize(
    ("gpu", "metric"),
    [
        (SubstituteGpu("GPU-s", power_mw=2**32 - 1), "themis_gpu_power_usage_watts"),
        (SubstituteGpu("GPU-s", energy_mj=2**64 - 1), "themis_gpu_energy_joules_total"),
        (SubstituteGpu("GPU-s", energy_mj=9_223_372_036_854_775_794), "themis_gpu_energy_joules_total"),
        (SubstituteGpu("GPU-s", memory=(2**64 - 1, 2**64 - 1)), "themis_vram_usage_bytes"),
    ],
)
def test_sentinel_values_are_never_exported(gpu, metric):
    scrape = Scrape(registry_for(SubstituteNvml([gpu])))
    assert scrape.gpu(metric, 0, "GPU-s") is None
    assert scrape.gpu("themis_gpu_temperature_celsius", 0, "GPU-s") == 55
    assert scrape.errors(UNSUPPORTED) == 1


def test_lost_gpu_is_unavailable_and_nvml_is_initialised_again():
    clock = Clock()
    lost = SubstituteGpu("GPU-lost")
    nvml = SubstituteNvml([SubstituteGpu("GPU-ok"), lost])
    registry = registry_for(nvml, clock=clock)
    Scrape(registry)
    lost.lost = True
    clock.now += 60
    scrape = Scrape(registry)
    assert scrape.gpu("themis_gpu_available", 1) == 0
    assert scrape.gpu("themis_gpu_utilization_ratio", 1, "GPU-lost") is None
    assert scrape.get("themis_gpu_info", shard=SHARD, gpu="1") is None
    # Its last good reading is a minute old; the healthy GPU's is fresh.
    assert scrape.gpu("themis_gpu_reading_age_seconds", 1) == 60
    assert scrape.gpu("themis_gpu_reading_age_seconds", 0) == 0
    assert scrape.gpu("themis_gpu_utilization_ratio", 0, "GPU-ok") == pytest.approx(0.42)
    assert scrape.errors("lost") == 1
    assert scrape.up() == 0
    assert not nvml.initialised
    lost.lost = False
    scrape = Scrape(registry)
    assert nvml.init_calls == 2
    assert scrape.gpu("themis_gpu_available", 1) == 1
    assert scrape.up() == 1


def test_missing_library_still_serves_self_metrics():
    scrape = Scrape(registry_for(SubstituteNvml(library_missing=True)))
    assert scrape.up() == 0
    assert scrape.errors("no_library") == 1
    assert scrape.get("themis_exporter_collect_duration_seconds", collector="nvml") is not None
    assert not any(name.startswith(("themis_gpu", "themis_vram")) for name, _ in scrape.samples)


def test_gpus_stay_known_while_nvml_is_unavailable():
    nvml = SubstituteNvml()
    registry = registry_for(nvml)
    Scrape(registry)
    nvml.library_missing = True
    scrape = Scrape(registry)
    assert scrape.gpu("themis_gpu_available", 0) == 0
    assert scrape.gpu("themis_gpu_available", 1) == 0


def test_hanging_call_serves_the_last_reading_with_its_age():
    clock = Clock()
    nvml = SubstituteNvml([SubstituteGpu("GPU-sick")])
    registry = registry_for(nvml, timeout=0.5, clock=clock)
    try:
        first = Scrape(registry)
        assert first.gpu("themis_gpu_reading_age_seconds", 0) == 0
        success_at = first.get("themis_exporter_last_success_timestamp_seconds", collector="nvml")
        nvml.hang.add("nvmlDeviceGetTemperature")
        clock.now += 15
        stale = Scrape(registry)
        clock.now += 15
        staler = Scrape(registry)
        assert stale.gpu("themis_gpu_temperature_celsius", 0, "GPU-sick") == 55
        assert stale.gpu("themis_gpu_reading_age_seconds", 0) == 15
        assert staler.gpu("themis_gpu_reading_age_seconds", 0) == 30
        assert staler.errors("timeout") == 2
        assert staler.up() == 0
        assert staler.get("themis_exporter_last_success_timestamp_seconds", collector="nvml") == success_at
        # At most one read in flight: the stuck call was entered once, not once per scrape.
        assert nvml.calls.count("nvmlDeviceGetTemperature") == 2
    finally:
        nvml.release()
    fresh = Scrape(registry)
    assert fresh.gpu("themis_gpu_reading_age_seconds", 0) == 0
    assert fresh.up() == 1


def test_an_unexpected_error_in_a_read_is_counted_not_served_as_fresh(monkeypatch):
    clock = Clock()
    nvml = SubstituteNvml([SubstituteGpu("GPU-ok")])
    registry = registry_for(nvml, clock=clock)
    assert Scrape(registry).up() == 1

    def broken(*args):
        raise RuntimeError("binding bug")

    monkeypatch.setattr(nvml, "nvmlDeviceGetCount", broken)
    clock.now += 30
    scrape = Scrape(registry)
    assert scrape.up() == 0
    assert scrape.errors("error") == 1
    # The last good reading is still served, with its true age.
    assert scrape.gpu("themis_gpu_utilization_ratio", 0, "GPU-ok") == pytest.approx(0.42)
    assert scrape.gpu("themis_gpu_reading_age_seconds", 0) == 30
    monkeypatch.undo()
    assert Scrape(registry).up() == 1


def test_each_failure_kind_is_logged_once(caplog):
    faulty = SubstituteGpu("GPU-nopower", faults={"nvmlDeviceGetPowerUsage": pynvml.NVMLError_NotSupported})
    registry = registry_for(SubstituteNvml([faulty]))
    with caplog.at_level(logging.WARNING):
        for _ in range(3):
            Scrape(registry)
    lines = [record.getMessage() for record in caplog.records]
    assert len(lines) == 1
    assert "unsupported" in lines[0] and "gpu0.power_usage" in lines[0]


def test_reason_values_are_the_catalogue_label_values():
    reason = CATALOGUE["themis_exporter_collection_errors_total"].label("reason")
    assert set(REASONS) == set(reason.values)


def test_names_the_exporter_looks_up_exist_in_the_real_binding():
    looked_up = (*ERROR_REASONS, *REINIT_ERRORS, *(function for _, function, _, _ in FIELDS), *NVML_FUNCTIONS)
    assert [name for name in looked_up if not hasattr(pynvml, name)] == []
