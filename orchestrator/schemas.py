"""Request and response bodies of the orchestrator's API; bounds here become the OpenAPI schema."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from observatory.runtime.schemas import ADAPTER_NAME_PATTERN, MAX_PROMPT_CHARS, MAX_TOKENS, AdapterUse

NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$"
MAX_DOCUMENT_CHARS = 10_000_000


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


def _distinct(values: list[str]) -> list[str]:
    seen = set()
    for value in values:
        if value in seen:
            raise ValueError(f"{value!r} is named twice")
        seen.add(value)
    return values


class InferenceRequest(_Body):
    """A completion, routed by domain (round robin over all shards without one)."""

    prompt: str = Field(min_length=1, max_length=MAX_PROMPT_CHARS)
    max_tokens: int = Field(64, ge=1, le=MAX_TOKENS)
    temperature: float = Field(0.7, ge=0.0, le=2.0)
    domain: str | None = None
    adapters: list[AdapterUse] = Field(default_factory=list, max_length=8)


class DocumentIn(_Body):
    """A text document for a domain."""

    domain: str
    text: str = Field(min_length=1, max_length=MAX_DOCUMENT_CHARS)
    title: str = Field("", max_length=512)


class DocumentOut(_Body):
    """Where a stored document went."""

    document_id: str
    shard: str
    chunks: int


class RagRequest(_Body):
    """A federated retrieval over several domains' shards."""

    query: str = Field(min_length=1, max_length=MAX_PROMPT_CHARS)
    domains: list[str] = Field(min_length=1, max_length=32)
    top_k: int = Field(10, ge=1, le=1000)

    _distinct_domains = field_validator("domains")(_distinct)


class RagDocument(_Body):
    """A retrieved chunk: the shard it came from, its id there, its text and its score (see scores.py)."""

    shard: str
    id: int
    text: str | None
    score: float


class RagResponse(_Body):
    """The merged retrieval, best score first, and the shards that did or did not take part."""

    participating_shards: list[str]
    missing_shards: list[str]
    documents: list[RagDocument]
    latency_seconds: float


class DagStep(_Body):
    """One reasoning step: the shard that runs it (or ``orchestrator``: any healthy shard) and its inputs."""

    name: str = Field(pattern=NAME_PATTERN)
    depends_on: list[str] = Field(default_factory=list, max_length=64)
    shard: str = Field(min_length=1, max_length=64)
    prompt: str | None = Field(None, min_length=1, max_length=MAX_PROMPT_CHARS)

    _distinct_deps = field_validator("depends_on")(_distinct)


class DagRequest(_Body):
    """A reasoning DAG: steps run level by level, each level's steps at once (``parallel``) or one by one."""

    task: str = Field(min_length=1, max_length=MAX_PROMPT_CHARS)
    steps: list[DagStep] = Field(min_length=1, max_length=64)
    mode: Literal["parallel", "sequential"] = "parallel"
    max_tokens: int = Field(16, ge=1, le=MAX_TOKENS)


class StepResult(_Body):
    """What one step did: the shard that answered, Unix start and end times, and its output."""

    name: str
    shard: str
    started: float
    ended: float
    output: str


class DagResponse(_Body):
    """The DAG's outcome; ``sequential_latency_seconds`` is the sum of the steps' own durations."""

    success: bool
    steps_executed: int
    levels: int
    latency_seconds: float
    sequential_latency_seconds: float
    speedup: float
    steps: list[StepResult]


class ConsensusRequest(_Body):
    """A question put to several domains; their perspectives are compared."""

    query: str = Field(min_length=1, max_length=MAX_PROMPT_CHARS)
    domains: list[str] = Field(min_length=1, max_length=16)
    max_tokens: int = Field(32, ge=1, le=MAX_TOKENS)

    _distinct_domains = field_validator("domains")(_distinct)


class Perspective(_Body):
    """One domain's findings and how closely they keep to the input (see scores.py)."""

    domain: str
    shard: str
    findings: list[str]
    confidence: float


class Agreement(_Body):
    """How closely two perspectives agree (see scores.py)."""

    a: str
    b: str
    ratio: float


class ConsensusResponse(_Body):
    """Perspectives, their pairwise agreement, the consensus score and the fused answer."""

    perspectives: list[Perspective]
    agreement: list[Agreement]
    consensus_score: float | None
    fused: str
    latency_seconds: float


class AnalysisRequest(_Body):
    """Seed 000's distributed analysis of a stored document."""

    document_id: str = Field(min_length=1, max_length=128)
    analysis_types: list[str] = Field(min_length=1, max_length=16)
    mode: Literal["parallel_cot", "sequential_cot"] = "parallel_cot"
    depth: int = Field(5, ge=1, le=20)
    max_tokens: int = Field(16, ge=1, le=MAX_TOKENS)

    _distinct_types = field_validator("analysis_types")(_distinct)


class AnalysisResponse(_Body):
    """Seed 000's end-to-end shape, with the pairwise agreement the score is made of."""

    success: bool
    document_id: str
    perspectives: list[Perspective]
    agreement: list[Agreement]
    consensus_score: float | None
    steps_executed: int
    latency_seconds: float


class TransferRequest(_Body):
    """Copy an adapter from one shard to another and load it there."""

    adapter: str = Field(pattern=ADAPTER_NAME_PATTERN)
    source: str = Field(min_length=1, max_length=64)
    destination: str = Field(min_length=1, max_length=64)
    scale: float = Field(1.0, ge=-4.0, le=4.0)


class TransferResponse(_Body):
    """The transfer: ``bytes`` moved by this call (0 on a cache hit), its duration and the checksum."""

    transferred: bool
    cache_hit: bool
    bytes: int
    seconds: float
    sha256: str


class TaskIn(_Body):
    """A long operation to run as a durable task."""

    kind: Literal["dag", "consensus", "analysis", "rag", "lora_transfer"]
    request: dict[str, Any]


class TaskCreated(_Body):
    """The id to poll."""

    task_id: str


class NodeProgress(_Body):
    """One node of a task and how far it got."""

    node: str
    status: str


class TaskOut(_Body):
    """A task's status, result (once done) and per-node progress."""

    task_id: str
    kind: str
    status: str
    result: dict[str, Any] | None
    error: str | None
    progress: list[NodeProgress]
