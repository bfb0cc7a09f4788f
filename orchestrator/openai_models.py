"""The orchestrator's OpenAI-compatible model names: a domain (``legal``) or a domain's adapter (``legal/legal-lora``).

A request names a domain and is routed to its shards with the orchestrator's failover; each shard
is then asked for its own model (its base model's name, learnt from its ``/v1/models`` and asked again
after :data:`NAME_TTL_S`) or the adapter by its own name.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass

import httpx

from observatory.orchestrator.shards import ShardPool, ShardRef
from observatory.runtime.errors import not_found
from observatory.runtime.openai_schemas import ModelCard

MODELS_PATH = "/v1/models"
# How long a shard's base model name is trusted before it is asked again (a shard restarted with another model).
NAME_TTL_S = 30.0


@dataclass(frozen=True)
class Addressed:
    """What a ``model`` names: a domain and, optionally, one of its adapters."""

    domain: str
    adapter: str | None


class ServedModels:
    """The models the shards serve, asked of the shards themselves."""

    def __init__(self, pool: ShardPool) -> None:
        self._pool = pool
        self._base: dict[str, tuple[str, float]] = {}  # shard name -> (base model, when it was learnt)

    def address(self, model: str) -> Addressed:
        """The domain (and adapter) ``model`` names; 404 ``model_not_found`` for an unknown domain."""
        domain, _, adapter = model.partition("/")
        if domain not in self._pool.settings.domains or (not adapter and model.endswith("/")):
            known = ", ".join(sorted(self._pool.settings.domains))
            error = not_found("model", f"model {model!r} names no domain (domains: {known}; or <domain>/<adapter>)")
            error.code = "model_not_found"
            raise error
        return Addressed(domain, adapter or None)

    async def name_at(self, shard: ShardRef, addressed: Addressed) -> str:
        """The model name ``shard`` serves ``addressed`` under; an unreachable shard raises httpx's error."""
        if addressed.adapter is not None:
            return addressed.adapter
        known = self._base.get(shard.name)
        if known is not None and time.monotonic() - known[1] < NAME_TTL_S:
            return known[0]
        return (await self._cards(shard))[0].id

    async def listing(self) -> list[ModelCard]:
        """Every domain one of whose own shards answers, and the adapters those shards serve as ``domain/adapter``."""
        shards = list(self._pool.shards.values())
        answers = await asyncio.gather(*(self._cards(shard) for shard in shards), return_exceptions=True)
        served = {shard.name: cards for shard, cards in zip(shards, answers, strict=True) if isinstance(cards, list)}
        listed: list[ModelCard] = []
        for domain in sorted(self._pool.settings.domains):
            live = [served[shard.name] for shard in self._pool.own_shards(domain) if shard.name in served]
            if not live:
                continue
            base = live[0][0]
            listed.append(ModelCard(id=domain, created=base.created, owned_by=base.owned_by, root=base.id))
            adapters = {card.id: card for cards in live for card in cards[1:]}
            listed += [ModelCard(id=f"{domain}/{name}", created=card.created, owned_by=card.owned_by, root=name,
                                 parent=domain) for name, card in sorted(adapters.items())]  # fmt: skip
        return listed

    async def _cards(self, shard: ShardRef) -> list[ModelCard]:
        response = await self._pool.call(shard, "GET", MODELS_PATH, self._pool.settings.timeouts.search)
        if response.status_code != 200:
            raise httpx.HTTPStatusError(f"answered {response.status_code}", request=response.request,
                                        response=response)  # fmt: skip
        cards = [ModelCard.model_validate(card) for card in response.json()["data"]]
        self._base[shard.name] = (cards[0].id, time.monotonic())
        return cards
