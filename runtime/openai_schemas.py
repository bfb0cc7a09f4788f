"""Request and response bodies of the OpenAI-compatible API, with vLLM's ``ignore_eos`` and ``min_tokens``.

Fields OpenAI defines that this server cannot honour (``logprobs``, tools, several choices) are
refused by name rather than ignored; bounds here become the OpenAPI schema.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from observatory.runtime.chat import ChatMessage
from observatory.runtime.schemas import MAX_BATCH, MAX_PROMPT_CHARS, MAX_TOKENS

MAX_STOPS = 4  # as OpenAI allows
DEFAULT_MAX_TOKENS = 16  # OpenAI's default for a text completion


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class StreamOptions(_Body):
    """What a stream carries besides the text."""

    include_usage: bool = Field(False, description="A last chunk with empty choices and the usage of the request.")
    continuous_usage_stats: bool = Field(
        False, description="vLLM's extension: with include_usage, every chunk carries the usage so far."
    )


Stop = Annotated[str, Field(min_length=1, max_length=256)]
Penalty = Annotated[float, Field(ge=-2.0, le=2.0)]


class SampledRequest(_Body):
    """The sampling fields chat and text completions share."""

    model: str = Field(min_length=1, max_length=128)
    max_tokens: int | None = Field(None, ge=1, le=MAX_TOKENS)
    temperature: float = Field(1.0, ge=0.0, le=2.0)
    top_p: float = Field(1.0, gt=0.0, le=1.0)
    n: int = Field(1, ge=1, le=1, description="Choices per request: this server generates one.")
    stop: Stop | list[Stop] | None = Field(None, description="Up to 4 strings; the text ends before the first.")
    seed: int | None = Field(None, ge=0, le=2**32 - 1)
    presence_penalty: Penalty = 0.0
    frequency_penalty: Penalty = 0.0
    stream: bool = False
    stream_options: StreamOptions | None = None
    user: str | None = Field(None, max_length=256)
    ignore_eos: bool = Field(False, description="vLLM's extension: generate on past an end of sequence.")
    min_tokens: int = Field(0, ge=0, le=MAX_TOKENS, description="vLLM's extension: no end before this many tokens.")

    @field_validator("stop")
    @classmethod
    def _few_stops(cls, stop: str | list[str] | None) -> str | list[str] | None:
        if isinstance(stop, list) and len(stop) > MAX_STOPS:
            raise ValueError(f"at most {MAX_STOPS} stop strings")
        return stop

    @model_validator(mode="after")
    def _stream_options_with_stream(self) -> SampledRequest:
        if self.stream_options is not None and not self.stream:
            raise ValueError("stream_options: only allowed with stream")
        return self

    @property
    def stops(self) -> tuple[str, ...]:
        """The stop strings as a tuple."""
        if self.stop is None:
            return ()
        return (self.stop,) if isinstance(self.stop, str) else tuple(self.stop)

    @property
    def include_usage(self) -> bool:
        """Whether a stream ends with a usage chunk."""
        return self.stream_options is not None and self.stream_options.include_usage

    @property
    def continuous_usage(self) -> bool:
        """Whether every chunk carries the usage so far (vLLM's meaning: only together with include_usage)."""
        return self.include_usage and self.stream_options is not None and self.stream_options.continuous_usage_stats


class TextPart(_Body):
    """A part of a message's content: only text parts are understood."""

    type: Literal["text"]
    text: str = Field(max_length=MAX_PROMPT_CHARS)


class Message(_Body):
    """One message of the conversation."""

    role: Literal["system", "developer", "user", "assistant"]
    content: Annotated[str, Field(max_length=MAX_PROMPT_CHARS)] | Annotated[list[TextPart], Field(max_length=64)]
    name: str | None = Field(None, max_length=64)

    def as_chat(self) -> ChatMessage:
        """The message with its text parts joined."""
        text = self.content if isinstance(self.content, str) else "".join(part.text for part in self.content)
        return ChatMessage(self.role, text)


class ChatCompletionRequest(SampledRequest):
    """POST /v1/chat/completions."""

    messages: list[Message] = Field(min_length=1, max_length=256)
    max_completion_tokens: int | None = Field(None, ge=1, le=MAX_TOKENS)
    logprobs: Literal[False] = False

    @property
    def token_limit(self) -> tuple[int | None, str]:
        """The most tokens to generate and the field that says so (``max_completion_tokens`` wins); without
        either, as many as the context has room for, as OpenAI and vLLM answer a chat."""
        if self.max_completion_tokens is not None:
            return self.max_completion_tokens, "max_completion_tokens"
        return self.max_tokens, "max_tokens"


class CompletionRequest(SampledRequest):
    """POST /v1/completions: one prompt (a string, or a list holding one)."""

    prompt: str | list[str] = Field(min_length=1)
    echo: Literal[False] = False
    logprobs: None = None
    best_of: Literal[1] = 1
    suffix: None = None

    @field_validator("prompt")
    @classmethod
    def _one_prompt(cls, prompt: str | list[str]) -> str | list[str]:
        text = prompt if isinstance(prompt, str) else (prompt[0] if len(prompt) == 1 else None)
        if text is None:
            raise ValueError("one prompt per request")
        if not 1 <= len(text) <= MAX_PROMPT_CHARS:
            raise ValueError(f"1 to {MAX_PROMPT_CHARS} characters")
        return prompt

    @property
    def text(self) -> str:
        """The prompt."""
        return self.prompt if isinstance(self.prompt, str) else self.prompt[0]

    @property
    def token_limit(self) -> tuple[int, str]:
        """The most tokens to generate and the field that says so."""
        return self.max_tokens or DEFAULT_MAX_TOKENS, "max_tokens"


class EmbeddingRequest(_Body):
    """POST /v1/embeddings: one text or a list of texts."""

    model: str = Field(min_length=1, max_length=128)
    input: Annotated[str, Field(min_length=1, max_length=MAX_PROMPT_CHARS)] | list[
        Annotated[str, Field(min_length=1, max_length=MAX_PROMPT_CHARS)]
    ] = Field(description="Text to embed, or a list of up to 256 texts.")
    encoding_format: Literal["float", "base64"] = "float"
    dimensions: int | None = Field(None, ge=1, le=8192, description="Must equal the model's embedding size.")
    user: str | None = Field(None, max_length=256)

    @field_validator("input")
    @classmethod
    def _some_texts(cls, given: str | list[str]) -> str | list[str]:
        if isinstance(given, list) and not 1 <= len(given) <= MAX_BATCH:
            raise ValueError(f"1 to {MAX_BATCH} texts")
        return given

    @property
    def texts(self) -> list[str]:
        """The input as a list of texts."""
        return [self.input] if isinstance(self.input, str) else list(self.input)


class Usage(_Body):
    """Tokens a request used."""

    prompt_tokens: int
    completion_tokens: int = 0
    total_tokens: int


class ModelCard(_Body):
    """One model the server serves: its base model, or a LoRA adapter over it (``parent``)."""

    id: str
    object: Literal["model"] = "model"
    created: int
    owned_by: str
    root: str
    parent: str | None = None


class ModelList(_Body):
    """GET /v1/models."""

    object: Literal["list"] = "list"
    data: list[ModelCard]
