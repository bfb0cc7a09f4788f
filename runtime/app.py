"""The app factory: routers, error handlers and the admission queue around a given :class:`Shard`."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

from fastapi import FastAPI

from observatory.runtime import (
    routes_admin,
    routes_faults,
    routes_inference,
    routes_lora,
    routes_openai,
    routes_probes,
    routes_search,
    routes_transfer,
)
from observatory.runtime.admission import Admission
from observatory.runtime.errors import install_error_handlers
from observatory.runtime.outcomes import Outcomes
from observatory.runtime.service import Shard, package_version


def create_app(shard: Shard) -> FastAPI:
    """A FastAPI app serving ``shard``; the model loads in the background once the app starts."""

    @contextlib.asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        loading = asyncio.create_task(shard.start())
        try:
            yield
        finally:
            await loading
            await shard.stop()

    app = FastAPI(title=f"Themis shard ({shard.settings.domain})", version=package_version(), lifespan=lifespan)
    app.state.shard = shard
    for module in (
        routes_inference,
        routes_openai,
        routes_search,
        routes_lora,
        routes_probes,
        routes_admin,
        routes_faults,
        routes_transfer,
    ):
        app.include_router(module.router)
    install_error_handlers(app)
    # The middleware added last runs first: Outcomes wraps Admission to see its 429 answers.
    app.add_middleware(Admission, queue=shard.queue)
    app.add_middleware(Outcomes, on_failure=shard.metrics.request_failed, on_client_left=shard.metrics.client_left)
    return app
