"""The shards the orchestrator knows, which of them failed lately, and calls to them with failover.

A shard that cannot be reached, times out, answers 5xx or 429 does not answer: the next candidate
is asked. Candidates are the domain's primary, its backups, then every other shard; a shard that
failed within ``retry_down_after`` seconds goes to the end of that order instead of being asked first.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

import httpx

from observatory.orchestrator.settings import OrchestratorSettings
from observatory.runtime.errors import INSUFFICIENT_STORAGE, ShardError, input_error
from observatory.runtime.settings import KEEP_ALIVE_SECONDS


@dataclass(frozen=True)
class ShardRef:
    """A shard: its name (on metrics and in answers), base URL and the domain it is primary of, if any."""

    name: str
    url: str
    domain: str | None


def shard_names(settings: OrchestratorSettings) -> dict[str, ShardRef]:
    """Every configured shard by name: a primary is named after its domain, a backup after the primary
    whose URL it shares, else ``<domain>-backup-<n>``."""
    by_url = {str(shards.primary).rstrip("/"): domain for domain, shards in settings.domains.items()}
    refs = {domain: ShardRef(domain, url, domain) for url, domain in by_url.items()}
    for domain, shards in settings.domains.items():
        for position, url in enumerate(shards.backups, start=1):
            base = str(url).rstrip("/")
            if base not in by_url:
                name = f"{domain}-backup-{position}"
                by_url[base] = name
                refs[name] = ShardRef(name, base, None)
    return refs


def failover_order(primary: Sequence[ShardRef], others: Sequence[ShardRef], down: set[str]) -> list[ShardRef]:
    """The order to ask shards in: ``primary`` (a domain's own shards, in order), then ``others``;
    shards in ``down`` keep their relative order but come after every shard not known to be down."""
    seen: set[str] = set()
    ordered = []
    for shard in (*primary, *others):
        if shard.name not in seen:
            seen.add(shard.name)
            ordered.append(shard)
    return [s for s in ordered if s.name not in down] + [s for s in ordered if s.name in down]


class NoShardAnsweredError(Exception):
    """Every candidate failed; ``failures`` says how each one did."""

    def __init__(self, failures: dict[str, str]) -> None:
        super().__init__("; ".join(f"{name}: {why}" for name, why in failures.items()))
        self.failures = failures


@dataclass(frozen=True)
class Answer:
    """A shard's 2xx answer and who gave it; a streamed answer's body is still to be read from ``response``."""

    shard: ShardRef
    body: Any
    response: httpx.Response


# Gives the JSON body to send to one shard (the OpenAI-compatible API names each shard's own model).
BodyFor = Callable[[ShardRef], Awaitable[dict]]


class ShardPool:
    """The configured shards, their recent failures, and one HTTP client to call them."""

    def __init__(self, settings: OrchestratorSettings, client: httpx.AsyncClient | None = None) -> None:
        self.settings = settings
        self.shards = shard_names(settings)
        timeouts = settings.timeouts
        expiry = KEEP_ALIVE_SECONDS / 2  # below the shard's, so an idle connection is never reused as it closes
        limits = httpx.Limits(max_connections=256, max_keepalive_connections=64, keepalive_expiry=expiry)
        self.client = client or httpx.AsyncClient(
            timeout=httpx.Timeout(timeouts.inference, connect=timeouts.connect), limits=limits
        )
        self._failed_at: dict[str, float] = {}
        by_url = {ref.url: ref for ref in self.shards.values()}
        self._own = {
            domain: [by_url[str(url).rstrip("/")] for url in (config.primary, *config.backups)]
            for domain, config in settings.domains.items()
        }
        self._round_robin = itertools.cycle(sorted(self.shards))

    async def close(self) -> None:
        """Close the HTTP client."""
        await self.client.aclose()

    def shard(self, name: str, field: str) -> ShardRef:
        """The shard called ``name``; 422 naming ``field`` when there is none."""
        if name not in self.shards:
            raise input_error(field, f"{field}: unknown shard {name!r} (known: {', '.join(sorted(self.shards))})")
        return self.shards[name]

    def domain(self, name: str, field: str) -> str:
        """``name`` if it is a configured domain; 422 naming ``field`` otherwise."""
        if name not in self.settings.domains:
            known = ", ".join(sorted(self.settings.domains))
            raise input_error(field, f"{field}: unknown domain {name!r} (known: {known})")
        return name

    def own_shards(self, domain: str) -> list[ShardRef]:
        """The domain's primary then its backups."""
        return self._own[domain]

    def primary(self, domain: str) -> ShardRef:
        """The domain's primary shard."""
        return self.own_shards(domain)[0]

    def down(self) -> set[str]:
        """Shards that failed within the last ``retry_down_after`` seconds."""
        horizon = time.monotonic() - self.settings.timeouts.retry_down_after
        return {name for name, at in self._failed_at.items() if at > horizon}

    def candidates(self, domain: str | None) -> list[ShardRef]:
        """Shards to ask for work of ``domain``, in order; without a domain, round robin over all."""
        if domain is None:
            start = next(self._round_robin)
            names = sorted(self.shards)
            rotated = names[names.index(start):] + names[: names.index(start)]
            return failover_order([], [self.shards[n] for n in rotated], self.down())
        return failover_order(self.own_shards(domain), list(self.shards.values()), self.down())

    async def call(
        self, shard: ShardRef, method: str, path: str, timeout: float | None = None, stream: bool = False,
        **kwargs: Any,
    ) -> httpx.Response:  # fmt: skip
        """One request to ``shard``; a transport failure or timeout marks it down and is raised.

        With ``stream`` the answer's body is left unread, for the caller to read and close.
        """
        try:
            request = self.client.build_request(method, shard.url + path,
                                                timeout=timeout or httpx.USE_CLIENT_DEFAULT, **kwargs)  # fmt: skip
            response = await self.client.send(request, stream=stream)
        except httpx.HTTPError:
            self._failed_at[shard.name] = time.monotonic()
            raise
        # A 507 (no room under the shard's VRAM budget) comes from a shard that works: it is not down.
        if response.status_code >= 500 and response.status_code != INSUFFICIENT_STORAGE:
            self._failed_at[shard.name] = time.monotonic()
        elif response.status_code < 400:
            self._failed_at.pop(shard.name, None)
        return response

    async def first_answer(
        self, candidates: Sequence[ShardRef], method: str, path: str, timeout: float | None = None,
        stream: bool = False, body_for: BodyFor | None = None, **kwargs: Any,
    ) -> Answer:  # fmt: skip
        """The first 2xx answer among ``candidates``, asked in order.

        A 4xx other than 429 is the client's fault and is answered as is (it would fail anywhere);
        :class:`NoShardAnsweredError` when every candidate failed, unless one refused for want of room
        under its VRAM budget (507): then that refusal is answered, as nowhere had room. ``body_for``
        gives each shard its own JSON body; with ``stream`` the answer that is returned is still to be
        read, and closed, by the caller.
        """
        failures: dict[str, str] = {}
        no_room: tuple[ShardRef, httpx.Response] | None = None
        for shard in candidates:
            try:
                sent = kwargs | ({"json": await body_for(shard)} if body_for is not None else {})
                response = await self.call(shard, method, path, timeout, stream, **sent)
            except httpx.TimeoutException:
                failures[shard.name] = "timed out"
                continue
            except httpx.HTTPError as error:
                failures[shard.name] = f"unreachable ({type(error).__name__})"
                continue
            if response.status_code < 400:
                if stream:
                    return Answer(shard, None, response)
                return Answer(shard, response.json() if response.content else None, response)
            if stream:
                await response.aread()
                await response.aclose()
            if response.status_code == 429 or response.status_code >= 500:
                failures[shard.name] = f"answered {response.status_code}"
                if response.status_code == INSUFFICIENT_STORAGE:
                    no_room = no_room or (shard, response)
                continue
            raise relayed_error(shard, response)
        if no_room is not None:
            raise relayed_error(*no_room)
        raise NoShardAnsweredError(failures)


def relayed_error(shard: ShardRef, response: httpx.Response) -> ShardError:
    """A shard's 4xx refusal as the orchestrator's own answer, naming the field the shard named (from the
    native API's body, or from OpenAI's envelope with its code)."""
    try:
        body = response.json()
    except ValueError:
        body = {}
    error = body.get("error") if isinstance(body, dict) else None
    if isinstance(error, dict):  # {"error": {"message", "type", "param", "code"}}
        message, field, code = error.get("message"), error.get("param"), error.get("code")
    else:
        message, field, code = error, body.get("field") if isinstance(body, dict) else None, None
    status = response.status_code
    return ShardError(status, f"shard {shard.name}: {message or response.reason_phrase}", field, code)
