"""Helpers for the dashboard tests: load generated JSON through grafana-foundation-sdk and diff."""

from __future__ import annotations

import json
from collections.abc import Iterator

from grafana_foundation_sdk.cog.encoder import JSONEncoder
from grafana_foundation_sdk.cog.plugins import register_default_plugins
from grafana_foundation_sdk.models.dashboard import Dashboard

from observatory.artefacts import all_artefacts
from observatory.config import DEFAULT_CONFIG, ObservatoryConfig

register_default_plugins()
# Grafana's export format wraps the dashboard model with what its import UI reads: the data source inputs.
IMPORT_FIELDS = frozenset({"__inputs"})


def generated(config: ObservatoryConfig = DEFAULT_CONFIG) -> dict[str, str]:
    """The dashboard JSON files ``observatory generate`` writes for ``config``, keyed by path."""
    return {path: text for path, text in all_artefacts(config).items() if path.startswith("dashboards/generated/")}


def rendered(config: ObservatoryConfig = DEFAULT_CONFIG) -> dict[str, dict]:
    """The generated dashboards, decoded, keyed by uid."""
    return {json.loads(text)["uid"]: json.loads(text) for text in generated(config).values()}


def panels_of(data: dict) -> list[dict]:
    """A dashboard's panels, without the row headers."""
    return [panel for panel in data["panels"] if panel["type"] != "row"]


def sdk_round_trip(data: dict) -> dict:
    """``data`` decoded by the SDK's dashboard model and encoded again (the import fields kept aside)."""
    decoded = json.loads(json.dumps(Dashboard.from_json(data), cls=JSONEncoder))
    return {**decoded, **{key: data[key] for key in IMPORT_FIELDS if key in data}}


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
