"""Findings and the lint report."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Finding:
    """One violation: where it is, what is wrong, the expression, and the field linter's rule id if any."""

    where: str
    problem: str
    expr: str = ""
    rule: str = ""

    def render(self) -> str:
        """One line, plus the expression when there is one."""
        text = f"{self.where}: [{self.rule}] {self.problem}" if self.rule else f"{self.where}: {self.problem}"
        return f"{text}\n    {self.expr}" if self.expr else text


@dataclass
class LintReport:
    """Everything ``observatory lint`` found, with informational sections that do not fail it."""

    findings: list[Finding] = field(default_factory=list)
    unused_metrics: list[str] = field(default_factory=list)
    sections: list[tuple[str, list[str]]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when nothing violates a rule."""
        return not self.findings

    def render(self) -> str:
        """The human-readable report."""
        lines: list[str] = []
        for title, body in self.sections:
            lines += [f"{title}:", *(f"  {line}" for line in body)]
        if self.unused_metrics:
            lines.append(f"catalogue metrics no dashboard or rule uses ({len(self.unused_metrics)}):")
            lines += [f"  {name}" for name in self.unused_metrics]
        if self.findings:
            lines.append(f"{len(self.findings)} violation(s):")
            lines += [finding.render() for finding in self.findings]
        else:
            lines.append("no violations")
        return "\n".join(lines) + "\n"
