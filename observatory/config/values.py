"""How numbers and durations are written into PromQL, promtool files and configuration."""

from __future__ import annotations

import re

_DURATION = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h|d|w)")
_DURATION_UNITS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def number(value: float) -> str:
    """A float as PromQL and promtool read it, without binary noise (0.9, not 0.9000000000000001)."""
    return f"{value:.12g}"


def seconds(duration: str) -> float:
    """A duration with one unit (``30s``, ``5m``, ``6h``, ``30d``, ``2w``) in seconds."""
    match = _DURATION.fullmatch(duration)
    if match is None:
        raise ValueError(f"duration {duration!r} is not a number followed by ms, s, m, h, d or w")
    return float(match.group(1)) * _DURATION_UNITS[match.group(2)]


def duration(total_seconds: float) -> str:
    """Seconds as the shortest one-unit duration that states them exactly (``90s``, ``5m``, ``1d``)."""
    for unit, size in sorted(_DURATION_UNITS.items(), key=lambda item: -item[1]):
        count = total_seconds / size
        if count >= 1 and count == int(count):
            return f"{int(count)}{unit}"
    return f"{number(total_seconds)}s"
