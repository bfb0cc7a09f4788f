"""NVIDIA's aiperf, run as an independent client of an OpenAI-compatible server, and its figures read back.

aiperf runs offline when ``--tokenizer`` names a local Hugging Face tokenizer directory and
``HF_HUB_OFFLINE`` is unset (with it set, aiperf takes the local path for a hub name); its ``builtin``
tokenizer downloads an encoding on first use. It writes ``profile_export_aiperf.json`` (each metric's
avg, p50, p90, p99 ...) and ``profile_export.jsonl`` (one record per request) under its artifact folder.
Its inter-token latency is per request: the time after the first token over the output tokens after it,
what the server's time-per-output-token histogram records.
"""

from __future__ import annotations

import json
import os
import subprocess
from dataclasses import dataclass
from pathlib import Path

# aiperf's names of the figures compared with the shard's series and with the load generator's.
LATENCIES = ("time_to_first_token", "inter_token_latency", "request_latency")
PERCENTILES = ("p50", "p90", "p99")


class AiperfError(RuntimeError):
    """aiperf did not run to the end; the message is one line with the end of its log."""


@dataclass(frozen=True)
class AiperfRun:
    """One aiperf profile: streamed chat of ``input_tokens`` in and exactly ``output_tokens`` out per request.

    ``server_token_counts`` takes the token counts from the answers' ``usage`` rather than re-tokenizing
    the text (a streamed text re-tokenized can split differently from the tokens that made it).
    """

    url: str
    model: str
    tokenizer: Path
    concurrency: int
    requests: int
    input_tokens: int = 16
    output_tokens: int = 32
    server_token_counts: bool = True
    seed: int = 1

    def command(self, binary: str, artifacts: Path) -> list[str]:
        """The ``aiperf profile`` command line."""
        argv = [
            binary, "profile", "--model", self.model, "--url", self.url, "--endpoint-type", "chat", "--streaming",
            "--tokenizer", str(self.tokenizer),
            "--synthetic-input-tokens-mean", str(self.input_tokens), "--synthetic-input-tokens-stddev", "0",
            "--output-tokens-mean", str(self.output_tokens), "--output-tokens-stddev", "0",
            "--concurrency", str(self.concurrency), "--request-count", str(self.requests),
            # vLLM's extensions, and max_tokens beside aiperf's max_completion_tokens for older servers.
            "--extra-inputs", "ignore_eos:true", "--extra-inputs", f"min_tokens:{self.output_tokens}",
            "--extra-inputs", f"max_tokens:{self.output_tokens}",
            "--random-seed", str(self.seed), "--ui-type", "none", "--artifact-dir", str(artifacts),
        ]  # fmt: skip
        return [*argv, "--use-server-token-count"] if self.server_token_counts else argv


@dataclass(frozen=True)
class AiperfResult:
    """aiperf's summary of a run (``profile_export_aiperf.json``) and its per-request records."""

    summary: dict
    records: list[dict]

    def latency(self, name: str, percentile: str) -> float:
        """A latency percentile in milliseconds, such as ``latency("time_to_first_token", "p90")``."""
        return float(self.summary[name][percentile])

    def total(self, name: str) -> float:
        """The sum of a per-request figure over the run's successful requests (``output_sequence_length``)."""
        return float(self.summary[name]["sum"])

    def per_request(self, name: str) -> list[float]:
        """One figure of every successful request, in aiperf's unit (milliseconds for latencies)."""
        return [float(r["metrics"][name]["value"]) for r in self.records if name in r.get("metrics", {})]

    @property
    def request_count(self) -> int:
        """Requests that completed without an error."""
        return int(self.summary["request_count"]["avg"])

    @property
    def output_tokens_per_second(self) -> float:
        """Output tokens per second of the benchmark's duration."""
        return float(self.summary["output_token_throughput"]["avg"])

    @property
    def errors(self) -> int:
        """Requests that failed."""
        return sum(int(entry.get("count", 0)) for entry in self.summary.get("error_summary") or ())


def run_aiperf(binary: str, run: AiperfRun, artifacts: Path, timeout_s: float = 600) -> AiperfResult:
    """Run aiperf to the end and read its exports; :class:`AiperfError` when it fails."""
    # With HF_HUB_OFFLINE set, aiperf reads a local tokenizer path as a hub name and fails.
    environment = {key: value for key, value in os.environ.items() if key != "HF_HUB_OFFLINE"}
    artifacts.mkdir(parents=True, exist_ok=True)
    log = artifacts / "aiperf.log"
    with log.open("w") as output:
        try:
            finished = subprocess.run(run.command(binary, artifacts), stdout=output, stderr=subprocess.STDOUT,
                                      env=environment, timeout=timeout_s, check=False)  # fmt: skip
        except subprocess.TimeoutExpired:
            raise AiperfError(f"aiperf ran past {timeout_s:g} s against {run.url}") from None
    summary_path = artifacts / "profile_export_aiperf.json"
    if finished.returncode != 0 or not summary_path.exists():
        tail = " | ".join(log.read_text(errors="replace").strip().splitlines()[-3:])
        raise AiperfError(f"aiperf exited {finished.returncode} against {run.url}: {tail}")
    records_path = artifacts / "profile_export.jsonl"
    records = [json.loads(line) for line in records_path.read_text().splitlines() if line.strip()]
    return AiperfResult(json.loads(summary_path.read_text()), records)
