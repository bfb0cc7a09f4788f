"""Renders the subset of Prometheus annotation templates the rules use, exactly as Prometheus does.

Descriptions may only contain ``{{ $labels.NAME }}`` and ``{{ $value | FUNCTION }}`` with one of
Prometheus' humanize functions; a raw ``$value`` prints Go's float formatting, which the tests could
not predict, so it is refused. The formatting mirrors Prometheus' template functions (``%.4g``).
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping

_ACTION = re.compile(r"\{\{(.*?)\}\}")
_LABEL = re.compile(r"^\s*\$labels\.([a-zA-Z_][a-zA-Z0-9_]*)\s*$")
_VALUE = re.compile(r"^\s*\$value\s*\|\s*(\w+)\s*$")
_LARGE_PREFIXES = ("k", "M", "G", "T", "P", "E", "Z", "Y")
_SMALL_PREFIXES = ("m", "u", "n", "p", "f", "a", "z", "y")

# The actions the alerts' descriptions use.
SHARD_REF = "{{ $labels.shard }}"
GPU_REF = "{{ $labels.gpu }}"
JOB_REF = "{{ $labels.job }}"
INSTANCE_REF = "{{ $labels.instance }}"
HUMANIZE = "{{ $value | humanize }}"
PERCENT = "{{ $value | humanizePercentage }}"
DURATION = "{{ $value | humanizeDuration }}"


class TemplateError(ValueError):
    """An annotation uses template syntax outside the supported subset."""


def _go_g(value: float) -> str:
    return "%.4g" % value  # noqa: UP031 - Go's %.4g and C's agree, str.format's 'g' does too but reads worse


def _scale_up(value: float) -> tuple[float, str]:
    """A non-zero ``value`` below 1 in magnitude, multiplied into [1, 1000) with its SI prefix."""
    prefix = ""
    for candidate in _SMALL_PREFIXES:
        if abs(value) >= 1:
            break
        prefix, value = candidate, value * 1000
    return value, prefix


def humanize(value: float) -> str:
    """Prometheus' ``humanize``: SI prefixes, four significant digits."""
    if value == 0 or math.isnan(value) or math.isinf(value):
        return _go_g(value)
    if abs(value) < 1:
        value, prefix = _scale_up(value)
        return f"{_go_g(value)}{prefix}"
    prefix = ""
    for candidate in _LARGE_PREFIXES:
        if abs(value) < 1000:
            break
        prefix, value = candidate, value / 1000
    return f"{_go_g(value)}{prefix}"


def humanize_percentage(value: float) -> str:
    """Prometheus' ``humanizePercentage``: a 0-1 ratio as a percentage."""
    return f"{_go_g(value * 100)}%"


def humanize_duration(value: float) -> str:
    """Prometheus' ``humanizeDuration``: seconds as ``1h 2m 3s`` or ``485ms``."""
    if math.isnan(value) or math.isinf(value):
        return _go_g(value)
    if value == 0:
        return f"{_go_g(value)}s"
    if abs(value) >= 1:
        sign = "-" if value < 0 else ""
        value = abs(value)
        whole = int(value)
        seconds, minutes = whole % 60, (whole // 60) % 60
        hours, days = (whole // 3600) % 24, whole // 86400
        if days:
            return f"{sign}{days}d {hours}h {minutes}m {seconds}s"
        if hours:
            return f"{sign}{hours}h {minutes}m {seconds}s"
        if minutes:
            return f"{sign}{minutes}m {seconds}s"
        return f"{sign}{_go_g(value)}s"
    value, prefix = _scale_up(value)
    return f"{_go_g(value)}{prefix}s"


FUNCTIONS: Mapping[str, Callable[[float], str]] = {
    "humanize": humanize,
    "humanizePercentage": humanize_percentage,
    "humanizeDuration": humanize_duration,
}


def check(template: str) -> None:
    """Raise :class:`TemplateError` if ``template`` leaves the supported subset."""
    for action in _ACTION.findall(template):
        value = _VALUE.match(action)
        if _LABEL.match(action) or (value and value.group(1) in FUNCTIONS):
            continue
        raise TemplateError(f"unsupported template action {{{{{action}}}}}")
    outside = _ACTION.sub("", template)
    if "{{" in outside or "}}" in outside:
        raise TemplateError("unbalanced template braces")


def render(template: str, labels: Mapping[str, str], value: float | None) -> str:
    """The annotation as Prometheus renders it for an alert with ``labels`` and ``value``."""
    check(template)

    def substitute(match: re.Match[str]) -> str:
        action = match.group(1)
        label = _LABEL.match(action)
        if label:
            return labels.get(label.group(1), "")
        function = _VALUE.match(action)
        if function is None or value is None:
            raise TemplateError(f"no value to render {{{{{action}}}}}")
        return FUNCTIONS[function.group(1)](value)

    return _ACTION.sub(substitute, template)
