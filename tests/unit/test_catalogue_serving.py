"""The serving-signal name mapping names catalogue metrics, and the OpenTelemetry histograms use its buckets."""

import pytest

from observatory.catalogue import CATALOGUE
from observatory.catalogue.serving import SERVING_NAMES
from observatory.docs import metrics_markdown
from observatory.metric import Source

# From the OpenTelemetry GenAI semantic conventions (gen_ai.server.* metrics), written out here on purpose.
OTEL_BUCKETS = {
    "themis_inference_time_to_first_token_seconds": (
        0.001, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0,
    ),
    "themis_inference_time_per_output_token_seconds": (
        0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.75, 1.0, 2.5,
    ),
}  # fmt: skip


@pytest.mark.parametrize("row", SERVING_NAMES, ids=lambda row: row.metric)
def test_each_mapped_name_is_a_shard_metric_listed_in_the_docs(row):
    assert CATALOGUE[row.metric].source is Source.SHARD
    assert f"| `{row.metric}` | " in metrics_markdown(CATALOGUE).split("## Serving signals")[1]


def test_every_metric_is_mapped_once():
    names = [row.metric for row in SERVING_NAMES]
    assert len(names) == len(set(names))


@pytest.mark.parametrize(("name", "buckets"), OTEL_BUCKETS.items())
def test_latency_histograms_use_the_opentelemetry_buckets(name, buckets):
    assert CATALOGUE[name].buckets == buckets
