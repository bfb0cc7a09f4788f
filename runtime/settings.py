"""The shard's one settings object, loaded from command-line flags and an optional config file."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, Literal, TypeVar

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from observatory.runtime.vram import GPU_PROFILES

# How long the shard keeps an idle keep-alive connection open. A client that keeps its idle connections
# longer (httpx's 5 s equals uvicorn's default) may send on one the shard is closing that instant, and gets
# "server disconnected" for a request the shard never read: clients of the shard expire theirs sooner.
KEEP_ALIVE_SECONDS = 30

SettingsModel = TypeVar("SettingsModel", bound=BaseModel)


def default_cache_dir() -> Path:
    """Where the generated default model lives: ``$XDG_CACHE_HOME/themis-observatory``."""
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "themis-observatory"


class ShardSettings(BaseModel):
    """Everything a shard is configured with; flags override the config file."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    domain: str = Field(min_length=1, max_length=64, pattern=r"^[a-z][a-z0-9_-]*$")
    shard: str | None = Field(None, description="Shard name on metrics; defaults to the domain.")
    host: str = "127.0.0.1"
    port: int = Field(8080, ge=0, le=65535)
    model: Path | None = Field(None, description="A GGUF model; default: the generated tiny model.")
    model_name: str | None = None
    cache_dir: Path = Field(default_factory=default_cache_dir)
    adapter_dir: Path | None = Field(None, description="LoRA adapters (<name>.gguf); default: generated ones.")
    n_ctx: int = Field(2048, ge=64, le=131072)
    n_threads: int | None = Field(None, ge=1)
    n_gpu_layers: int | None = Field(
        None, ge=-1, description="Layers llama.cpp offloads to the GPU; -1: all; default: all if it can offload."
    )
    seed: int = 1234
    max_prompt_chars: int = Field(8192, ge=1)
    max_in_flight: int = Field(16, ge=1, description="API requests worked on at once; more wait in line.")
    max_queued: int = Field(64, ge=0, description="API requests that may wait in line; beyond that 429.")
    max_queue_wait_s: float = Field(30.0, gt=0, description="The longest a request waits in line before 429.")
    retry_after_s: int = Field(1, ge=1)
    llama_threads: int = Field(4, ge=2, description="Threads for llama.cpp calls (one generates at a time).")
    faiss_threads: int = Field(2, ge=1, description="Threads for FAISS searches, adds and recall.")
    admin_token: str | None = Field(None, min_length=16)
    gpu_profile: Literal[tuple(GPU_PROFILES)] = "rtx_4070"  # type: ignore[valid-type]
    vram_budget_bytes: int | None = Field(None, ge=0, description="Overrides the GPU profile's budget.")
    gpu_required: bool = False
    metrics_enabled: bool = True
    model_quality: dict[str, float] = Field(default_factory=dict)
    index_kind: Literal["flat", "ivf"] = "ivf"
    faiss_gpu_scratch_bytes: int = Field(256 * 1024**2, ge=0, description="FAISS temporary memory on a GPU.")
    ivf_nlist: int = Field(16, ge=1)
    ivf_nprobe: int = Field(4, ge=1)
    search_batch_max: int = Field(32, ge=1)
    search_batch_wait_s: float = Field(0.002, ge=0)
    recall_sample: int = Field(32, ge=1)
    recall_interval_s: float = Field(5.0, ge=0)

    @model_validator(mode="after")
    def _check(self) -> ShardSettings:
        if self.ivf_nprobe > self.ivf_nlist:
            raise ValueError("ivf_nprobe must not exceed ivf_nlist")
        return self

    @property
    def shard_name(self) -> str:
        """The name the shard's series carry in their ``shard`` label."""
        return self.shard or self.domain

    @property
    def vram_budget(self) -> int:
        """The VRAM budget in bytes: the explicit setting, else the GPU profile's."""
        return self.vram_budget_bytes if self.vram_budget_bytes is not None else GPU_PROFILES[self.gpu_profile]


class SettingsError(ValueError):
    """The configuration is invalid; the message names the field."""


def _one_line(error: Exception) -> str:
    # YAML's own message spans several lines with a caret drawing under the source line.
    if isinstance(error, yaml.MarkedYAMLError) and error.problem:
        mark = error.problem_mark
        return error.problem + (f" at line {mark.line + 1}, column {mark.column + 1}" if mark else "")
    return " ".join(str(error).split())


def load_settings_file(config_file: Path) -> dict[str, Any]:
    """The mapping of setting names to values in ``config_file`` (YAML, or JSON by its suffix)."""
    try:
        text = config_file.read_text(encoding="utf-8")
    except OSError as error:
        raise SettingsError(f"--config: cannot read {config_file}: {error.strerror}") from error
    except UnicodeDecodeError as error:
        raise SettingsError(f"--config: {config_file} is not UTF-8 text: {error.reason}") from error
    try:
        loaded = json.loads(text) if config_file.suffix == ".json" else yaml.safe_load(text)
    except (json.JSONDecodeError, yaml.YAMLError) as error:
        raise SettingsError(f"--config: {config_file} is not valid: {_one_line(error)}") from error
    if not isinstance(loaded, dict) or not all(isinstance(key, str) for key in loaded):
        raise SettingsError(f"--config: {config_file} must hold a mapping of setting names to values")
    return loaded


def validated(model: type[SettingsModel], values: dict[str, Any]) -> SettingsModel:
    """``values`` validated as ``model``; the first problem becomes a :class:`SettingsError` naming its field."""
    try:
        return model.model_validate(values)
    except ValidationError as error:
        first = error.errors()[0]
        field = ".".join(str(part) for part in first["loc"]) or "settings"
        raise SettingsError(f"{field}: {first['msg']}") from error


def load_settings(config_file: Path | None, overrides: dict[str, Any]) -> ShardSettings:
    """Settings from ``config_file`` (YAML or JSON) with ``overrides`` (flags that were given) on top."""
    values: dict[str, Any] = load_settings_file(config_file) if config_file is not None else {}
    values.update({key: value for key, value in overrides.items() if value is not None})
    return validated(ShardSettings, values)
