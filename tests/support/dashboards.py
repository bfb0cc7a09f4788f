"""Helpers for the dashboard tests: load generated JSON through grafana-foundation-sdk and diff."""

from __future__ import annotations

import json
from collections.abc import Iterator

from grafana_foundation_sdk.cog.encoder import JSONEncoder
from grafana_foundation_sdk.cog.plugins import register_default_plugins
from grafana_foundation_sdk.models.dashboard import Dashboard

register_default_plugins()


def sdk_round_trip(data: dict) -> dict:
    """``data`` decoded by the SDK's dashboard model and encoded again."""
    return json.loads(json.dumps(Dashboard.from_json(data), cls=JSONEncoder))


def unknown_fields(original: object, decoded: object, path: str = "") -> Iterator[str]:
    """Paths of fields in ``original`` that the SDK's decoding dropped (fields it cannot read)."""
    if isinstance(original, dict):
        if not isinstance(decoded, dict):
            yield f"{path} (decoded as {type(decoded).__name__})"
            return
        for key, value in original.items():
            if key not in decoded:
                yield f"{path}.{key}"
            else:
                yield from unknown_fields(value, decoded[key], f"{path}.{key}")
    elif isinstance(original, list):
        if not isinstance(decoded, list) or len(decoded) != len(original):
            yield f"{path} (list changed)"
            return
        for index, (item, decoded_item) in enumerate(zip(original, decoded, strict=True)):
            yield from unknown_fields(item, decoded_item, f"{path}[{index}]")
