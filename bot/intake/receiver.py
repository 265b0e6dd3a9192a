"""Intake: Telegram updates (webhook or polling) go to Redis before they are acknowledged.

The webhook answers 200 only after the update is in Redis, and 503 when Redis is away, so
Telegram delivers it again. The poller moves the getUpdates offset past an update only after
it is in Redis.
"""

import asyncio
import json
import logging
import secrets
from typing import Any

import httpx
import redis.asyncio as redis
from fastapi import APIRouter, FastAPI, Request, Response
from redis.exceptions import RedisError
from telegram import Update

from bot.history.masking import mask
from bot.intake import inbox
from bot.ops import metrics
from bot.settings import Settings

log = logging.getLogger(__name__)

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
POLL_TIMEOUT = 10
BACKOFF_CAP = 2.0


def _refuse(status: int, reason: str, **fields: object) -> Response:
    metrics.REFUSED.labels(str(status)).inc()
    log.warning("webhook request refused", extra={"status": status, "reason": reason, **fields})
    return Response(status_code=status)


def _update_from(body: bytes) -> dict[str, Any] | None:
    try:
        update = json.loads(body)
    except ValueError:
        return None
    if not isinstance(update, dict) or not isinstance(update.get("update_id"), int):
        return None
    return update


def webhook_router(settings: Settings, client: "redis.Redis", path: str) -> APIRouter:
    """Build the router that receives Telegram's webhook POSTs at `path`."""
    routes = APIRouter()
    secret = settings.webhook_secret.get_secret_value() if settings.webhook_secret else None
    limit = settings.webhook_max_bytes

    @routes.post(path)
    async def webhook(request: Request) -> Response:
        """Check the secret, size and JSON of an update, then store it; 200 only once stored.

        Without a configured secret nothing is accepted (`balie run` does not start so).
        """
        given = request.headers.get(SECRET_HEADER)
        if given is None or secret is None:
            return _refuse(401, "no secret")
        if not secrets.compare_digest(given.encode(), secret.encode()):
            return _refuse(403, "wrong secret")
        declared = request.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > limit:
            return _refuse(413, "too large", bytes=int(declared))
        body = bytearray()
        async for chunk in request.stream():
            body += chunk
            if len(body) > limit:
                return _refuse(413, "too large", bytes=len(body))
        update = _update_from(bytes(body))
        if update is None:
            start = mask(bytes(body[:120]).decode(errors="replace"))
            return _refuse(400, "malformed update", bytes=len(body), start=start)
        try:
            await inbox.append(client, [update], settings.stream_maxlen,
                               settings.stream_max_age_seconds)
        except (RedisError, OSError) as error:
            log.error("update not stored; Telegram will retry", extra={
                "update": update["update_id"], "error": type(error).__name__})
            return Response(status_code=503)
        metrics.UPDATES.inc()
        return Response(status_code=200)

    return routes


def create_app(*routers: APIRouter) -> FastAPI:
    """Build the intake's ASGI app from routers (webhook, health, later the console)."""
    app = FastAPI(docs_url=None, redoc_url=None, openapi_url=None)
    for routes in routers:
        app.include_router(routes)
    return app


def _api(settings: Settings) -> str:
    assert settings.telegram_token is not None
    return f"{settings.telegram_base_url}{settings.telegram_token.get_secret_value()}/"


async def set_webhook(settings: Settings, http: httpx.AsyncClient) -> None:
    """Tell Telegram where to deliver updates, with the secret it must send along."""
    params: dict[str, Any] = {"url": settings.webhook_url, "allowed_updates": Update.ALL_TYPES}
    if settings.webhook_secret:
        params["secret_token"] = settings.webhook_secret.get_secret_value()
    response = await http.post(_api(settings) + "setWebhook", json=params)
    response.raise_for_status()


async def poll(settings: Settings, client: "redis.Redis", http: httpx.AsyncClient) -> None:
    """Long-poll getUpdates until cancelled; the offset passes an update once it is stored."""
    api = _api(settings)
    (await http.post(api + "deleteWebhook")).raise_for_status()
    offset: int | None = None
    backoff = 0.1
    while True:
        try:
            params: dict[str, Any] = {"timeout": POLL_TIMEOUT, "allowed_updates": Update.ALL_TYPES}
            if offset is not None:
                params["offset"] = offset
            response = await http.post(api + "getUpdates", json=params, timeout=POLL_TIMEOUT + 10)
            updates: list[dict[str, Any]] = response.json().get("result") or []
        except (httpx.HTTPError, ValueError) as error:
            log.warning("getUpdates failed", extra={"error": type(error).__name__})
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, BACKOFF_CAP)
            continue
        while updates:
            try:
                await inbox.append(client, updates, settings.stream_maxlen,
                                   settings.stream_max_age_seconds)
            except (RedisError, OSError) as error:
                log.error("updates not stored; offset kept", extra={
                    "count": len(updates), "error": type(error).__name__})
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, BACKOFF_CAP)
                continue
            metrics.UPDATES.inc(len(updates))
            offset = max(update["update_id"] for update in updates) + 1
            break
        backoff = 0.1
