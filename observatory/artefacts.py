"""Every generated artefact, as a pure function of the definitions and one configuration.

Each producer returns a mapping from a repository-relative path to the file's exact text.
Writing is separate, so tests can compare what would be generated with what is committed.
This module composes dashboards and rules: the rules' dashboard links come from here, so
neither package imports the other.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import partial
from pathlib import Path

from observatory import dashboards, manifests, rules
from observatory.catalogue import CATALOGUE
from observatory.config import DEFAULT_CONFIG, ObservatoryConfig
from observatory.dashboards.navigation import Runbook
from observatory.docs import metrics_markdown

# Globs whose every match is generated: a file there that no producer makes is stale.
GENERATED_GLOBS = (
    "dashboards/generated/*.json",
    "rules/*.yml",
    "rules/tests/*.yml",
    "rules/tests/alerts/*.yml",
    "deploy/**/*.*",
)


def panel_linker(config: ObservatoryConfig) -> rules.PanelLink:
    """Turns an alert's ``(dashboard uid, panel title)`` into the panel's path in the configured dashboards."""
    return partial(dashboards.panel_link, dashboards.dashboards(config))


def runbooks(config: ObservatoryConfig) -> dashboards.Runbooks:
    """Each panel an alert points at, with the runbooks of those alerts."""
    found: dict[tuple[str, str], list[Runbook]] = {}
    for group in rules.rule_groups(config):
        for alert in group.alerts:
            found.setdefault(alert.panel, []).append(Runbook(alert.name, alert.runbook_url))
    return {panel: tuple(alerts) for panel, alerts in found.items()}


def dashboard_files(config: ObservatoryConfig) -> Mapping[str, str]:
    """The generated dashboard JSON files for ``config``, keyed by repository-relative path."""
    return dashboards.artefacts(dashboards.dashboards(config), runbooks(config), config)


def all_artefacts(config: ObservatoryConfig = DEFAULT_CONFIG) -> dict[str, str]:
    """Every generated file for ``config``, keyed by its path relative to the repository root."""
    dashboard_json = dashboard_files(config)
    producers: tuple[Mapping[str, str], ...] = (
        {"docs/metrics.md": metrics_markdown(CATALOGUE)},
        dashboard_json,
        rules.artefacts(config, panel_linker(config)),
        manifests.artefacts(config, dashboard_json, panel_linker(config)),
    )
    files: dict[str, str] = {}
    for produced in producers:
        for path, text in produced.items():
            if path in files:
                raise ValueError(f"two producers generate {path}")
            files[path] = text
    return dict(sorted(files.items()))


def write_artefacts(root: Path, files: Mapping[str, str]) -> list[Path]:
    """Write ``files`` under ``root``, removing stale files in generated folders.

    Returns the paths whose content changed. Files are written with Unix newlines so that
    regeneration is byte-identical on every platform.
    """
    changed: list[Path] = []
    for relative, text in files.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        if not path.exists() or path.read_text(encoding="utf-8") != text:
            path.write_text(text, encoding="utf-8", newline="\n")
            changed.append(path)
    for pattern in GENERATED_GLOBS:
        for path in sorted(root.glob(pattern)):
            if path.is_file() and path.relative_to(root).as_posix() not in files:
                path.unlink()
                changed.append(path)
    return changed
