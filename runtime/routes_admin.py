"""GET /metrics and POST /admin/shutdown (bearer token from config)."""

from __future__ import annotations

import hmac

from fastapi import APIRouter, Header
from fastapi.responses import Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from observatory.runtime.deps import ShardDep
from observatory.runtime.errors import ShardError
from observatory.runtime.json_body import JsonBodyRoute
from observatory.runtime.service import Shard

router = APIRouter(tags=["admin"], route_class=JsonBodyRoute)


@router.get("/metrics", response_class=Response)
async def metrics(shard: ShardDep) -> Response:
    """The shard's catalogue metrics in the Prometheus text format."""
    shard.refresh_health()
    return Response(generate_latest(shard.metrics.registry), media_type=CONTENT_TYPE_LATEST)


def require_admin(shard: Shard, authorization: str | None) -> None:
    """Refuse unless ``authorization`` is ``Bearer <admin_token>``; 403 when no token is configured."""
    token = shard.settings.admin_token
    if token is None:
        raise ShardError(403, "admin endpoints are disabled: no admin_token is configured", "authorization")
    scheme, _, given = (authorization or "").partition(" ")
    if scheme.lower() != "bearer" or not hmac.compare_digest(given.encode(), token.encode()):
        raise ShardError(401, "a valid bearer token is required", "authorization")


@router.post("/admin/shutdown", status_code=202, responses={401: {}, 403: {}})
async def shutdown(shard: ShardDep, authorization: str | None = Header(None)) -> dict:
    """Stop the shard gracefully; needs ``Authorization: Bearer <admin_token>``."""
    require_admin(shard, authorization)
    shard.request_shutdown()
    return {"status": "shutting down"}
