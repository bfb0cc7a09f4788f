"""``observatory verify``: what the dashboards and rules ask for, checked against a running Prometheus."""

from __future__ import annotations

from collections.abc import Sequence

from observatory.catalogue import Catalogue
from observatory.dashboards.model import Dashboard
from observatory.rules.model import Group
from observatory.verify.checks import check_alertmanager, check_metrics, check_panels, check_rules, firing_alerts
from observatory.verify.http import PrometheusApi, VerifyError, check_base_url
from observatory.verify.report import Report, render_json, render_table

__all__ = ["Report", "VerifyError", "render_json", "render_table", "verify"]


def verify(
    prometheus_url: str,
    alertmanager_url: str | None,
    catalogue: Catalogue,
    suite: Sequence[Dashboard],
    groups: Sequence[Group],
) -> Report:
    """Check a running Prometheus (and Alertmanager) against the catalogue, dashboards and rule groups.

    Raises VerifyError with one line when a URL is malformed or Prometheus cannot be asked at all.
    """
    base = check_base_url(prometheus_url)
    alertmanager = check_base_url(alertmanager_url) if alertmanager_url is not None else None
    api = PrometheusApi(base)
    missing, wrong, undeclared, unexpected = check_metrics(api, catalogue)
    rule_errors, missing_groups = check_rules(api, groups)
    return Report(
        prometheus=base,
        dashboards=check_panels(api, suite),
        missing_metrics=missing,
        wrong_types=wrong,
        undeclared_labels=undeclared,
        unexpected_metrics=unexpected,
        rule_errors=rule_errors,
        missing_rule_groups=missing_groups,
        firing_alerts=firing_alerts(api),
        alertmanager=check_alertmanager(api, alertmanager),
    )
