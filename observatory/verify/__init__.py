"""``observatory verify``: what the dashboards and rules ask for, checked against a running Prometheus."""

from __future__ import annotations

from collections.abc import Sequence

from observatory.catalogue import Catalogue
from observatory.dashboards.model import Dashboard
from observatory.rules.model import Group
from observatory.verify.checks import (
    check_alertmanager,
    check_clusters,
    check_metrics,
    check_panels,
    check_rules,
    firing_alerts,
)
from observatory.verify.http import PrometheusApi, VerifyError, check_base_url
from observatory.verify.live_rules import check_rate_ranges, check_series
from observatory.verify.report import Report, render_json, render_table
from observatory.verify.store import firing_alert_series, is_store, missing_recorded, no_alertmanager

__all__ = ["Report", "VerifyError", "render_json", "render_table", "verify"]


def verify(
    prometheus_url: str,
    alertmanager_url: str | None,
    catalogue: Catalogue,
    suite: Sequence[Dashboard],
    groups: Sequence[Group],
) -> Report:
    """Check a running Prometheus (and Alertmanager) against the catalogue, dashboards and rule groups.

    Where series carry a ``cluster`` label, the dashboards are checked once per cluster too; a store that
    several Prometheus servers remote-write into (it loads no rules) has its rules checked by what each
    cluster recorded.

    Raises VerifyError with one line when a URL is malformed or Prometheus cannot be asked at all.
    """
    base = check_base_url(prometheus_url)
    alertmanager = check_base_url(alertmanager_url) if alertmanager_url is not None else None
    api = PrometheusApi(base)
    missing, wrong, undeclared, unexpected = check_metrics(api, catalogue)
    clusters = check_clusters(api, suite)
    names = [cluster.cluster for cluster in clusters]
    notes = []
    if is_store(api, names):
        # Fed by each cluster's Prometheus: the rules ran there; what they wrote is checked per cluster.
        rule_errors, missing_groups = (), ()
        recorded = missing_recorded(api, groups, names)
        series = [check_series(api, groups, catalogue, {"cluster": name}) for name in names]
        firing = firing_alert_series(api)
        alertmanager_result = check_alertmanager(api, alertmanager) if alertmanager else no_alertmanager(base)
        notes.append(f"{base} evaluates no rules: a store fed by the clusters {', '.join(names)}")
    else:
        rule_errors, missing_groups = check_rules(api, groups)
        recorded = ()
        series = [check_series(api, groups, catalogue)]
        firing = firing_alerts(api)
        alertmanager_result = check_alertmanager(api, alertmanager)
    short_ranges, range_notes = check_rate_ranges(api, groups)
    return Report(
        prometheus=base,
        dashboards=check_panels(api, suite),
        missing_metrics=missing,
        wrong_types=wrong,
        undeclared_labels=undeclared,
        unexpected_metrics=unexpected,
        rule_errors=rule_errors,
        missing_rule_groups=missing_groups,
        firing_alerts=firing,
        alertmanager=alertmanager_result,
        clusters=clusters,
        rule_series=tuple(gap for result in series for gap in result.gaps),
        short_ranges=short_ranges,
        missing_recorded=recorded,
        notes=(*notes, *range_notes, *(note for result in series for note in result.notes)),
    )
