"""What the shard generates, whichever API asked for it: the native and the OpenAI-compatible
requests both translate into a :class:`GenerationRequest`, and one runner serves it."""

from __future__ import annotations

from dataclasses import dataclass, field

from observatory.runtime.engine import Sampling


@dataclass(frozen=True)
class GenerationRequest:
    """A prompt to complete, the adapters to apply (name, scale or None for the loaded scale) and how to sample.

    A ``templated`` prompt is a rendered chat template that carries its own special tokens.
    """

    prompt: str
    max_tokens: int | None  # None: as many as the context has room for
    temperature: float
    adapters: tuple[tuple[str, float | None], ...] = ()
    sampling: Sampling = field(default_factory=Sampling)
    templated: bool = False

