"""Prometheus exporters for GPU (NVML) and host (psutil) metrics."""
