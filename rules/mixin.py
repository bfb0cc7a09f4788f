"""Composes the rule groups, applies the cross-cutting post-pass and produces every artefact."""

from __future__ import annotations

from dataclasses import replace

from observatory.config import ObservatoryConfig
from observatory.config.selectors import with_selectors
from observatory.rules.alerts_data import data_group
from observatory.rules.alerts_inference import inference_group
from observatory.rules.alerts_orchestrator import orchestrator_group
from observatory.rules.alerts_resources import resources_group
from observatory.rules.alerts_targets import targets_group
from observatory.rules.goodput import goodput_group
from observatory.rules.links import PanelLink, with_links
from observatory.rules.model import Group, Rule, names_in
from observatory.rules.promtool_tests import alert_test_file, recording_test_file, selected_by
from observatory.rules.recording import recording_group, serving_recording_group
from observatory.rules.render import rule_file
from observatory.rules.runbooks import runbooks_markdown
from observatory.rules.slo import slo_groups

RUNBOOKS_PATH = "docs/runbooks.md"
# One promtool test file per alert, so that a change to one alert is tested by one file.
ALERT_TESTS = "rules/tests/alerts"


def rule_groups(config: ObservatoryConfig, panel_link: PanelLink | None = None) -> list[Group]:
    """Every rule group, recording rules first so alerts read fresh recorded series.

    Alerts get a dashboard_url only when ``panel_link`` is given (the dashboards are composed above).
    Every expression reads each component's metrics through the component's configured selector.
    """
    groups = [
        recording_group(),
        serving_recording_group(),
        goodput_group(config),
        *slo_groups(config),
        inference_group(config),
        resources_group(config),
        targets_group(config),
        data_group(config),
        orchestrator_group(config),
    ]
    selected = [
        replace(group, rules=tuple(replace(rule, expr=with_selectors(rule.expr, config)) for rule in group.rules))
        for group in groups
    ]
    return with_links(selected, config, panel_link)


def _reads(rules: tuple[Rule, ...], other: Group) -> bool:
    """Whether the expressions of ``rules`` read a series that ``other`` records."""
    records = {rule.record for rule in other.recordings}
    return any(name in records for rule in rules for name in names_in(rule.expr))


def _rule_files(rules: tuple[Rule, ...], own: Group, groups: list[Group], up: str) -> list[str]:
    """The rule files a test of ``rules`` loads: their own group's and those recording what they read."""
    return [f"{up}{other.name}.yml" for other in groups if other is own or _reads(rules, other)]


def build_artefacts(config: ObservatoryConfig, panel_link: PanelLink) -> dict[str, str]:
    """Rule files, promtool test files and runbooks for ``config``, keyed by repository-relative path."""
    groups = rule_groups(config, panel_link)
    select = selected_by(config)
    files = {}
    for group in groups:
        files[f"rules/{group.name}.yml"] = rule_file(group)
        if group.recordings:
            needed = _rule_files(group.recordings, group, groups, "../")
            files[f"rules/tests/{group.name}.yml"] = recording_test_file(group, needed, select)
        for alert in group.alerts:
            needed = _rule_files((alert,), group, groups, "../../")
            files[f"{ALERT_TESTS}/{alert.name}.yml"] = alert_test_file(alert, needed, select)
    files[RUNBOOKS_PATH] = runbooks_markdown(groups, config)
    return files
