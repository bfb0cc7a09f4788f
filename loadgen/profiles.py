"""What a run sends: request types, the profiles that mix them, and how a profile adapts to its target.

A target is a shard (``/api/v1/search``, ``/api/v1/inference``) or the orchestrator (``/api/v1/inference``,
``/api/v1/rag``, ``/api/v1/reasoning/dag``, ``/api/v1/tasks``); which one is read from its OpenAPI schema.
Each profile weighs request types per kind of target, so ``mixed`` means a realistic mix on either.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

SHARD, ORCHESTRATOR, ANY = "shard", "orchestrator", "any"
DOMAINS = ("legal", "finance", "medical", "technical")

# Weights of request types per kind of target (seed 001's profiles; ``tasks`` is seed 003's client,
# ``get`` a plain GET of the target URL, for probes and trivial endpoints).
PROFILES: dict[str, dict[str, dict[str, float]]] = {
    "simple": {SHARD: {"search": 1.0}, ORCHESTRATOR: {"rag": 1.0}},
    "hybrid": {SHARD: {"search": 0.5, "inference": 0.5}, ORCHESTRATOR: {"rag": 0.5, "inference": 0.5}},
    "complex": {SHARD: {"lora_inference": 1.0}, ORCHESTRATOR: {"reasoning": 1.0}},
    "mixed": {
        SHARD: {"search": 0.5, "inference": 0.4, "lora_inference": 0.1},
        ORCHESTRATOR: {"inference": 0.4, "rag": 0.3, "reasoning": 0.1, "task": 0.2},
    },
    "tasks": {ORCHESTRATOR: {"task": 1.0}},
    "get": {ANY: {"get": 1.0}},
    # Streamed chat over the OpenAI-compatible API (a shard, the orchestrator, vLLM or llama.cpp's server).
    "openai": {ANY: {"openai_chat": 1.0}},
}

PROMPTS = {
    "legal": ("Analyze this contract clause for risk", "Is this liability cap enforceable"),
    "finance": ("Summarize the market risk in this report", "Value this finance term sheet"),
    "medical": ("Summarize the patient history", "List the medical risk factors"),
    "technical": ("Explain this data model", "How does the shard search work"),
}
QUERIES = ("contract risk clause", "market finance data", "patient medical answer", "model shard search")
DOCUMENTS = tuple(f"{word} document {n}: the {word} clause and its risk" for word in QUERIES for n in range(8))


class ProfileError(ValueError):
    """The profile cannot run against this target; the message is one line for the user."""


@dataclass(frozen=True)
class Call:
    """One request to send: its type, method, path and JSON body; ``task`` calls are polled to completion."""

    kind: str
    method: str
    path: str
    body: dict | None = None
    task: bool = False
    # An answer streamed as server-sent events, timed token by token.
    stream: bool = False


def detect_kind(paths: set[str]) -> str:
    """Whether an OpenAPI path set is the orchestrator's or a shard's."""
    if "/api/v1/rag" in paths or "/api/v1/tasks" in paths:
        return ORCHESTRATOR
    if "/api/v1/search" in paths:
        return SHARD
    raise ProfileError("serves neither the shard API (/api/v1/search) nor the orchestrator API (/api/v1/rag)")


def _dag(task: str, rng: np.random.Generator) -> dict:
    """A four-step reasoning DAG over the domains: two parallel analyses, a comparison, a conclusion."""
    first, second = rng.choice(DOMAINS, 2, replace=False).tolist()
    return {
        "task": task,
        "mode": "parallel",
        "steps": [
            {"name": "analyze_a", "depends_on": [], "shard": first, "prompt": f"{task}: the {first} view"},
            {"name": "analyze_b", "depends_on": [], "shard": second, "prompt": f"{task}: the {second} view"},
            {"name": "compare", "depends_on": ["analyze_a", "analyze_b"], "shard": first, "prompt": "Compare"},
            {"name": "conclude", "depends_on": ["compare"], "shard": second, "prompt": "Conclude"},
        ],
    }


@dataclass
class Profile:
    """A profile bound to a target: the type of every request of a run and the call for each.

    ``adapters`` are the LoRA adapters the target offers (``lora_inference`` is dropped without any);
    ``model`` is the OpenAI ``model`` the ``openai`` profile asks for, and ``max_tokens`` its answers' length.
    """

    name: str
    target_kind: str
    weights: dict[str, float]
    adapters: tuple[str, ...] = ()
    seed: int = 0
    model: str = ""
    max_tokens: int = 32

    @classmethod
    def bind(
        cls, name: str, target_kind: str, adapters: tuple[str, ...] = (), seed: int = 0, **openai: str | int
    ) -> Profile:
        """The profile's weights for ``target_kind``, without the request types the target cannot serve.

        ``openai`` holds the ``model`` and ``max_tokens`` of the ``openai`` profile.
        """
        table = PROFILES[name]
        weights = dict(table.get(target_kind) or table.get(ANY) or {})
        if not adapters:
            weights.pop("lora_inference", None)
        if not weights:
            kinds = " or ".join(kind for kind in table if kind != ANY)
            raise ProfileError(f"profile {name} runs against: {kinds}; this target is a {target_kind}")
        return cls(name, target_kind, weights, adapters, seed, **openai)  # type: ignore[arg-type]

    def kinds(self, count: int) -> list[str]:
        """The request type of each of ``count`` requests, drawn by weight (repeatable from the seed)."""
        names = sorted(self.weights)
        shares = np.array([self.weights[n] for n in names])
        picks = np.random.default_rng(self.seed).choice(len(names), size=count, p=shares / shares.sum())
        return [names[i] for i in picks]

    def call(self, kind: str, number: int) -> Call:
        """The ``number``-th request of a run, of type ``kind``; bodies vary with the number."""
        if kind == "get":
            return Call(kind, "GET", "")
        domain = DOMAINS[number % len(DOMAINS)]
        prompt = PROMPTS[domain][number % 2]
        on_orchestrator = {"domain": domain} if self.target_kind == ORCHESTRATOR else {}
        if kind == "openai_chat":
            return self._chat(prompt)
        if kind == "inference":
            return Call(kind, "POST", "/api/v1/inference", {"prompt": prompt, "max_tokens": 16} | on_orchestrator)
        if kind == "lora_inference":
            adapter = self.adapters[number % len(self.adapters)]
            body = {"prompt": prompt, "max_tokens": 32, "adapters": [{"name": adapter}]}
            return Call(kind, "POST", "/api/v1/inference", body)
        query = QUERIES[number % len(QUERIES)]
        rng = np.random.default_rng((self.seed, number))
        if kind == "search":
            return Call(kind, "POST", "/api/v1/search", {"text": query, "k": 5})
        if kind == "rag":
            domains = rng.choice(DOMAINS, 2, replace=False).tolist()
            return Call(kind, "POST", "/api/v1/rag", {"query": query, "domains": domains, "top_k": 5})
        if kind == "reasoning":
            return Call(kind, "POST", "/api/v1/reasoning/dag", _dag(prompt, rng))
        if kind == "task":
            return Call(kind, "POST", "/api/v1/tasks", {"kind": "dag", "request": _dag(prompt, rng)}, task=True)
        raise ProfileError(f"unknown request type {kind}")

    def _chat(self, prompt: str) -> Call:
        """A streamed chat completion of exactly ``max_tokens`` tokens, as benchmark clients ask vLLM for one."""
        body = {
            "model": self.model,
            "messages": [{"role": "user", "content": prompt}],
            "max_tokens": self.max_tokens,
            "stream": True,
            "stream_options": {"include_usage": True},
            # vLLM's extensions: an answer stops at max_tokens, not at the first end-of-sequence.
            "ignore_eos": True,
            "min_tokens": self.max_tokens,
        }
        return Call("openai_chat", "POST", "/v1/chat/completions", body, stream=True)

    def setup_calls(self) -> list[Call]:
        """What the target needs before the run: documents to search (a shard) or to retrieve (the orchestrator)."""
        if "search" in self.weights:
            documents = [{"text": text} for text in DOCUMENTS]
            return [Call("setup", "POST", "/api/v1/documents", {"documents": documents})]
        if "rag" in self.weights:
            return [
                Call("setup", "POST", "/api/v1/documents", {"domain": domain, "text": " ".join(DOCUMENTS[i::4])})
                for i, domain in enumerate(DOMAINS)
            ]
        return []
