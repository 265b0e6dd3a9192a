"""Console sessions kept in Redis: the cookie holds only a random id, so a session can end."""

import hashlib
import json
import secrets
import time
from typing import Any

import redis.asyncio as redis
from starlette.datastructures import MutableHeaders
from starlette.requests import HTTPConnection
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from bot.state import keys

COOKIE = "balie_session"
IDENTITY = ("user", "csrf")


def _key(sid: str) -> str:
    # Redis holds the digest, so its contents cannot be replayed as cookies.
    return keys.console_session(hashlib.sha256(sid.encode()).hexdigest())


class Sessions:
    """Session data by id, ending after `idle` seconds unused or `lifetime` seconds at most."""

    def __init__(self, client: "redis.Redis", lifetime: int, idle: int) -> None:
        self.client = client
        self.lifetime = lifetime
        self.idle = idle

    async def load(self, sid: str) -> tuple[dict[str, Any], float] | None:
        """Return a live session's data and when it started, or None."""
        raw = await self.client.get(_key(sid))
        if raw is None:
            return None
        stored = json.loads(raw)
        started = float(stored["started"])
        return (dict(stored["data"]), started) if self._ttl(started) > 0 else None

    async def create(self, data: dict[str, Any]) -> str:
        """Store a new session; return its id."""
        sid = secrets.token_urlsafe(32)
        await self.client.set(_key(sid), self._value(data, time.time()), ex=self.idle)
        user = data.get("user")
        if isinstance(user, int):
            async with self.client.pipeline(transaction=True) as pipe:
                pipe.sadd(keys.user_sessions(user), _key(sid))
                pipe.expire(keys.user_sessions(user), self.lifetime)
                await pipe.execute()
        return sid

    async def update(self, sid: str, data: dict[str, Any], started: float) -> bool:
        """Store a session's new data, only while it exists: a revoked one stays revoked."""
        ttl = self._ttl(started)
        return ttl > 0 and bool(await self.client.set(
            _key(sid), self._value(data, started), ex=ttl, xx=True))

    async def touch(self, sid: str, started: float) -> None:
        """Keep an unchanged session for another idle period (within its lifetime)."""
        await self.client.expire(_key(sid), max(1, self._ttl(started)))

    async def drop(self, sid: str, data: dict[str, Any]) -> None:
        """End one session (logging out)."""
        user = data.get("user")
        async with self.client.pipeline(transaction=True) as pipe:
            pipe.delete(_key(sid))
            if isinstance(user, int):
                pipe.srem(keys.user_sessions(user), _key(sid))
            await pipe.execute()

    async def revoke(self, user_id: int) -> None:
        """End every session of a user (deactivated, new role, new password)."""
        index = keys.user_sessions(user_id)
        found = await self.client.smembers(index)
        await self.client.delete(index, *found)

    @staticmethod
    def _value(data: dict[str, Any], started: float) -> str:
        return json.dumps({"data": data, "started": started})

    def _ttl(self, started: float) -> int:
        return int(min(self.idle, started + self.lifetime - time.time()))


class SessionMiddleware:
    """Give each request `request.session` from Redis, and store what the route left in it."""

    def __init__(self, app: ASGIApp, secure: bool) -> None:
        self.app = app
        self.secure = secure

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Load the session before the route, store it when the response starts."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        sessions: Sessions = scope["app"].state.sessions
        sent = HTTPConnection(scope).cookies.get(COOKIE) or None
        loaded = await sessions.load(sent) if sent else None
        before, started = loaded or ({}, 0.0)
        scope["session"] = dict(before)

        async def start(message: Message) -> None:
            if message["type"] == "http.response.start":
                cookie = await self._settle(sessions, sent if loaded else None, bool(sent),
                                            before, scope["session"], started)
                if cookie is not None:
                    MutableHeaders(scope=message).append("set-cookie", self._cookie(cookie))
            await send(message)

        await self.app(scope, receive, start)

    @staticmethod
    async def _settle(sessions: Sessions, sid: str | None, sent: bool, before: dict[str, Any],
                      after: dict[str, Any], started: float) -> str | None:
        """Store the session's changes; return the cookie's new value ("" removes it), or None.

        A session whose user or CSRF token changes (a login) gets a new id: no fixation.
        """
        if sid is not None:
            if after == before:
                await sessions.touch(sid, started)
                return None
            if after and all(after.get(name) == before.get(name) for name in IDENTITY):
                return None if await sessions.update(sid, after, started) else ""
            await sessions.drop(sid, before)
        if not after:
            return "" if sent else None
        return await sessions.create(after)

    def _cookie(self, sid: str) -> str:
        """Return the Set-Cookie value for a session id, or one that removes the cookie."""
        end = "" if sid else "; Max-Age=0"
        secure = "; Secure" if self.secure else ""
        return f"{COOKIE}={sid}; Path=/; HttpOnly; SameSite=Strict{secure}{end}"
