"""Helpers for the rules tests: the seed alerts by name, and promtool run over generated rule files."""

from __future__ import annotations

import os
import re
import subprocess
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import yaml

_FILE_RESULT = re.compile(r"^Unit Testing:\s+(?P<path>\S+)\n(?P<body>.*?)(?=^Unit Testing:|\Z)", re.M | re.S)

# Every alert the seeds name (issue 3), mapped to the alert that implements it.
SEED_ALERTS: Mapping[str, str] = {
    "000: Shard Down": "ThemisShardDown",
    "000: High Latency": "ThemisInferenceLatencyHigh",
    "000: VRAM Threshold": "ThemisVRAMUsageHigh",
    "000: GPU Degraded": "ThemisGPUDegraded",
    "000: Low Token Generation": "ThemisTokenGenerationLow",
    "000: High KV Cache Miss Rate": "ThemisKVCacheMissRateHigh",
    "000: Slow LoRA Switching": "ThemisLoRASwitchingSlow",
    "001: throughput below target": "ThemisThroughputLow",
    "001: p99 latency above target": "ThemisInferenceLatencyP99High",
    "001: error rate above 1 %": "ThemisInferenceErrorsHigh",
    "001: GPU utilisation below 40 % for 10 minutes": "ThemisGPUUtilizationLow",
    "002: CUDA fragmentation events": "ThemisCUDAFragmentation",
    "002: request rate in the fragmentation-risk zone": "ThemisFragmentationRiskZone",
    "004: High CPU": "ThemisHostCPUHigh",
    "004: High Memory": "ThemisHostMemoryHigh",
    "004: High Error Rate": "ThemisInferenceErrorsCritical",
    "004: Low Throughput": "ThemisThroughputLow",
    "exporter health: collection keeps failing": "ThemisExporterCollectorFailing",
    "prometheus.yml job themisdb-shards: up == 0": "ThemisShardTargetDown",
    "prometheus.yml job themisdb-shards: absent": "ThemisShardTargetMissing",
    "prometheus.yml job themisdb-orchestrator: up == 0": "ThemisOrchestratorTargetDown",
    "prometheus.yml job themisdb-orchestrator: absent": "ThemisOrchestratorTargetMissing",
    "prometheus.yml job node-exporter: up == 0": "ThemisHostExporterTargetDown",
    "prometheus.yml job node-exporter: absent": "ThemisHostExporterTargetMissing",
    "prometheus.yml job nvidia-gpu-exporter: up == 0": "ThemisGPUExporterTargetDown",
    "prometheus.yml job nvidia-gpu-exporter: absent": "ThemisGPUExporterTargetMissing",
}


def alert_test_tree(files: Mapping[str, str], test: str, group_name: str, group_file: str) -> dict[str, str]:
    """An alert's promtool test file ``test``, the rule files it loads, and its group's file as ``group_file``."""
    loads = yaml.safe_load(files[test])["rule_files"]
    tree = {test: files[test], **{f"rules/{Path(p).name}": files[f"rules/{Path(p).name}"] for p in loads}}
    return {**tree, f"rules/{group_name}.yml": group_file}


def run_promtool(binary: str, cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """Run promtool in ``cwd`` with ``args``, expanding globs relative to ``cwd`` as a shell would."""
    expanded: list[str] = []
    for arg in args:
        matches = sorted(str(path.relative_to(cwd)) for path in cwd.glob(arg)) if "*" in arg else [arg]
        expanded += matches
    return subprocess.run([binary, *expanded], cwd=cwd, capture_output=True, text=True, timeout=300)


def promtool_test_outcomes(binary: str, cwd: Path, paths: Sequence[str], workers: int = 0) -> dict[str, str]:
    """Run ``promtool test rules`` over ``paths`` (relative to ``cwd``) in parallel chunks.

    Returns each path's report ("SUCCESS" or the failure text); a path promtool did not report is missing.
    """
    workers = workers or max(2, os.cpu_count() or 2)
    chunks = [list(paths[i::workers]) for i in range(workers) if paths[i::workers]]

    def run(chunk: list[str]) -> str:
        # One stream: promtool writes a file's heading and SUCCESS to stdout but its failures to stderr, so
        # read apart, every failure of a chunk would land in the report of the chunk's last file.
        command = [binary, "test", "rules", *chunk]
        result = subprocess.run(
            command, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=600
        )
        return result.stdout

    with ThreadPoolExecutor(len(chunks)) as pool:
        output = "\n".join(pool.map(run, chunks))
    return {m["path"]: m["body"].strip() for m in _FILE_RESULT.finditer(output)}
