"""Command-line flags with environment fallbacks for the exporters; a bad value is one line and exit 2."""

from __future__ import annotations

import argparse
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from observatory.commandline import OneLineParser

_LABEL_VALUE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$")


def port(text: str) -> int:
    """A TCP port number, 1-65535."""
    if not text.isdigit() or not 1 <= int(text) <= 65535:
        raise argparse.ArgumentTypeError(f"{text!r} is not a TCP port (1-65535)")
    return int(text)


def positive_int(text: str) -> int:
    """A whole number above zero (a pid, a limit)."""
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number above zero")
    return int(text)


def positive_seconds(text: str) -> float:
    """A duration in seconds above zero."""
    try:
        value = float(text)
    except ValueError:
        value = 0.0
    if not 0 < value < float("inf"):
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds above zero")
    return value


def label_value(text: str) -> str:
    """A short label value (a shard name): letters, digits, '_', '.', '-'."""
    if not _LABEL_VALUE.match(text):
        raise argparse.ArgumentTypeError(f"{text!r} is not a shard name (letters, digits, _ . -; up to 63)")
    return text


def text(value: str) -> str:
    """Any non-empty text."""
    if not value:
        raise argparse.ArgumentTypeError("must not be empty")
    return value


@dataclass(frozen=True)
class Flag:
    """One option: its flag, the environment variable read when the flag is absent, and its parser."""

    name: str
    env: str
    parse: Callable[[str], object]
    help: str
    default: object = None
    required: bool = False

    @property
    def dest(self) -> str:
        """The attribute name on the parsed namespace."""
        return self.name.removeprefix("--").replace("-", "_")


def server_flags(env_prefix: str, default_port: int) -> tuple[Flag, ...]:
    """The flags every exporter takes: where to listen, which shard it serves, how many scrapes at once."""
    return (
        Flag("--listen-address", f"{env_prefix}_LISTEN_ADDRESS", text, "address to listen on", "0.0.0.0"),
        Flag("--port", f"{env_prefix}_PORT", port, "TCP port to listen on", default_port),
        Flag("--shard", "THEMIS_SHARD", label_value, "shard label of every series (required)", required=True),
        Flag("--max-scrapes", f"{env_prefix}_MAX_SCRAPES", positive_int, "concurrent scrapes before 503", 10),
    )


def parse_flags(
    prog: str, description: str, flags: Sequence[Flag], argv: Sequence[str] | None, environ: Mapping[str, str]
) -> argparse.Namespace:
    """Parse ``argv``, filling absent flags from ``environ`` then defaults; exits 2 with one line on bad input."""
    parser = OneLineParser(prog=prog, description=description)
    for flag in flags:
        default = "required" if flag.required else f"default {flag.default}"
        parser.add_argument(flag.name, type=flag.parse, default=None, help=f"{flag.help} (env {flag.env}; {default})")
    args = parser.parse_args(argv)
    for flag in flags:
        if getattr(args, flag.dest) is not None:
            continue
        raw = environ.get(flag.env)
        if raw is not None:
            try:
                value = flag.parse(raw)
            except argparse.ArgumentTypeError as error:
                parser.error(f"environment {flag.env}: {error}")
        elif flag.required:
            parser.error(f"{flag.name} (or environment {flag.env}) is required")
        else:
            value = flag.default
        setattr(args, flag.dest, value)
    return args
