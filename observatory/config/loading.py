"""The configuration as a YAML file users own: load it over the defaults, or print the defaults.

Every key of the file overrides the field of the same name (nested sections as mappings); keys left
out keep their defaults. Unknown keys and bad values are refused with one line naming the key.
"""

from __future__ import annotations

import dataclasses
import math
import typing
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from observatory.config import model
from observatory.config.model import DEFAULT_CONFIG, ObservatoryConfig
from observatory.config.selectors import parse_matchers
from observatory.config.values import seconds

SEVERITIES = ("critical", "warning", "info")


class ConfigError(ValueError):
    """A configuration file that cannot be used; the message is one line naming the key."""


def _finite_number(key: str, value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ConfigError(f"{key}: expected a number, got {value!r}")
    if not math.isfinite(value) or value < 0:
        raise ConfigError(f"{key}: expected a finite number of at least 0, got {value!r}")
    return float(value)


def _string(key: str, value: object) -> str:
    if not isinstance(value, str):
        raise ConfigError(f"{key}: expected a string, got {value!r}")
    return value


def _duration(key: str, value: object) -> str:
    text = _string(key, value)
    try:
        seconds(text)
    except ValueError as error:
        raise ConfigError(f"{key}: {error}") from None
    return text


def _ratio(key: str, value: object) -> float:
    number = _finite_number(key, value)
    if number > 1:
        raise ConfigError(f"{key}: expected a ratio between 0 and 1, got {value!r}")
    return number


def _port(key: str, value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 65535:
        raise ConfigError(f"{key}: expected a port number 1-65535, got {value!r}")
    return value


def _url(key: str, value: object) -> str:
    text = _string(key, value)
    if not text.startswith(("http://", "https://")) or text.endswith("/"):
        raise ConfigError(f"{key}: expected an absolute http(s) URL without a trailing slash, got {value!r}")
    return text


def _severity(key: str, value: object) -> str:
    if value not in SEVERITIES:
        raise ConfigError(f"{key}: expected one of {', '.join(SEVERITIES)}, got {value!r}")
    return typing.cast(str, value)


def _count(key: str, value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ConfigError(f"{key}: expected a whole number of at least 0, got {value!r}")
    return value


def _boolean(key: str, value: object) -> bool:
    if not isinstance(value, bool):
        raise ConfigError(f"{key}: expected true or false, got {value!r}")
    return value


def _selector(key: str, value: object) -> str:
    text = _string(key, value)
    if text:
        try:
            parse_matchers(text)
        except ValueError as error:
            raise ConfigError(f"{key}: {error}") from None
    return text


_SCALARS = {
    model.Selector: _selector,
    model.Duration: _duration,
    model.Ratio: _ratio,
    model.Port: _port,
    model.Url: _url,
    model.Severity: _severity,
    float: _finite_number,
    int: _count,
    bool: _boolean,
    str: _string,
}


def _value(key: str, hint: Any, value: object, current: object) -> object:
    if dataclasses.is_dataclass(hint):
        return _section(key, hint, value, current)
    if typing.get_origin(hint) is tuple:
        (item, _) = typing.get_args(hint)
        if not isinstance(value, list):
            raise ConfigError(f"{key}: expected a list, got {value!r}")
        # A list replaces the default list whole; each item starts from nothing, so it names every field.
        if not dataclasses.is_dataclass(item):
            return tuple(_SCALARS[item](f"{key}[{index}]", entry) for index, entry in enumerate(value))
        return tuple(_section(f"{key}[{index}]", item, entry, None) for index, entry in enumerate(value))
    return _SCALARS[hint](key, value)


def _section(key: str, cls: Any, data: object, current: object) -> Any:
    """``current`` (a ``cls`` instance, or None for all-required) with ``data``'s keys overridden."""
    if not isinstance(data, Mapping):
        raise ConfigError(f"{key or 'the file'}: expected a mapping of keys to values, got {data!r}")
    hints = typing.get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls)}
    values: dict[str, object] = {}
    for name, value in data.items():
        path = f"{key}.{name}" if key else str(name)
        if name not in fields:
            raise ConfigError(f"{path}: unknown key")
        previous = getattr(current, name) if current is not None else None
        values[name] = _value(path, hints[name], value, previous)
    if current is None:
        missing = [name for name, f in fields.items() if name not in values and _required(f)]
        if missing:
            raise ConfigError(f"{key}: missing {', '.join(missing)}")
        build = cls
    else:
        build = lambda **changes: dataclasses.replace(current, **changes)  # noqa: E731 - one call site
    try:
        return build(**values)
    except ValueError as error:
        raise ConfigError(f"{key + '.' if key else ''}{error}") from None


def _required(f: dataclasses.Field) -> bool:
    return f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING


def config_from_mapping(data: object, base: ObservatoryConfig = DEFAULT_CONFIG) -> ObservatoryConfig:
    """``base`` with every key of ``data`` (parsed YAML) overridden; ConfigError names a bad key."""
    if data is None:
        return base
    return _section("", ObservatoryConfig, data, base)


def load_config(path: Path, base: ObservatoryConfig = DEFAULT_CONFIG) -> ObservatoryConfig:
    """The configuration in the YAML file at ``path`` over ``base``; ConfigError on any problem."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise ConfigError(f"cannot read {path}: {error.strerror or error}") from None
    except UnicodeDecodeError:
        raise ConfigError(f"{path} is not UTF-8 text") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as error:
        where = getattr(error, "problem_mark", None)
        line = f" at line {where.line + 1}" if where is not None else ""
        raise ConfigError(f"{path} is not valid YAML{line}") from None
    return config_from_mapping(data, base)


def config_as_dict(config: ObservatoryConfig) -> dict[str, Any]:
    """The configuration as plain data, in field order (tuples as lists)."""

    def plain(value: object) -> object:
        if dataclasses.is_dataclass(value):
            return {f.name: plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
        if isinstance(value, tuple):
            return [plain(item) for item in value]
        return value

    return typing.cast(dict[str, Any], plain(config))


def config_yaml(config: ObservatoryConfig = DEFAULT_CONFIG) -> str:
    """The whole configuration as a YAML file that :func:`load_config` reads back to ``config``."""
    header = (
        "# Themis Observatory configuration. Copy it, change what you need (or delete what you keep),\n"
        "# then run: observatory generate --config FILE --out .\n"
        "# selectors: PromQL label matchers every query of a component's metrics carries, such as\n"
        '#   shards: job="themisdb-shards", namespace="ai"   (empty: job="<its name under jobs>")\n'
    )
    return header + yaml.safe_dump(config_as_dict(config), sort_keys=False, width=100_000, allow_unicode=True)
