"""Health endpoints for any FastAPI app: /healthz, /readyz (Redis and database), /metrics."""

import asyncio
import logging
import secrets
from collections.abc import Awaitable, Callable

import redis.asyncio as redis
from fastapi import APIRouter, Depends, HTTPException, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, generate_latest
from prometheus_client.multiprocess import MultiProcessCollector
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.intake import inbox
from bot.ops import metrics

log = logging.getLogger(__name__)
CHECK_SECONDS = 2.0


def _registry(shared: bool) -> CollectorRegistry:
    """Return the registry to expose: every process's files when workers run as processes."""
    if not shared:
        return REGISTRY
    registry = CollectorRegistry()
    MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
    return registry


def _guard(token: str | None, exposed: bool) -> Callable[[Request], Awaitable[None]]:
    """Return a dependency that asks for `Authorization: Bearer <token>` when there is one.

    Without a token, a server listening beyond this machine (`exposed`) refuses.
    """

    async def check(request: Request) -> None:
        if token is None and not exposed:
            return
        if token is None:
            raise HTTPException(403, "set BALIE_HEALTH_TOKEN to read this from another machine")
        given = request.headers.get("authorization", "").encode()
        if not secrets.compare_digest(given, f"Bearer {token}".encode()):
            raise HTTPException(401, "wrong or missing health token",
                                headers={"WWW-Authenticate": "Bearer"})

    return check


def router(
    client: "redis.Redis", engine: AsyncEngine | None, shared_metrics: bool = False,
    token: str | None = None, exposed: bool = False,
) -> APIRouter:
    """Build the health router around the Redis client and the database engine.

    With `shared_metrics`, /metrics adds up the files of every process (`metrics_dir`).
    /readyz and /metrics need `token` when one is given, and are refused on an `exposed`
    server without one; /healthz (alive or not) is always open.
    """
    routes = APIRouter()
    guarded = [Depends(_guard(token, exposed))]

    async def problems() -> list[str]:
        found = []
        try:
            await asyncio.wait_for(client.ping(), CHECK_SECONDS)
        except Exception as error:
            found.append(f"redis: {type(error).__name__}")
        if engine is not None:
            try:
                async with asyncio.timeout(CHECK_SECONDS), engine.connect() as connection:
                    await connection.execute(text("SELECT 1"))
            except Exception as error:
                found.append(f"database: {type(error).__name__}")
        return found

    @routes.get("/healthz")
    async def healthz() -> dict[str, str]:
        """Say the process is alive."""
        return {"status": "ok"}

    @routes.get("/readyz", dependencies=guarded)
    async def readyz(response: Response) -> dict[str, object]:
        """Say whether Redis and the database answer; 503 when one does not."""
        found = await problems()
        if found:
            response.status_code = 503
            return {"status": "unready", "problems": found}
        return {"status": "ready"}

    @routes.get("/metrics", dependencies=guarded)
    async def metrics_page() -> Response:
        """Expose the Prometheus metrics, with the stream's length and lag read now."""
        try:
            stats = await asyncio.wait_for(inbox.stream_stats(client), CHECK_SECONDS)
            metrics.STREAM_LENGTH.set(stats["length"])
            metrics.STREAM_LAG.set(stats["lag"])
            metrics.STREAM_PENDING.set(stats["pending"])
        except Exception:
            log.warning("stream statistics unavailable")
        return Response(generate_latest(_registry(shared_metrics)), media_type=CONTENT_TYPE_LATEST)

    return routes
