"""Dependencies the routers declare: the orchestrator the app factory was given."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from observatory.orchestrator.service import Orchestrator


def get_orchestrator(request: Request) -> Orchestrator:
    """The orchestrator this app serves."""
    return request.app.state.orchestrator


OrchestratorDep = Annotated[Orchestrator, Depends(get_orchestrator)]
