"""Alerts on the monitoring itself: scrape targets that fail or vanish, exporters that cannot read."""

from __future__ import annotations

from dataclasses import dataclass

from observatory.config import ObservatoryConfig
from observatory.config.selectors import equality_labels, selected_labels, selector
from observatory.config.vocabulary import CLUSTER_OVERVIEW
from observatory.metric import Source
from observatory.rules.histories import alternating, counter, counter_signal, gauge, level, signal
from observatory.rules.model import Alert, Case, Group, Labels, Series, number, seconds
from observatory.rules.probes import Condition, Presence, Probe, presence_values, state
from observatory.rules.templates import HUMANIZE, INSTANCE_REF, JOB_REF

PANEL = (CLUSTER_OVERVIEW, "Shard Health Heatmap")


@dataclass(frozen=True)
class Target:
    """How the alerts name a scrape job, how bad losing it is, and a sample instance for the tests."""

    job: str
    title: str
    severity: str
    instance: str
    serves: str
    # The component's configured label matchers: job="<job>" unless the configuration says otherwise.
    selector: str

    def labels(self, instance: str) -> Labels:
        """One target's labels, sorted as its alerts carry them: ``instance`` and what the selector selects."""
        return tuple(sorted({"instance": instance, **selected_labels(self.selector)}.items()))


def targets(config: ObservatoryConfig) -> tuple[Target, ...]:
    """The scrape jobs of seed 000's prometheus.yml, under their configured names."""
    jobs, ports = config.jobs, config.ports
    return (
        Target(
            jobs.shards,
            "Shard",
            "critical",
            f"shard-legal:{ports.shard}",
            "inference, search and the shard's health",
            selector(config, Source.SHARD),
        ),
        Target(
            jobs.orchestrator,
            "Orchestrator",
            "critical",
            f"orchestrator:{ports.orchestrator}",
            "cross-shard traffic",
            selector(config, Source.ORCHESTRATOR),
        ),
        Target(
            jobs.host,
            "HostExporter",
            "warning",
            f"shard-legal:{ports.host_exporter}",
            "host CPU, memory and network",
            selector(config, Source.HOST_EXPORTER),
        ),
        Target(
            jobs.gpu,
            "GPUExporter",
            "warning",
            f"shard-legal:{ports.gpu_exporter}",
            "GPU utilisation, memory and power",
            selector(config, Source.GPU_EXPORTER),
        ),
    )


def _up(target: Target, job: str, value: float) -> Series:
    return gauge("up", (("job", job), ("instance", target.instance)), value)


def _instances(target: Target) -> tuple[Labels, Labels]:
    """Two targets of the job (sorted labels, as the alert carries them)."""
    host, port = target.instance.rsplit(":", 1)
    return tuple(target.labels(f"{name}:{port}") for name in (host, f"{host}-2"))


def _up_presence(subject: Labels, seen) -> tuple[Series, ...]:
    return (Series("up", subject, presence_values(seen)),)


def _target_alerts(target: Target, config: ObservatoryConfig) -> tuple[Alert, Alert]:
    d = config.for_durations
    # absent() gives its output the selector's equality matchers as labels.
    absent = tuple(sorted(equality_labels(target.selector).items()))
    selector = f"up{{{target.selector}}}"
    down = Alert(
        name=f"Themis{target.title}TargetDown",
        expr=f"{selector} < 1",
        severity=target.severity,
        for_=d.target_down,
        summary=f"Prometheus cannot scrape a target of the {target.job} job.",
        description=f"Target {INSTANCE_REF} of job {JOB_REF} has failed every scrape for {d.target_down}.",
        meaning=(
            f"Scrapes of one {target.job} target failed for {d.target_down}: its {target.serves} metrics are stale"
            " and every alert on them is blind for that target."
        ),
        actions=(
            "Open Prometheus' /targets page: it shows the scrape error (refused, timeout, HTTP status).",
            "Check that the process runs and listens on the port; restart it if it hangs.",
        ),
        panel=PANEL,
        seeds=(f"prometheus.yml job {target.job}: up == 0",),
        check=Probe(signal("up"), "<", 1.0, _instances(target), quiet=1.0),
        firing=Case((_up(target, target.job, 0),), 0.0, target.labels(target.instance)),
        silent=Case((_up(target, target.job, 1),)),
    )
    missing = Alert(
        name=f"Themis{target.title}TargetMissing",
        expr=f"absent({selector})",
        severity="warning",
        for_=d.target_missing,
        summary=f"Prometheus has no target of the {target.job} job at all.",
        description=(
            f"No target of job {JOB_REF} has been scraped for {d.target_missing}: the job is missing from"
            " the configuration or its service discovery finds nothing."
        ),
        meaning=(
            f"Prometheus has no up series for the {target.job} job: nothing scrapes its {target.serves}"
            " metrics, and the alerts on them cannot fire."
        ),
        actions=(
            "Check that the Prometheus scrape configuration still has the job and its targets, then reload Prometheus.",
            "Check service discovery: are the targets registered under the expected names?",
        ),
        panel=PANEL,
        seeds=(f"prometheus.yml job {target.job}: absent",),
        check=Presence(_up_presence, _instances(target), output=lambda _: absent, per_subject=False),
        firing=Case((_up(target, "unrelated", 1),), 1.0, absent),
        silent=Case((_up(target, target.job, 1),)),
    )
    return down, missing


def _empty_target(target: Target, config: ObservatoryConfig) -> Alert:
    """A shard target that answers its scrapes but exposes none of the shard's series."""
    for_ = config.for_durations.series_missing
    health = "themis_shard_health_status"

    def scraped(subject: Labels, seen) -> tuple[Series, ...]:
        # The target is up throughout; the shard's health series (with the target's labels) where seen.
        return (
            Series("up", subject, " ".join(["1"] * len(seen))),
            Series(health, (*subject, ("shard", "legal")), presence_values(seen)),
        )

    return Alert(
        name=f"Themis{target.title}TargetEmpty",
        expr=f"up{{{target.selector}}} == 1 unless on (instance, job) {health}",
        severity="warning",
        for_=for_,
        summary=f"A target of the {target.job} job answers its scrapes but exposes no shard series.",
        description=(
            f"Target {INSTANCE_REF} of job {JOB_REF} is up but has exposed no {health} for {for_}: every shard"
            " alert is blind for it."
        ),
        meaning=(
            f"Prometheus scrapes the target successfully (up is 1) but it exposes no {health}, the series every"
            " shard alert and every SeriesMissing alert starts from: the port belongs to another process, or the"
            " build runs without its instrumentation. No threshold alert, no SeriesMissing alert and no target"
            " alert can fire for it; this one does."
        ),
        actions=(
            "Open the target's /metrics: if it shows another exporter's series, the scrape port is wrong.",
            "If it shows no themis_ series at all, the shard runs a build without its instrumentation: redeploy.",
        ),
        panel=PANEL,
        seeds=(f"prometheus.yml job {target.job}: up == 1 with no shard series",),
        check=Presence(scraped, _instances(target)),
        firing=Case((_up(target, target.job, 1),), 1.0, target.labels(target.instance)),
        silent=Case(scraped(target.labels(target.instance), [True] * 31)),
    )


def _collector_history(job: str, instance: str, window: str, errors: float, up: Series) -> tuple[Series, ...]:
    labels: Labels = (("job", job), ("instance", instance), ("collector", "nvml"))
    per_second = errors / seconds(window)
    return (
        counter("themis_exporter_collection_errors_total", (*labels, ("reason", "lost")), per_second),
        Series(up.name, labels, up.values),
    )


def _collector_alert(config: ObservatoryConfig) -> Alert:
    threshold = config.thresholds.exporter_collection_errors
    errors = threshold + 10
    keys = "job, instance, collector"
    job = config.jobs.gpu
    window = config.windows.collection_errors
    instance = f"shard-legal:{config.ports.gpu_exporter}"
    output = (("collector", "nvml"), ("instance", instance), ("job", job))
    return Alert(
        name="ThemisExporterCollectorFailing",
        expr=(
            f"sum by ({keys}) (increase(themis_exporter_collection_errors_total[{window}]))"
            f" > {number(threshold)} and on ({keys})"
            f" max_over_time(themis_exporter_collector_up[{window}]) == 0"
        ),
        severity="warning",
        for_=config.for_durations.collector_failing,
        summary="An exporter's collector keeps failing to read its source.",
        description=(
            "Collector {{ $labels.collector }} of {{ $labels.job }} on {{ $labels.instance }} failed"
            f" {HUMANIZE} reads in {window} without one complete read."
        ),
        meaning=(
            f"The collector failed more than {number(threshold)} reads in {window} and none of its"
            " reads in that window was complete. The exporter still answers scrapes, so up stays 1; the"
            " collector's series are missing or stale."
        ),
        actions=(
            "Read the reason label of themis_exporter_collection_errors_total: lost (GPU fell off the bus),"
            " no_library (NVML missing in the container), timeout (a hung NVML call).",
            "For lost or timeout, check nvidia-smi on the host; a driver reload or host reboot may be needed.",
        ),
        panel=PANEL,
        seeds=("exporter health: collection keeps failing",),
        check=Probe(
            counter_signal("themis_exporter_collection_errors_total", (("reason", "lost"),)),
            ">",
            threshold,
            tuple(
                (("collector", "nvml"), ("instance", f"shard-{name}:{config.ports.gpu_exporter}"), ("job", job))
                for name in ("legal", "finance")
            ),
            aggregate="increase",
            window=window,
            conditions=(
                Condition(
                    "complete reads in the window",
                    level("themis_exporter_collector_up", ("collector", "instance", "job")),
                    "==",
                    0,
                    held=0,
                    step=1,
                ),
            ),
        ),
        firing=Case(
            _collector_history(job, instance, window, errors, gauge("themis_exporter_collector_up", (), 0)),
            errors,
            output,
        ),
        silent=Case(
            _collector_history(job, instance, window, errors, alternating("themis_exporter_collector_up", (), 0, 1))
        ),
    )


def _watchdog() -> Alert:
    return Alert(
        name="ThemisWatchdog",
        expr="vector(1)",
        # mixtool accepts critical|warning|info; info pages no one and no inhibit rule matches it.
        severity="info",
        summary="Always firing: proves the whole alerting pipeline works.",
        description="The Watchdog fires at every evaluation ({{ $value | humanize }}); its silence is the incident.",
        meaning=(
            "This alert always fires, as kube-prometheus' Watchdog does. Route it to a dead man's switch"
            " (a heartbeat service that pages when the notifications stop): if it stops arriving, Prometheus,"
            " the rule evaluation, Alertmanager or the route to the receiver is broken, and no other alert can"
            " reach anyone either."
        ),
        actions=(
            "Never silence it. If the heartbeat service reports it missing, check Prometheus' /rules and /alerts,"
            " Alertmanager's status page and the receiver's delivery log.",
        ),
        panel=PANEL,
        seeds=("alerting pipeline health",),
        states=(
            state("fires with no input at all", (), 0, ((), 1.0)),
            state("still fires an hour later", (), 60, ((), 1.0)),
        ),
        firing=Case((), 1.0, ()),
    )


def targets_group(config: ObservatoryConfig) -> Group:
    """Target and exporter health alerts, one pair per scrape job, and the always-firing Watchdog."""
    alerts = [_watchdog(), _collector_alert(config)]
    for target in targets(config):
        alerts.extend(_target_alerts(target, config))
        if target.job == config.jobs.shards:
            alerts.append(_empty_target(target, config))
    return Group("themis-target-alerts", tuple(alerts))
