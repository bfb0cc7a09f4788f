"""Self-metrics every exporter exposes about its own collection."""

from observatory.catalogue.labels import COLLECTOR, REASON
from observatory.metric import Metric, MetricType, Source, Unit

_EXPORTERS = (Source.GPU_EXPORTER, Source.HOST_EXPORTER)


def _self_metric(name: str, type: MetricType, help: str, unit: Unit, labels=(COLLECTOR,)) -> Metric:
    return Metric(name, type, help, unit, _EXPORTERS[0], tuple(labels), also_exposed_by=_EXPORTERS[1:])


EXPORTER_SELF_METRICS = (
    _self_metric(
        "themis_exporter_collect_duration_seconds",
        MetricType.GAUGE,
        "How long the collector's last read took, in seconds.",
        Unit.SECONDS,
    ),
    _self_metric(
        "themis_exporter_collection_errors_total",
        MetricType.COUNTER,
        "Reads that failed, by collector and reason; the scrape still answers with what could be read.",
        Unit.NONE,
        (COLLECTOR, REASON),
    ),
    _self_metric(
        "themis_exporter_collector_up",
        MetricType.GAUGE,
        "1 if the collector's last read succeeded, 0 if any part of it failed (unsupported fields do not count).",
        Unit.NONE,
    ),
    _self_metric(
        "themis_exporter_last_success_timestamp_seconds",
        MetricType.GAUGE,
        "Unix time of the collector's last complete read, in seconds.",
        Unit.SECONDS,
    ),
)
