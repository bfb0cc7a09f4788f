"""The llama.cpp engine: one generation context and one embedding context over the same GGUF model.

llama.cpp calls block and a context is not thread-safe, so every call on a context holds that
context's lock; callers run these methods in a worker thread to keep the event loop free.
"""

from __future__ import annotations

import codecs
import ctypes
import random
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import llama_cpp
import numpy as np

from observatory.runtime.chat import ChatTemplate
from observatory.runtime.errors import input_error, unavailable
from observatory.runtime.stops import StopMatcher


@dataclass(frozen=True)
class AppliedAdapter:
    """A loaded LoRA adapter handle with the scale one request applies it at."""

    name: str
    handle: object
    scale: float


@dataclass(frozen=True)
class Sampling:
    """How one request samples beyond its temperature (the defaults are llama-cpp-python's own).

    ``seed`` None draws from the engine's seed, so a prompt gets the same answer every time;
    ``stop`` ends the text before the first stop string; ``ignore_eos`` generates on past an end of
    sequence, and ``min_tokens`` does so until that many tokens were generated (as vLLM's extensions).
    """

    top_p: float = 0.95
    seed: int | None = None
    stop: tuple[str, ...] = ()
    ignore_eos: bool = False
    min_tokens: int = 0
    presence_penalty: float = 0.0
    frequency_penalty: float = 0.0


@dataclass(frozen=True)
class Piece:
    """A piece of generated text as it is emitted, with the request's token counts at that moment."""

    text: str
    prompt_tokens: int
    completion_tokens: int


@dataclass(frozen=True)
class Completion:
    """One finished completion with llama.cpp's own stage timings."""

    text: str
    prompt_tokens: int
    completion_tokens: int
    evaluated_prompt_tokens: int
    tokenize_seconds: float
    prompt_eval_seconds: float
    generation_seconds: float
    switch_seconds: float | None
    kv_cache_usage_ratio: float
    adapters: tuple[str, ...]
    finish_reason: str = "length"
    first_token_at: float | None = None  # time.perf_counter() when the first token was sampled
    last_token_at: float | None = None

    @property
    def seconds_per_output_token(self) -> float | None:
        """Mean time between output tokens after the first (OpenTelemetry's time per output token)."""
        if self.first_token_at is None or self.last_token_at is None or self.completion_tokens < 2:
            return None
        return (self.last_token_at - self.first_token_at) / (self.completion_tokens - 1)

    @property
    def tokens_per_second(self) -> float:
        """Generated tokens per second of generation (decode) time."""
        return self.completion_tokens / self.generation_seconds if self.generation_seconds > 0 else 0.0


@dataclass(frozen=True)
class _Generation:
    text: str
    tokens: int
    finish_reason: str
    first_token_at: float | None
    last_token_at: float | None


@dataclass(frozen=True)
class ModelFacts:
    """What loading the model measured."""

    load_seconds: float
    size_bytes: int
    n_params: int
    description: str
    embedding_dim: int


class LlamaEngine:
    """Completions, embeddings and LoRA switching on one model; every method is thread-safe."""

    def __init__(self, model_path: Path, n_ctx: int, n_threads: int | None, n_gpu_layers: int, seed: int) -> None:
        self.model_path = model_path
        self.seed = seed
        self._params = {
            "model_path": str(model_path),
            "n_ctx": n_ctx,
            "n_threads": n_threads,
            "n_gpu_layers": n_gpu_layers,
            "seed": seed,
            "verbose": False,
        }
        self._llm: llama_cpp.Llama | None = None
        self._embedder: llama_cpp.Llama | None = None
        self._lock = threading.Lock()
        self._embed_lock = threading.Lock()
        self._active: tuple[tuple[str, float], ...] = ()
        self.facts: ModelFacts | None = None
        self.chat: ChatTemplate | None = None

    @property
    def loaded(self) -> bool:
        """Whether the model is loaded and serving."""
        return self.facts is not None

    @property
    def n_ctx(self) -> int:
        """The context size in tokens."""
        return int(self._params["n_ctx"])

    def load(self) -> ModelFacts:
        """Load the model (generation and embedding contexts) and return what was measured."""
        started = time.perf_counter()
        llm = llama_cpp.Llama(**self._params)
        embedder = llama_cpp.Llama(**self._params, embedding=True, pooling_type=llama_cpp.LLAMA_POOLING_TYPE_MEAN)
        seconds = time.perf_counter() - started
        model = llm._model.model
        self._llm, self._embedder = llm, embedder
        self.chat = ChatTemplate.of_model(llm)
        self.facts = ModelFacts(
            load_seconds=seconds,
            size_bytes=int(llama_cpp.llama_model_size(model)),
            n_params=int(llama_cpp.llama_model_n_params(model)),
            description=llm._model.desc(),
            embedding_dim=int(llm.n_embd()),
        )
        return self.facts

    def close(self) -> None:
        """Free the contexts and the model."""
        with self._lock, self._embed_lock:
            for llm in (self._llm, self._embedder):
                if llm is not None:
                    llm.close()
            self._llm = self._embedder = None
            self.facts = None

    def complete(
        self,
        prompt: str,
        max_tokens: int | None,
        temperature: float,
        adapters: Sequence[AppliedAdapter] = (),
        on_text: Callable[[Piece], None] | None = None,
        cancelled: threading.Event | None = None,
        sampling: Sampling = Sampling(),
        templated: bool = False,
    ) -> Completion:
        """Generate up to ``max_tokens`` tokens (None: as many as the context has room for) for ``prompt``
        with ``adapters`` applied.

        Each new piece of text goes to ``on_text`` as soon as its token is sampled (the text of a
        character split over several tokens when it is whole), with the tokens counted so far;
        setting ``cancelled`` stops the generation after the current token. The answer's text is the
        pieces joined, so a streamed answer and a whole one are the same text. A ``templated`` prompt
        (a rendered chat template) carries its own special tokens: they are parsed, and no beginning
        of sequence is added.
        """
        llm = self._require(self._llm)
        with self._lock:
            started = time.perf_counter()
            tokens = llm.tokenize(prompt.encode("utf-8"), add_bos=not templated, special=templated)
            tokenize_seconds = time.perf_counter() - started
            if max_tokens is None:
                max_tokens = max(self.n_ctx - len(tokens), 1)
            if len(tokens) + max_tokens > self.n_ctx:
                field = "prompt" if len(tokens) >= self.n_ctx else "max_tokens"
                raise input_error(
                    field, f"{field}: {len(tokens)} prompt tokens + max_tokens {max_tokens} exceed n_ctx {self.n_ctx}"
                )
            switch_seconds = self._switch_adapters(llm, adapters)
            before = llama_cpp.llama_perf_context(llm._ctx.ctx)
            generation = self._generate(llm, tokens, max_tokens, temperature, sampling, on_text, cancelled)
            after = llama_cpp.llama_perf_context(llm._ctx.ctx)
            return Completion(
                text=generation.text,
                prompt_tokens=len(tokens),
                completion_tokens=generation.tokens,
                evaluated_prompt_tokens=min(max(after.n_p_eval - before.n_p_eval, 0), len(tokens)),
                tokenize_seconds=tokenize_seconds,
                prompt_eval_seconds=max(after.t_p_eval_ms - before.t_p_eval_ms, 0.0) / 1000,
                generation_seconds=max(after.t_eval_ms - before.t_eval_ms, 0.0) / 1000,
                switch_seconds=switch_seconds,
                kv_cache_usage_ratio=self._kv_usage(llm),
                adapters=tuple(adapter.name for adapter in adapters),
                finish_reason=generation.finish_reason,
                first_token_at=generation.first_token_at,
                last_token_at=generation.last_token_at,
            )

    def _generate(
        self,
        llm: llama_cpp.Llama,
        prompt_tokens: list[int],
        max_tokens: int,
        temperature: float,
        sampling: Sampling,
        on_text: Callable[[Piece], None] | None,
        cancelled: threading.Event | None,
    ) -> _Generation:
        # llama-cpp-python's create_completion chains its seed from one call to the next; seeding afresh
        # per request gives a prompt the same answer at the same temperature every time, streamed or whole.
        if cancelled is not None and cancelled.is_set():  # the client left while waiting for its turn
            return _Generation("", 0, "cancelled", None, None)
        llm.set_seed(random.Random(self.seed if sampling.seed is None else sampling.seed).randint(0, 2**32))
        decoder = codecs.getincrementaldecoder("utf-8")(errors="ignore")
        stops = StopMatcher(sampling.stop)
        pieces: list[str] = []
        generated: list[int] = []
        first_at = last_at = None
        finish_reason = "length"

        def emit(text: str) -> None:
            if text:
                pieces.append(text)
                if on_text is not None:
                    on_text(Piece(text, len(prompt_tokens), len(generated)))

        tokens = llm.generate(prompt_tokens, temp=temperature, top_p=sampling.top_p,
                              presence_penalty=sampling.presence_penalty,
                              frequency_penalty=sampling.frequency_penalty)  # fmt: skip
        for token in tokens:
            # Below min_tokens (or with ignore_eos) an end of sequence is generated past, as in vLLM.
            ends = llama_cpp.llama_vocab_is_eog(llm._model.vocab, token)
            if ends and not sampling.ignore_eos and len(generated) >= sampling.min_tokens:
                finish_reason = "stop"
                break
            last_at = time.perf_counter()
            first_at = first_at or last_at
            piece = decoder.decode(llm.detokenize([token], prev_tokens=prompt_tokens + generated))
            generated.append(token)
            if len(generated) > sampling.min_tokens or not sampling.stop:
                emit(stops.feed(piece))
            else:  # a stop string counts only once min_tokens were generated
                emit(piece)
            if stops.stopped:
                finish_reason = "stop"
                break
            if len(generated) >= max_tokens:
                break
            if cancelled is not None and cancelled.is_set():
                finish_reason = "cancelled"
                break
        if not stops.stopped:
            emit(stops.feed(decoder.decode(b"", final=True)) + stops.flush())
        if stops.stopped:  # also when the text's last bytes completed a stop string
            finish_reason = "stop"
        return _Generation("".join(pieces), len(generated), finish_reason, first_at, last_at)

    def embed(self, texts: Sequence[str], fields: Sequence[str]) -> np.ndarray:
        """Mean-pooled embeddings, one float32 row per text; ``fields`` names each text in the request.

        A text must fit one embedding batch (``n_batch`` tokens): llama-cpp-python would otherwise
        cut it silently, so truncation is off and the text at fault is answered with a 422.
        """
        embedder = self._require(self._embedder)
        with self._embed_lock:
            try:
                vectors = embedder.embed(list(texts), truncate=False)
            except ValueError:
                # Only now tokenize again, to name the text: the hot path tokenizes once, inside embed().
                for field, text in zip(fields, texts, strict=True):
                    tokens = len(embedder.tokenize(text.encode("utf-8")))
                    if tokens > embedder.n_batch:
                        raise input_error(
                            field, f"{field}: {tokens} tokens, more than the {embedder.n_batch} one embedding takes"
                        ) from None
                raise
        return np.asarray(vectors, dtype=np.float32).reshape(len(texts), -1)

    def count_tokens(self, texts: Sequence[str]) -> int:
        """How many tokens ``texts`` take together as embedding inputs (the usage of an embedding request)."""
        embedder = self._require(self._embedder)
        with self._embed_lock:
            return sum(len(embedder.tokenize(text.encode("utf-8"))) for text in texts)

    def init_adapter(self, path: Path) -> object | None:
        """Load a LoRA adapter GGUF for this model; ``None`` when llama.cpp refuses the file."""
        llm = self._require(self._llm)
        with self._lock:
            return llama_cpp.llama_adapter_lora_init(llm._model.model, str(path).encode())

    def free_adapter(self, handle: object) -> None:
        """Free an adapter handle; it is first detached from the context if applied."""
        llm = self._require(self._llm)
        with self._lock:
            llama_cpp.llama_set_adapters_lora(llm._ctx.ctx, None, 0, None)
            llm.reset()
            self._active = ()
            llama_cpp.llama_adapter_lora_free(handle)

    def _switch_adapters(self, llm: llama_cpp.Llama, adapters: Sequence[AppliedAdapter]) -> float | None:
        wanted = tuple((adapter.name, adapter.scale) for adapter in adapters)
        if wanted == self._active:
            return None
        started = time.perf_counter()
        if adapters:
            handles = (llama_cpp.llama_adapter_lora_p_ctypes * len(adapters))(*(a.handle for a in adapters))
            scales = (ctypes.c_float * len(adapters))(*(a.scale for a in adapters))
            status = llama_cpp.llama_set_adapters_lora(llm._ctx.ctx, handles, len(adapters), scales)
        else:
            status = llama_cpp.llama_set_adapters_lora(llm._ctx.ctx, None, 0, None)
        if status != 0:
            raise input_error("adapters", f"llama.cpp refused the adapters (status {status})")
        # The prompt cache holds KV computed under the previous adapters: it is stale now.
        llm.reset()
        self._active = wanted
        return time.perf_counter() - started

    def _kv_usage(self, llm: llama_cpp.Llama) -> float:
        memory = llama_cpp.llama_get_memory(llm._ctx.ctx)
        if memory is None:
            return 0.0
        used = llama_cpp.llama_memory_seq_pos_max(memory, 0) + 1
        return max(used, 0) / llama_cpp.llama_n_ctx(llm._ctx.ctx)

    @staticmethod
    def _require(llm: llama_cpp.Llama | None) -> llama_cpp.Llama:
        if llm is None:
            raise unavailable("the model is not loaded yet")
        return llm
