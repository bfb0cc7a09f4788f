"""Request and response bodies of the shard's API; bounds here become the OpenAPI schema."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from observatory.runtime.generation import GenerationRequest

ADAPTER_NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$"
MAX_PROMPT_CHARS = 65536
MAX_TOKENS = 4096
MAX_BATCH = 256
MAX_DIM = 8192
# Python's JSON parser accepts NaN and Infinity, and a finite float64 can overflow float32:
# any of them would poison FAISS distances, so every component must be a finite float32.
FLOAT32_MAX = 3.0e38
Component = Annotated[float, Field(allow_inf_nan=False, ge=-FLOAT32_MAX, le=FLOAT32_MAX)]
Vector = Annotated[list[Component], Field(min_length=1, max_length=MAX_DIM)]


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class AdapterUse(_Body):
    """One adapter a request applies, at its loaded scale unless ``scale`` is given."""

    name: str = Field(pattern=ADAPTER_NAME_PATTERN)
    scale: float | None = Field(None, ge=-4.0, le=4.0)


class InferenceRequest(_Body):
    """A completion request."""

    prompt: str = Field(min_length=1, max_length=MAX_PROMPT_CHARS)
    max_tokens: int = Field(64, ge=1, le=MAX_TOKENS)
    temperature: float = Field(0.7, ge=0.0, le=2.0)
    adapters: list[AdapterUse] = Field(default_factory=list, max_length=8)
    stream: bool = Field(False, description="Answer with server-sent events, a token event per piece of text.")

    @field_validator("adapters")
    @classmethod
    def _distinct_adapters(cls, adapters: list[AdapterUse]) -> list[AdapterUse]:
        names = [adapter.name for adapter in adapters]
        if len(set(names)) != len(names):
            raise ValueError("each adapter may be named once")
        return adapters

    def generation(self) -> GenerationRequest:
        """What the runner generates for this request."""
        adapters = tuple((adapter.name, adapter.scale) for adapter in self.adapters)
        return GenerationRequest(self.prompt, self.max_tokens, self.temperature, adapters)


class StageTimings(_Body):
    """Seconds per stage, from llama.cpp's own timings (tokenize is timed around the call)."""

    tokenize: float
    prompt_eval: float
    generation: float
    total: float
    adapter_switch: float | None


class InferenceResponse(_Body):
    """A finished completion."""

    text: str
    model: str
    prompt_tokens: int
    completion_tokens: int
    tokens_per_second: float
    kv_cache_usage_ratio: float
    timings: StageTimings
    adapters_used: list[str]


class _TextOrVector(_Body):
    text: str | None = Field(None, min_length=1, max_length=MAX_PROMPT_CHARS)
    vector: Vector | None = None

    @model_validator(mode="after")
    def _one_of(self) -> _TextOrVector:
        if (self.text is None) == (self.vector is None):
            raise ValueError("give exactly one of text or vector")
        return self


class Document(_TextOrVector):
    """A document to index: its text (embedded by the model) or its vector."""

    id: int | None = Field(None, ge=0, le=2**62)


class DocumentsRequest(_Body):
    """A batch of documents to add."""

    documents: list[Document] = Field(min_length=1, max_length=MAX_BATCH)


class DocumentsResponse(_Body):
    """The ids the documents were stored under."""

    ids: list[int]
    total: int


class Query(_TextOrVector):
    """One search query."""


class SearchRequest(_Body):
    """One query (``text`` or ``vector``) or a batch (``queries``), and how many neighbours to return."""

    text: str | None = Field(None, min_length=1, max_length=MAX_PROMPT_CHARS)
    vector: Vector | None = None
    queries: list[Query] | None = Field(None, min_length=1, max_length=MAX_BATCH)
    k: int = Field(10, gt=0, le=10000)

    @model_validator(mode="after")
    def _one_of(self) -> SearchRequest:
        given = [name for name in ("text", "vector", "queries") if getattr(self, name) is not None]
        if len(given) != 1:
            raise ValueError("give exactly one of text, vector or queries")
        return self

    def as_queries(self) -> list[Query]:
        """The request as a list of queries."""
        if self.queries is not None:
            return self.queries
        return [Query(text=self.text, vector=self.vector)]


class Hit(_Body):
    """One neighbour."""

    id: int
    distance: float
    text: str | None


class SearchResponse(_Body):
    """Neighbours per query, nearest first."""

    results: list[list[Hit]]


class AdapterLoad(_Body):
    """An adapter to load from the shard's adapter directory."""

    name: str = Field(pattern=ADAPTER_NAME_PATTERN)
    scale: float = Field(1.0, ge=-4.0, le=4.0)


class AdapterInfo(_Body):
    """A loaded adapter."""

    name: str
    scale: float
    size_bytes: int


class AdaptersResponse(_Body):
    """Loaded and available adapters and the VRAM budget."""

    loaded: list[AdapterInfo]
    available: list[str]
    vram_budget_bytes: int
    vram_reserved_bytes: int
