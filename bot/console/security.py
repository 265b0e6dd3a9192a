"""Console access: who is logged in, which roles may open a page, CSRF, login throttling."""

import secrets
from collections.abc import Awaitable, Callable

import redis.asyncio as redis
from fastapi import HTTPException, Request

from bot.history.accounts import ROLES, STAFF_ROLES, Accounts, User
from bot.state import keys
from bot.state.store import Lua

ROLE_HOME = {"staff": "/staff", "supervisor": "/supervisor", "admin": "/admin/users"}
STAFF = STAFF_ROLES
SUPERVISOR = ("supervisor",)
ADMIN = ("admin",)
ANYONE = ROLES
CSRF_HEADER = "x-csrf-token"
_GIVE_BACK = Lua(
    "if redis.call('exists', KEYS[1]) == 1 then return redis.call('decr', KEYS[1]) end")


class NotLoggedIn(Exception):
    """The request needs a logged-in user and has none."""


def csrf_token(request: Request) -> str:
    """Return the session's CSRF token, making one on first use."""
    token = request.session.get("csrf")
    if not isinstance(token, str):
        token = secrets.token_urlsafe(32)
        request.session["csrf"] = token
    return token


async def check_csrf(request: Request) -> None:
    """Refuse a state-changing request without the session's CSRF token (form or header)."""
    if request.method in {"GET", "HEAD", "OPTIONS"}:
        return
    sent = request.headers.get(CSRF_HEADER)
    if sent is None and "form" in request.headers.get("content-type", ""):
        sent = str((await request.form()).get("csrf") or "")
    expected = request.session.get("csrf")
    if not sent or not isinstance(expected, str) or not secrets.compare_digest(sent, expected):
        raise HTTPException(403, "CSRF token missing or wrong; reload the page and try again")


def source(request: Request) -> str:
    """Return the client's address (from X-Forwarded-For only behind a trusted proxy)."""
    return request.client.host if request.client else "unknown"


class Throttle:
    """Failed logins per client address, in Redis: past `limit` no password is checked.

    An attempt counts before its check and is given back when it succeeds, so attempts
    sent at once cannot slip past the limit. The count ends `window` seconds after the
    first failure.
    """

    def __init__(self, client: "redis.Redis", limit: int, window: int) -> None:
        self.client = client
        self.limit = limit
        self.window = window

    async def take(self, address: str) -> bool:
        """Count an attempt from this address; return False if it is over the limit."""
        key = keys.failed_logins(address)
        async with self.client.pipeline(transaction=True) as pipe:
            pipe.set(key, 0, ex=self.window, nx=True)
            pipe.incr(key)
            _, attempts = await pipe.execute()
        return int(attempts) <= self.limit

    async def give_back(self, address: str) -> None:
        """Uncount an attempt that succeeded (unless its count has ended meanwhile)."""
        await _GIVE_BACK(self.client, [keys.failed_logins(address)], [])


def log_in(request: Request, user: User) -> None:
    """Start a fresh session for a user (a new id and CSRF token: no session fixation)."""
    request.session.clear()
    request.session["user"] = user.id
    csrf_token(request)


def allow(*roles: str) -> Callable[[Request], Awaitable[User]]:
    """Return a dependency that yields the logged-in user if their role is one of `roles`."""

    async def current(request: Request) -> User:
        user_id = request.session.get("user")
        accounts: Accounts = request.app.state.accounts
        user = await accounts.get(user_id) if isinstance(user_id, int) else None
        if user is None:
            request.session.clear()
            raise NotLoggedIn
        if user.role not in roles:
            raise HTTPException(403, "Your role may not open this page")
        request.state.user = user
        return user

    return current
