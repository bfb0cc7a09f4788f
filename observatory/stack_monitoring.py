"""Prometheus and Alertmanager for the local stack, configured by the code that writes deploy/.

The generated prometheus.yml and alertmanager.yml come from :func:`prometheus_config` and
:func:`alertmanager_config`; here the same functions are given the stack's loopback addresses, short
intervals and the rules generated from the same configuration, so what runs locally is what ships.
"""

from __future__ import annotations

import dataclasses
import shutil
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import yaml

from observatory.artefacts import panel_linker
from observatory.commandline import free_port
from observatory.config import ObservatoryConfig
from observatory.config.model import Duration, Url
from observatory.manifests.alertmanager_config import RECEIVER, alertmanager_config
from observatory.manifests.prometheus_config import prometheus_config
from observatory.manifests.scrape_jobs import ScrapeJob
from observatory.rules.mixin import rule_groups
from observatory.rules.render import rule_file

# A local stack answers within seconds: every scrape and evaluation runs this often.
LOCAL_INTERVAL = Duration("1s")
# Alertmanager waits this long before the first notification of a group, and between updates of it.
LOCAL_GROUP_WAIT = "1s"
LOCAL_GROUP_INTERVAL = "5s"
PROMETHEUS_BINARY = "prometheus"
ALERTMANAGER_BINARY = "prometheus-alertmanager"


class MonitoringError(RuntimeError):
    """Prometheus or Alertmanager cannot run here (a binary is missing)."""


def local_config(config: ObservatoryConfig, alertmanager_address: str, webhook_url: str | None) -> ObservatoryConfig:
    """``config`` with loopback Alertmanager, optional webhook and the local stack's short intervals."""
    prometheus = dataclasses.replace(
        config.prometheus,
        scrape_interval=LOCAL_INTERVAL,
        scrape_timeout=LOCAL_INTERVAL,
        evaluation_interval=LOCAL_INTERVAL,
        shard_scrape_interval=LOCAL_INTERVAL,
    )
    alertmanager = dataclasses.replace(
        config.alertmanager,
        address=alertmanager_address,
        webhook_url=Url(webhook_url) if webhook_url else config.alertmanager.webhook_url,
    )
    return dataclasses.replace(config, prometheus=prometheus, alertmanager=alertmanager)


def local_alertmanager_config(config: ObservatoryConfig, webhook: bool) -> dict[str, Any]:
    """The generated alertmanager.yml with local timings; without ``webhook`` its receiver sends nowhere."""
    data = alertmanager_config(config, rule_groups(config, panel_linker(config)))
    routes = [data["route"], *data["route"]["routes"]]
    for route in routes:
        route.update(group_wait=LOCAL_GROUP_WAIT, group_interval=LOCAL_GROUP_INTERVAL)
    if not webhook:
        data["receivers"] = [{"name": RECEIVER}]
    return data


def write_rule_files(config: ObservatoryConfig, folder: Path) -> list[Path]:
    """The generated rule groups for ``config``, one file each, as `observatory generate` writes them."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for group in rule_groups(config, panel_linker(config)):
        path = folder / f"{group.name}.yml"
        path.write_text(rule_file(group))
        paths.append(path)
    return paths


def loopback_locator(config: ObservatoryConfig, urls: Mapping[str, str]) -> Callable[[ScrapeJob, str | None], str]:
    """Where each scrape job's target listens in the stack, from the stack's service URLs by name."""
    prefixes = {
        config.jobs.shards: "shard-",
        config.jobs.host: "host-exporter-",
        config.jobs.gpu: "gpu-exporter-",
    }

    def locate(job: ScrapeJob, domain: str | None) -> str:
        name = "orchestrator" if domain is None else prefixes[job.name] + domain
        return urls[name].removeprefix("http://")

    return locate


def _binary(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        raise MonitoringError(f"{name} is not installed (Debian package {name}; `make toolchain` installs it)")
    return path


@dataclasses.dataclass(frozen=True)
class MonitoringPlan:
    """Prometheus' and Alertmanager's command lines and URLs, and the configuration they were written from."""

    alertmanager: tuple[tuple[str, ...], str]
    prometheus: tuple[tuple[str, ...], str]
    config: ObservatoryConfig


def plan_monitoring(
    config: ObservatoryConfig,
    urls: Mapping[str, str],
    workdir: Path,
    *,
    webhook_url: str | None = None,
    port: Callable[[], int] = free_port,
    loopback: str = "127.0.0.1",
) -> MonitoringPlan:
    """Write prometheus.yml, alertmanager.yml and the rule files into ``workdir`` for the services at ``urls``.

    ``config.shards`` must be the stack's domains; each service of ``urls`` is named as the stack names it.
    """
    prometheus_binary, alertmanager_binary = _binary(PROMETHEUS_BINARY), _binary(ALERTMANAGER_BINARY)
    alertmanager_address = f"{loopback}:{port()}"
    prometheus_address = f"{loopback}:{port()}"
    local = local_config(config, alertmanager_address, webhook_url)
    rules = write_rule_files(local, workdir / "rules")
    prometheus_yml = workdir / "prometheus.yml"
    data = prometheus_config(local, loopback_locator(local, urls), [str(path) for path in rules])
    prometheus_yml.write_text(yaml.safe_dump(data, sort_keys=False))
    alertmanager_yml = workdir / "alertmanager.yml"
    alertmanager_yml.write_text(yaml.safe_dump(local_alertmanager_config(local, webhook_url is not None)))
    alertmanager_argv = (
        alertmanager_binary,
        f"--config.file={alertmanager_yml}",
        f"--storage.path={workdir / 'alertmanager-data'}",
        f"--web.listen-address={alertmanager_address}",
        # One Alertmanager, not a cluster: no gossip port.
        "--cluster.listen-address=",
    )
    prometheus_argv = (
        prometheus_binary,
        f"--config.file={prometheus_yml}",
        f"--storage.tsdb.path={workdir / 'prometheus-data'}",
        f"--web.listen-address={prometheus_address}",
        "--log.level=warn",
    )
    return MonitoringPlan(
        (alertmanager_argv, f"http://{alertmanager_address}"),
        (prometheus_argv, f"http://{prometheus_address}"),
        local,
    )

