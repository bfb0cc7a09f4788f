"""The app factory: routers and error handlers around a given :class:`Orchestrator` and task runner."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import Protocol

from fastapi import FastAPI

from observatory.orchestrator import (
    routes_documents,
    routes_inference,
    routes_openai,
    routes_probes,
    routes_reasoning,
    routes_tasks,
)
from observatory.orchestrator.service import Orchestrator
from observatory.orchestrator.upload_limit import UploadLimit
from observatory.runtime.errors import install_error_handlers
from observatory.runtime.service import package_version


class Runner(Protocol):
    """Runs queued tasks in the background (``observatory.orchestrator.durable.TaskRunner``)."""

    async def start(self) -> None: ...

    async def stop(self) -> None: ...


def create_app(orchestrator: Orchestrator, runner: Runner | None = None) -> FastAPI:
    """A FastAPI app serving ``orchestrator``; ``runner`` (if any) runs tasks while the app runs."""

    @contextlib.asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        if runner is not None:
            await runner.start()
        try:
            yield
        finally:
            if runner is not None:
                await runner.stop()
            await orchestrator.close()

    app = FastAPI(title="Themis orchestrator", version=package_version(), lifespan=lifespan)
    app.state.orchestrator = orchestrator
    for module in (routes_inference, routes_openai, routes_documents, routes_reasoning, routes_tasks, routes_probes):
        app.include_router(module.router)
    install_error_handlers(app)
    app.add_middleware(UploadLimit, path=routes_documents.UPLOAD_PATH, max_bytes=orchestrator.settings.max_upload_bytes)
    return app
