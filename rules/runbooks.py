"""docs/runbooks.md: one section per alert, the anchor its runbook_url points at."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import yaml

from observatory.catalogue import CATALOGUE
from observatory.config import ObservatoryConfig
from observatory.rules.links import runbook_anchor
from observatory.rules.model import Alert, Group, Recording, names_in, number, seconds


def _matching(rules: list[Recording], expr: str) -> list[Recording]:
    """The recording rules of one name that ``expr`` selects: those whose static labels it matches."""
    chosen = [r for r in rules if all(f'{key}="{value}"' in expr for key, value in r.labels)]
    return chosen or rules


def _metrics(expr: str, recordings: Mapping[str, list[Recording]], seen: set[str]) -> list[str]:
    """Bullet lines for every catalogue metric and recorded series ``expr`` reads, recursively."""
    lines: list[str] = []
    for token in names_in(expr):
        if token in seen:
            continue
        resolved = CATALOGUE.resolve_series(token)
        if resolved:
            seen.add(token)
            metric = resolved[0]
            lines.append(f"- `{token}` ({metric.type.value}, {metric.source.value}): {metric.help}")
        elif token in recordings:
            seen.add(token)
            for rule in _matching(recordings[token], expr):
                lines.append(f"- `{token}` (recorded as `{rule.expr}`): {rule.help}")
                lines += _metrics(rule.expr, recordings, seen)
        elif token == "up":
            seen.add(token)
            lines.append("- `up` (Prometheus): 1 if the last scrape of the target succeeded, else 0.")
    return lines


def onset_to_page(alert: Alert) -> str:
    """How long after its condition starts the alert pages, and what it waits for."""
    if alert.waits:
        return alert.waits
    if not seconds(alert.for_):
        return "Pages at the first evaluation at which its expression holds: nothing to wait for."
    return (
        f"Pages {alert.for_} after its expression first holds, if it holds at every evaluation in between:"
        " the `for` lets a passing breach go by."
    )


def _section(alert: Alert, group: str, recordings: Mapping[str, list[Recording]]) -> list[str]:
    uid, panel = alert.panel
    labels = ", ".join(f"`{key}={value}`" for key, value in alert.all_labels)
    return [
        f"## {alert.name}",
        "",
        f"{alert.summary} Labels: {labels}; for {alert.for_}; group `{group}`.",
        f"Seeds: {'; '.join(alert.seeds) or 'none'}.",
        "",
        f"**What it means.** {alert.meaning}",
        "",
        f"**Onset to page.** {onset_to_page(alert)}",
        "",
        "**PromQL.**",
        "",
        "```promql",
        alert.expr,
        "```",
        "",
        "**Metrics.**",
        "",
        *_metrics(alert.expr, recordings, set()),
        "",
        "**How to confirm.** Run the PromQL above in Prometheus' expression browser: it lists the series"
        f" breaching now, with their values. Then open the [{panel}]({alert.dashboard_url}) panel of"
        f" dashboard `{uid}` for the history around the alert.",
        "",
        "**What to do.**",
        "",
        *(f"- {action}" for action in alert.actions),
        "",
    ]


def inhibit_rules(alerts: Iterable[Alert]) -> list[dict[str, list[str]]]:
    """Alertmanager inhibit rules: a slower burn-rate tier is quiet while a faster one fires, and an alert
    that duplicates a critical burn-rate alert for the same shard is quiet while that one fires."""
    alerts = list(alerts)
    exhaustions = {dict(alert.labels).get("exhaustion") for alert in alerts} - {None}
    order = sorted(exhaustions, key=seconds)
    tiers = [
        {
            "source_matchers": [f'exhaustion="{fast}"'],
            "target_matchers": [f'exhaustion="{slow}"'],
            # Shard-level SLOs carry `shard`, the uptime SLO `instance`: equal on both keeps them apart. `cluster`
            # keeps one cluster's page from silencing another's in a shared Alertmanager (absent on both: equal).
            "equal": ["cluster", "slo", "shard", "instance"],
        }
        for i, fast in enumerate(order)
        for slow in order[i + 1 :]
    ]
    duplicates = [
        {
            "source_matchers": [f'alertname=~"{alert.inhibited_by}"', 'severity="critical"'],
            "target_matchers": [f'alertname="{alert.name}"'],
            "equal": ["cluster", "shard"],
        }
        for alert in alerts
        if alert.inhibited_by
    ]
    return tiers + duplicates


def runbooks_markdown(groups: list[Group], config: ObservatoryConfig) -> str:
    """The whole runbook document."""
    recordings: dict[str, list[Recording]] = {}
    for group in groups:
        for rule in group.recordings:
            recordings.setdefault(rule.record, []).append(rule)
    alerts = [(group.name, alert) for group in groups for alert in group.alerts]
    lines = [
        "# Runbooks",
        "",
        "Generated by `observatory generate` from the rule definitions in `rules/`; do not edit.",
        "Every alert's `runbook_url` points at its section; its `dashboard_url` at the panel that shows it.",
        "",
        "| alert | severity | for | seeds |",
        "|---|---|---|---|",
        *(
            f"| [{alert.name}](#{runbook_anchor(alert.name)}) | {alert.severity} | {alert.for_} |"
            f" {'; '.join(alert.seeds)} |"
            for _, alert in alerts
        ),
        "",
        "## SLO burn-rate tiers",
        "",
        f"Objectives: availability {number(config.slo.availability_objective * 100)} %, latency"
        f" {number(config.slo.latency_objective * 100)} % of requests under"
        f" {number(config.slo.latency_threshold_seconds)} s, uptime (scrapes of the shard targets that"
        f" succeed) {number(config.slo.availability_objective * 100)} %, over {config.slo.period}; budgets are"
        " computed from the counters' increase over the period, so idle minutes do not count. Each tier fires"
        " when both its windows burn the budget faster than its factor, and only while the shard serves at"
        f" least {number(config.thresholds.min_traffic_requests_per_second)} requests per second; `exhaustion`"
        " says how soon the budget is gone at that rate.",
        "",
        "**Which alert pages for what.** A dead shard (the process gone, the host down) answers no request,"
        f" so no request-based SLO sees it: ThemisShardTargetDown pages within {config.for_durations.target_down},"
        " and ThemisUptimeBudgetBurn1h records the budget it costs. A shard that answers but is unhealthy pages"
        " through ThemisShardDown; one that keeps crashing and restarting (every start young, so the start-up"
        " grace spares it, and up between crashes) through ThemisShardCrashLooping; a target that answers but"
        " exposes no shard series (a wrong port, a build without instrumentation) through ThemisShardTargetEmpty."
        " Failing requests page through the critical availability burn-rate tiers;"
        " the error-ratio alerts (ThemisInferenceErrorsHigh/Critical) and the latency alerts duplicate a"
        " critical burn-rate page for the same shard and are inhibited while it fires. ThemisWatchdog always"
        " fires: route it to a dead man's switch.",
        "",
        "These Alertmanager rules keep a slower tier quiet while a faster one fires, and a duplicate quiet"
        " while its burn-rate page fires:",
        "",
        "```yaml",
        yaml.safe_dump(
            {"inhibit_rules": inhibit_rules(alert for _, alert in alerts)}, sort_keys=False, width=100_000
        ).rstrip("\n"),
        "```",
        "",
    ]
    for group, alert in alerts:
        lines += _section(alert, group, recordings)
    return "\n".join(lines).rstrip("\n") + "\n"
