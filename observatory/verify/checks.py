"""Each check of ``observatory verify``: asks Prometheus (or Alertmanager) and judges one concern."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence

from observatory.catalogue import Catalogue
from observatory.dashboards.model import Dashboard, Panel
from observatory.lint.promql import substitute_grafana_variables
from observatory.metric import Metric, MetricType
from observatory.rules.model import Group
from observatory.verify.http import PrometheusApi, QueryError, reachable
from observatory.verify.report import (
    AlertmanagerResult,
    ClusterResult,
    DashboardResult,
    PanelResult,
    RuleError,
    UndeclaredLabels,
    WrongType,
)

# Labels that scraping adds to every series: Prometheus' own, the `shard` relabelling of the generated
# configuration, and what the Prometheus Operator's Kubernetes discovery attaches.
SCRAPE_LABELS = frozenset({"job", "instance", "shard", "namespace", "pod", "service", "container", "endpoint"})
# Labels a Prometheus attaches to what it sends on (external_labels): a global view's series carry them.
EXTERNAL_LABELS = frozenset({"cluster"})
_STRING = re.compile(r'"(?:[^"\\]|\\.)*"')
_VARIABLE = re.compile(r"\$\{?\w+(?::\w+)?\}?")
_RANGE = re.compile(r"\$__range\b|\$\{__range(?::\w+)?\}")
_ALERTMANAGER_API = re.compile(r"/api/v[12]/alerts$")


def panel_expr(expr: str, time_range: str = "5m", chosen: Mapping[str, str] | None = None) -> str:
    """A panel query as Prometheus can run it: a variable inside a matcher matches every value (Grafana's
    "All") unless ``chosen`` gives its value, ``$__range`` becomes ``time_range``, the other interval
    variables 5m and numeric parameters 1."""
    chosen = chosen or {}

    def value(match: re.Match[str]) -> str:
        name = match.group(0).strip("${}").split(":", 1)[0]
        # A chosen value is matched literally, as Grafana escapes a single value in a regex matcher.
        return re.escape(chosen[name]).replace("\\", "\\\\") if name in chosen else ".*"

    widened = _STRING.sub(lambda match: _VARIABLE.sub(value, match.group(0)), expr)
    return substitute_grafana_variables(_RANGE.sub(time_range, widened))


def _opening_range(dashboard: Dashboard) -> str:
    # A stat over "the dashboard's range" shows, when the dashboard opens, the events of its default range.
    return dashboard.time_from.removeprefix("now-")


def _panel(api: PrometheusApi, panel: Panel, time_range: str, chosen: Mapping[str, str] | None = None) -> PanelResult:
    has_data = False
    for target in panel.targets:
        try:
            result = api.query(panel_expr(target.expr, time_range, chosen))
        except QueryError as error:
            return PanelResult(panel.title, "error", str(error))
        # A scalar answers [time, value], a vector series by series; a 0/0 ratio answers NaN, which Grafana
        # shows as no value: only a number is data.
        values = [result[1]] if result and not isinstance(result[0], dict) else [s["value"][1] for s in result]
        has_data = has_data or any(value != "NaN" for value in values)
    return PanelResult(panel.title, "data" if has_data else "empty")


def check_panels(
    api: PrometheusApi, suite: Sequence[Dashboard], chosen: Mapping[str, str] | None = None
) -> tuple[DashboardResult, ...]:
    """Per dashboard, which panels' queries return series now, over the range the dashboard opens on.

    ``chosen`` sets template variables (``{"cluster": "eu"}``); the others are "All".
    """
    return tuple(
        DashboardResult(
            dashboard.uid,
            dashboard.title,
            tuple(_panel(api, panel, _opening_range(dashboard), chosen or {}) for panel in dashboard.panels),
        )
        for dashboard in suite
    )


def check_clusters(api: PrometheusApi, suite: Sequence[Dashboard]) -> tuple[ClusterResult, ...]:
    """The dashboards with the cluster variable set to each cluster the server's series name."""
    clusters = api.get("label/cluster/values")
    return tuple(ClusterResult(cluster, check_panels(api, suite, {"cluster": cluster})) for cluster in clusters)


def _exposed_types(metric: Metric, metadata: dict[str, list[dict]]) -> set[str]:
    # Metadata is keyed by the name on the exposition's TYPE line: with or without a counter's _total.
    names = {metric.name, metric.name.removesuffix("_total")}
    return {entry["type"] for name in names for entry in metadata.get(name, [])}


def _created(metric: Metric) -> tuple[str, ...]:
    # prometheus_client serves a creation timestamp beside each counter and histogram unless told not to.
    return () if metric.type is MetricType.GAUGE else (f"{metric.name.removesuffix('_total')}_created",)


def _undeclared(api: PrometheusApi, metric: Metric) -> tuple[str, ...]:
    selector = '{__name__=~"' + "|".join(metric.series_names) + '"}'
    used = set(api.get("labels", [("match[]", selector)]))
    allowed = {"__name__", *metric.label_names, *SCRAPE_LABELS, *EXTERNAL_LABELS}
    if metric.type is MetricType.HISTOGRAM:
        allowed.add("le")
    return tuple(sorted(used - allowed))


def check_metrics(
    api: PrometheusApi, catalogue: Catalogue
) -> tuple[tuple[str, ...], tuple[WrongType, ...], tuple[UndeclaredLabels, ...], tuple[str, ...]]:
    """Catalogue metrics missing, exposed with another type or with undeclared labels; themis_ metrics not declared."""
    present = set(api.get("label/__name__/values"))
    metadata = api.get("metadata")
    missing, wrong, undeclared = [], [], []
    for metric in catalogue:
        if not present.intersection(metric.series_names):
            missing.append(metric.name)
            continue
        exposed = _exposed_types(metric, metadata)
        # A store fed by remote_write (VictoriaMetrics) keeps no metadata at all: types cannot be told there.
        if metadata and exposed != {metric.type.value}:
            wrong.append(WrongType(metric.name, metric.type.value, ", ".join(sorted(exposed)) or "unknown"))
        labels = _undeclared(api, metric)
        if labels:
            undeclared.append(UndeclaredLabels(metric.name, labels))
    declared = {name for metric in catalogue for name in (*metric.series_names, *_created(metric))}
    unexpected = sorted(name for name in present if name.startswith("themis_") and name not in declared)
    return tuple(missing), tuple(wrong), tuple(undeclared), tuple(unexpected)


def check_rules(api: PrometheusApi, groups: Iterable[Group]) -> tuple[tuple[RuleError, ...], tuple[str, ...]]:
    """Rules whose last evaluation failed, and generated rule groups Prometheus has not loaded."""
    loaded = api.get("rules")["groups"]
    errors = tuple(
        RuleError(group["name"], rule["name"], rule.get("lastError", ""))
        for group in loaded
        for rule in group["rules"]
        if rule.get("health") == "err"
    )
    names = {group["name"] for group in loaded}
    return errors, tuple(group.name for group in groups if group.name not in names)


def firing_alerts(api: PrometheusApi) -> tuple[str, ...]:
    """Alerts firing now, each with its labels."""
    alerts = [alert for alert in api.get("alerts")["alerts"] if alert["state"] == "firing"]
    described = []
    for alert in alerts:
        labels = {key: value for key, value in alert["labels"].items() if key != "alertname"}
        described.append(
            f"{alert['labels']['alertname']} {{{', '.join(f'{k}={v}' for k, v in sorted(labels.items()))}}}"
        )
    return tuple(sorted(described))


def check_alertmanager(api: PrometheusApi, url: str | None) -> AlertmanagerResult:
    """Whether ``url`` answers as a ready Alertmanager; without a URL, the ones Prometheus sends alerts to."""
    if url is not None:
        ok, detail = reachable(f"{url}/-/ready")
        return AlertmanagerResult(ok, f"{url}: {detail}")
    active = [entry["url"] for entry in api.get("alertmanagers")["activeAlertmanagers"]]
    if not active:
        return AlertmanagerResult(False, "Prometheus sends alerts to no Alertmanager")
    answers = [(base, *reachable(f"{base}/-/ready")) for base in (_ALERTMANAGER_API.sub("", u) for u in active)]
    detail = "; ".join(f"{base}: {answer}" for base, _, answer in answers)
    return AlertmanagerResult(any(ok for _, ok, _ in answers), detail)
