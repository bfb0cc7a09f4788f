"""The orchestrator's one settings object: each domain's shards, timeouts, the admin token and the store."""

from __future__ import annotations

import os
import re
import socket
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import AnyHttpUrl, BaseModel, ConfigDict, Field, field_validator, model_validator

from observatory.config.vocabulary import STORE_URL_ENV
from observatory.runtime.settings import load_settings_file, validated

DOMAIN_PATTERN = r"^[a-z][a-z0-9_-]{0,31}$"
# Seed 000's e2e workflow names analysis types, not domains: each type is read by one domain's shard.
DEFAULT_ANALYSIS_TYPES = {
    "legal": "legal",
    "financial": "finance",
    "risk": "finance",
    "ip": "legal",
    "medical": "medical",
    "technical": "technical",
}


class DomainShards(BaseModel):
    """Where a domain is served: the primary shard and any backups, tried in order when it fails."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    primary: AnyHttpUrl
    backups: tuple[AnyHttpUrl, ...] = ()


class Timeouts(BaseModel):
    """Seconds the orchestrator waits on a shard."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    connect: float = Field(1.0, gt=0, le=60)
    inference: float = Field(30.0, gt=0, le=600)
    search: float = Field(5.0, gt=0, le=600)
    transfer: float = Field(60.0, gt=0, le=3600)
    # A shard that failed is skipped for this long before the orchestrator tries it first again.
    retry_down_after: float = Field(5.0, ge=0, le=3600)


class OrchestratorSettings(BaseModel):
    """Everything the orchestrator is configured with; ``--host``/``--port`` override the file."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    domains: dict[str, DomainShards] = Field(min_length=1)
    host: str = "127.0.0.1"
    port: int = Field(8000, ge=0, le=65535)
    admin_token: str | None = Field(None, min_length=16, description="Bearer token the shards' /admin endpoints take.")
    store_url: str = Field("sqlite:///themis-orchestrator.db", min_length=1)
    owner: str = Field(
        default_factory=socket.gethostname,
        min_length=1,
        max_length=128,
        description="Who this replica is to the store: a restarted replica resumes the tasks its owner held.",
    )
    timeouts: Timeouts = Timeouts()
    chunk_chars: int = Field(400, ge=32, le=100_000, description="Characters per indexed chunk of a document.")
    max_upload_bytes: int = Field(20 * 1024**2, ge=1)
    analysis_types: dict[str, str] | None = Field(
        None, description="Analysis type -> the domain whose shard reads it; default: see analysis_domains."
    )

    @field_validator("domains")
    @classmethod
    def _domain_names(cls, domains: dict[str, DomainShards]) -> dict[str, DomainShards]:
        for name in domains:
            if not re.match(DOMAIN_PATTERN, name):
                raise ValueError(f"domain {name!r}: 1-32 lower-case letters, digits, '_' or '-'")
            if name == "orchestrator":
                raise ValueError("'orchestrator' names the orchestrator itself, not a domain")
        return domains

    @model_validator(mode="after")
    def _check(self) -> OrchestratorSettings:
        primaries: dict[str, str] = {}
        for domain, shards in self.domains.items():
            url = str(shards.primary).rstrip("/")
            if url in primaries:
                raise ValueError(f"domains.{domain}.primary: the same URL as {primaries[url]}'s primary")
            primaries[url] = domain
        for analysis, domain in (self.analysis_types or {}).items():
            if domain not in self.domains:
                raise ValueError(f"analysis_types.{analysis}: {domain!r} is not a configured domain")
        return self

    @property
    def analysis_domains(self) -> dict[str, str]:
        """Analysis type -> domain: as configured, else each domain itself and seed 000's types whose
        domain is configured."""
        if self.analysis_types is not None:
            return self.analysis_types
        defaults = {kind: domain for kind, domain in DEFAULT_ANALYSIS_TYPES.items() if domain in self.domains}
        return defaults | {domain: domain for domain in self.domains}


def load_settings(
    config_file: Path, overrides: dict[str, Any], environ: Mapping[str, str] = os.environ
) -> OrchestratorSettings:
    """Settings from ``config_file`` (YAML or JSON), then ``THEMIS_STORE_URL`` from ``environ`` when set and
    not empty, then ``overrides`` (flags that were given) on top."""
    values = load_settings_file(config_file)
    if environ.get(STORE_URL_ENV):
        values["store_url"] = environ[STORE_URL_ENV]
    values |= {key: value for key, value in overrides.items() if value is not None}
    return validated(OrchestratorSettings, values)
