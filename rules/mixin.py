"""Composes the rule groups, applies the cross-cutting post-pass and produces every artefact."""

from __future__ import annotations

from observatory.rules.alerts_inference import inference_group
from observatory.rules.alerts_orchestrator import orchestrator_group
from observatory.rules.alerts_resources import resources_group
from observatory.rules.alerts_targets import targets_group
from observatory.rules.links import PanelLink, dashboard_panel_link, with_links
from observatory.rules.model import Group, names_in
from observatory.rules.promtool_tests import test_file
from observatory.rules.recording import recording_group
from observatory.rules.render import rule_file
from observatory.rules.runbooks import runbooks_markdown
from observatory.rules.slo import slo_groups
from observatory.rules.thresholds import DEFAULT_CONFIG, RuleConfig

RUNBOOKS_PATH = "docs/runbooks.md"


def rule_groups(config: RuleConfig = DEFAULT_CONFIG, panel_link: PanelLink = dashboard_panel_link) -> list[Group]:
    """Every rule group, recording rules first so alerts read fresh recorded series."""
    groups = [
        recording_group(),
        *slo_groups(config),
        inference_group(config),
        resources_group(config),
        targets_group(config),
        orchestrator_group(config),
    ]
    return with_links(groups, config, panel_link)


def _reads(group: Group, other: Group) -> bool:
    """Whether ``group``'s expressions read a series that ``other`` records."""
    records = {rule.record for rule in other.recordings}
    return any(name in records for rule in group.rules for name in names_in(rule.expr))


def build_artefacts(
    config: RuleConfig = DEFAULT_CONFIG, panel_link: PanelLink = dashboard_panel_link
) -> dict[str, str]:
    """Rule files, promtool test files and runbooks for ``config``, keyed by repository-relative path."""
    groups = rule_groups(config, panel_link)
    files = {}
    for group in groups:
        files[f"rules/{group.name}.yml"] = rule_file(group)
        needed = [f"../{other.name}.yml" for other in groups if other is group or _reads(group, other)]
        files[f"rules/tests/{group.name}.yml"] = test_file(group, needed)
    files[RUNBOOKS_PATH] = runbooks_markdown(groups, config)
    return files
