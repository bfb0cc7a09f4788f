"""Declarative definitions of alerting rules, recording rules, their groups and their test histories."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from observatory.config.values import number, seconds

if TYPE_CHECKING:
    from observatory.rules.probes import GeneratedCase, Presence, Probe

__all__ = ["Alert", "Case", "Group", "Labels", "Recording", "Rule", "Series", "names_in", "number", "seconds"]

Labels = tuple[tuple[str, str], ...]

# Anything PromQL could read as a series name (metric names, recorded names with colons).
_SERIES_NAME = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*")


def names_in(expr: str) -> list[str]:
    """Every token of ``expr`` that could name a series, once each, in order of appearance.

    A lexical scan (function names and label names match too): callers look the tokens up in the
    catalogue or among the recorded series, which only real series names are in.
    """
    return list(dict.fromkeys(_SERIES_NAME.findall(expr)))


@dataclass(frozen=True)
class Series:
    """One promtool input series: a sample name, its labels and its values in expanding notation."""

    name: str
    labels: Labels
    values: str

    def selector(self) -> str:
        """The series as promtool's ``series:`` field writes it."""
        inner = ",".join(f'{key}="{value}"' for key, value in self.labels)
        return f"{self.name}{{{inner}}}"


@dataclass(frozen=True)
class Case:
    """An input history and what the rule's expression yields at the evaluation time.

    ``value`` and ``labels`` describe the one output sample; a silent case has ``value`` None.
    ``at`` is the evaluation time when the history needs another than the usual one.
    """

    series: tuple[Series, ...]
    value: float | None = None
    labels: Labels = ()
    at: str = ""


@dataclass(frozen=True)
class Alert:
    """An alerting rule with its runbook text and what its promtool tests feed it.

    ``check`` (a probe of its threshold, or of its series' presence) generates the boundary, ``for``,
    two-subject, missing-series, flapping and recovery cases; ``states`` are named histories of states
    seen in the field; ``firing`` and ``silent`` feed the raw metrics through the recording rules.
    """

    name: str
    expr: str
    severity: str
    summary: str
    description: str
    meaning: str
    actions: tuple[str, ...]
    panel: tuple[str, str]
    seeds: tuple[str, ...] = ()
    for_: str = "0s"
    labels: Labels = ()
    firing: Case | None = None
    silent: Case | None = None
    check: Probe | Presence | None = None
    states: tuple[GeneratedCase, ...] = ()
    # What the alert waits for between the onset of its condition and the page, and why (the runbook says it);
    # empty for an alert that pages `for` after its condition first holds.
    waits: str = ""
    # Alert names (a regular expression) whose critical firing for the same shard makes this one redundant.
    inhibited_by: str = ""
    # Filled by the links post-pass over every alert.
    runbook_url: str = ""
    dashboard_url: str = ""

    @property
    def all_labels(self) -> Labels:
        """Severity first, then the rule's other static labels."""
        return (("severity", self.severity), *self.labels)

    @property
    def annotations(self) -> Labels:
        """The annotations in their rendered order."""
        pairs = (
            ("summary", self.summary),
            ("description", self.description),
            ("runbook_url", self.runbook_url),
            ("dashboard_url", self.dashboard_url),
        )
        return tuple((key, value) for key, value in pairs if value)


@dataclass(frozen=True)
class Recording:
    """A recording rule: output name by ``level:metric:operations``, the labels it keeps, its test."""

    record: str
    expr: str
    keeps: tuple[str, ...]
    help: str
    labels: Labels = ()
    case: Case | None = None
    # Named histories of states seen in the field, each with the value the rule must record.
    states: tuple[tuple[str, Case], ...] = ()


Rule = Alert | Recording


@dataclass(frozen=True)
class Group:
    """A rule group; its name is also its file name under ``rules/``."""

    name: str
    rules: tuple[Rule, ...]

    @property
    def alerts(self) -> tuple[Alert, ...]:
        """The group's alerting rules."""
        return tuple(rule for rule in self.rules if isinstance(rule, Alert))

    @property
    def recordings(self) -> tuple[Recording, ...]:
        """The group's recording rules."""
        return tuple(rule for rule in self.rules if isinstance(rule, Recording))
