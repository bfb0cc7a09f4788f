"""Reference documentation generated from the catalogue."""

from __future__ import annotations

from observatory.catalogue import Catalogue
from observatory.catalogue.serving import SERVING_NAMES
from observatory.metric import Metric, Source

_SOURCE_TITLES = {
    Source.GPU_EXPORTER: "GPU exporter (`observatory-gpu-exporter`, port 9835)",
    Source.HOST_EXPORTER: "Host exporter (`observatory-host-exporter`, port 9100)",
    Source.SHARD: "Shard runtime (`observatory-shard`, port 8080)",
    Source.ORCHESTRATOR: "Orchestrator (port 8000)",
}


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def _labels(metric: Metric) -> str:
    parts = []
    for label in metric.labels:
        bound = "/".join(label.values) if label.values else f"≤{label.max_values}"
        parts.append(f"`{label.name}` ({_cell(bound)})")
    return ", ".join(parts) or "—"


def metrics_markdown(catalogue: Catalogue) -> str:
    """``docs/metrics.md``: every metric by source, and the seed-name mapping table."""
    lines = [
        "# Metric reference",
        "",
        "Generated from the catalogue (`observatory/catalogue/`) by `observatory generate`; do not edit.",
        "",
        f"{len(catalogue)} metrics. Label bounds: a list names the closed set of values; `≤N` caps",
        "values that come from configuration, and recorders fold anything beyond the bound into `other`.",
        "",
    ]
    for source in Source:
        metrics = [m for m in catalogue if m.source is source]
        if not metrics:
            continue
        lines += [f"## {_SOURCE_TITLES[source]}", ""]
        lines += ["| name | type | unit | labels | help | seed name |", "|---|---|---|---|---|---|"]
        for metric in metrics:
            also = "".join(f" (also {other.value})" for other in metric.also_exposed_by)
            seed = f"`{_cell(metric.seed.name)}`" if metric.seed else "—"
            lines.append(
                f"| `{metric.name}` | {metric.type.value} | {metric.unit.value or '—'} | {_labels(metric)} "
                f"| {_cell(metric.help)}{also} | {seed} |"
            )
        lines.append("")
    lines += [
        "## Seed names and the catalogue",
        "",
        "The seed specification names some metrics against Prometheus conventions (milliseconds,",
        "percentages, `_count` gauges, per-second gauges). The catalogue keeps the seed's name",
        "wherever it is valid and renames only these; thresholds convert as shown.",
        "",
        "| seed name | catalogue name | conversion | seed thresholds in catalogue units |",
        "|---|---|---|---|",
    ]
    for metric in sorted((m for m in catalogue if m.seed), key=lambda m: m.seed.name):
        conversion = _cell(metric.seed.conversion) or "renamed"
        thresholds = _cell(metric.seed.thresholds) or "—"
        lines.append(f"| `{_cell(metric.seed.name)}` | `{metric.name}` | {conversion} | {thresholds} |")
    return "\n".join(lines + _serving_names()) + "\n"


def _serving_names() -> list[str]:
    def name(text: str) -> str:
        # Names in code type; a remark in brackets after a name stays plain text.
        if text == "—":
            return text
        head, bracket, rest = text.partition(" (")
        return f"`{_cell(head)}`" + (f" ({_cell(rest)}" if bracket else "")

    lines = [
        "",
        "## Serving signals in vLLM, llama.cpp's server and OpenTelemetry",
        "",
        "Where to find the shard's serving signals when coming from another LLM server or from the",
        "OpenTelemetry GenAI semantic conventions (\"—\": that side has no such signal). The histograms of",
        "time to first token and time per output token use the OpenTelemetry GenAI bucket boundaries.",
        "",
        "| catalogue name | OpenTelemetry GenAI | vLLM | llama.cpp server (`--metrics`) |",
        "|---|---|---|---|",
    ]
    for row in SERVING_NAMES:
        cells = (name(row.opentelemetry), name(row.vllm), name(row.llama_cpp_server))
        lines.append(f"| `{row.metric}` | " + " | ".join(cells) + " |")
    return lines
