"""The whole catalogue, rendered as an exposition, passes ``promtool check metrics``."""

from __future__ import annotations

import subprocess

from prometheus_client.parser import text_string_to_metric_families

from observatory.catalogue import CATALOGUE
from observatory.exposition import render_examples


def test_catalogue_exposition_has_no_promtool_finding(promtool: str) -> None:
    exposition = render_examples(CATALOGUE)
    result = subprocess.run(
        [promtool, "check", "metrics"], input=exposition, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout + result.stderr == ""


def test_exposition_holds_every_family_with_its_type() -> None:
    families = {family.name: family.type for family in text_string_to_metric_families(render_examples(CATALOGUE))}
    expected = {metric.name.removesuffix("_total"): metric.type.value for metric in CATALOGUE}
    assert families == expected


def test_promtool_flags_a_convention_break(promtool: str) -> None:
    """Guards the test above: promtool does report a counter without _total."""
    bad = "# HELP themis_x Bad.\n# TYPE themis_x counter\nthemis_x 1\n"
    result = subprocess.run([promtool, "check", "metrics"], input=bad, capture_output=True, text=True, timeout=60)
    assert "_total" in result.stdout + result.stderr
