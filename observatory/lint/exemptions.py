"""Exemptions from the field linters' rules: each names the rule, the objects it spares and why.

The file (YAML, as dashboard-linter's ``.lint``) lists entries::

    exemptions:
      - rule: target-job
        objects: ["dashboards/generated/*.json / panel *"]
        reason: why this rule does not apply to these objects

``objects`` are shell-style patterns over a finding's location (``<file> / <object>``).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from fnmatch import fnmatchcase
from pathlib import Path

import yaml

from observatory.lint.report import Finding


class ExemptionError(ValueError):
    """The exemptions file cannot be read or an entry lacks its rule, objects or reason."""


@dataclass(frozen=True)
class Exemption:
    """Spares the findings of one rule on the objects that match one of ``objects``."""

    rule: str
    objects: tuple[str, ...]
    reason: str

    def covers(self, finding: Finding) -> bool:
        """Whether ``finding`` is this rule's, on one of the exempted objects."""
        return finding.rule == self.rule and any(fnmatchcase(finding.where, pattern) for pattern in self.objects)


def parse_exemptions(text: str, known_rules: Iterable[str]) -> tuple[Exemption, ...]:
    """The exemptions of a file's text; ExemptionError naming the entry that is incomplete or unknown."""
    try:
        data = yaml.safe_load(text) or {}
    except yaml.YAMLError as error:
        raise ExemptionError(f"not YAML: {str(error).splitlines()[0]}") from None
    entries = data.get("exemptions", []) if isinstance(data, dict) else None
    if not isinstance(entries, list):
        raise ExemptionError("expected a mapping with an 'exemptions' list")
    known = set(known_rules)
    exemptions = []
    for number, entry in enumerate(entries, start=1):
        if not isinstance(entry, dict):
            raise ExemptionError(f"exemption {number}: expected rule, objects and reason")
        rule, objects, reason = entry.get("rule"), entry.get("objects"), entry.get("reason")
        if rule not in known:
            raise ExemptionError(f"exemption {number}: unknown rule {rule!r}")
        if not isinstance(objects, list) or not objects or not all(isinstance(o, str) for o in objects):
            raise ExemptionError(f"exemption {number} ({rule}): objects must be a non-empty list of patterns")
        if not isinstance(reason, str) or not reason.strip():
            raise ExemptionError(f"exemption {number} ({rule}): give the reason")
        exemptions.append(Exemption(rule, tuple(objects), reason.strip()))
    return tuple(exemptions)


def load_exemptions(path: Path, known_rules: Iterable[str]) -> tuple[Exemption, ...]:
    """The exemptions in ``path``; ExemptionError when it cannot be read or is malformed."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise ExemptionError(f"cannot read: {error.strerror or error}") from None
    return parse_exemptions(text, known_rules)


def apply_exemptions(
    findings: Sequence[Finding], exemptions: Sequence[Exemption]
) -> tuple[list[Finding], list[Exemption]]:
    """The findings no exemption covers, and the exemptions that covered nothing (stale ones)."""
    kept = [finding for finding in findings if not any(e.covers(finding) for e in exemptions)]
    unused = [e for e in exemptions if not any(e.covers(finding) for finding in findings)]
    return kept, unused
