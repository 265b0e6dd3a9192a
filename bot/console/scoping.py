"""Tenants on the console: which chats a user may reach, and the municipalities' names shown.

A chat of a tenant the user does not work for is answered 404, as a chat that does not exist:
its existence is not told either.
"""

from fastapi import HTTPException, Request
from sqlalchemy import select

from bot.history.accounts import User
from bot.history.log import Handoff, History, Message
from bot.history.tenancy import ALL

EVERY_TENANT = "Alle gemeenten"


def names(request: Request) -> dict[str, str]:
    """Return the deployment's tenants, key to name, in their order."""
    found: dict[str, str] = request.app.state.tenant_names
    return found


def several(request: Request, user: User) -> bool:
    """Tell whether the user works for more than one tenant (their pages then name them)."""
    tenants = user.scope.tenants
    return len(names(request)) > 1 if tenants is None else len(tenants) > 1


def title(known: dict[str, str], tenant: str) -> str:
    """Return a tenant's name among the known ones ("Alle gemeenten" for the collaboration)."""
    return EVERY_TENANT if tenant == ALL else known.get(tenant, tenant)


def name(request: Request, tenant: str) -> str:
    """Return a tenant's name as the console shows it."""
    return title(names(request), tenant)


def choices(request: Request, user: User) -> list[tuple[str, str]]:
    """Return what the user may publish for: their tenants, and everyone when they are all's."""
    own = [(key, title) for key, title in names(request).items() if user.scope.allows(key)]
    return [(ALL, EVERY_TENANT), *own] if user.scope.everything and len(own) > 1 else own


def chosen(request: Request, user: User, typed: str) -> str | None:
    """Return the tenant a form is for: one of the user's choices (their only one by default)."""
    keys = [key for key, _ in choices(request, user)]
    if not typed and len(keys) == 1:
        return keys[0]
    return typed if typed in keys else None


async def _tenant_of(history: History, table: type[Handoff] | type[Message], chat_id: str,
                     user: User, missing: str) -> str:
    """Return the latest tenant of a chat's rows in a table, if it is the user's; else 404."""
    query = (select(table.tenant).where(table.chat_id == chat_id, user.scope.where(table.tenant))
             .order_by(table.id.desc()).limit(1))
    async with history.sessions() as session:
        tenant = await session.scalar(query)
    if tenant is None:
        raise HTTPException(404, missing)
    return tenant


async def handed_off(history: History, chat_id: str, user: User) -> str:
    """Return the tenant of a chat that came to the desk, if it is the user's; else 404."""
    return await _tenant_of(history, Handoff, chat_id, user,
                            "Deze chat is nooit bij de medewerkers gekomen.")


async def logged(history: History, chat_id: str, user: User) -> str:
    """Return the tenant of a chat in the log, if it is the user's; else 404."""
    await history.settle()
    return await _tenant_of(history, Message, chat_id, user, "Deze chat staat niet in het log.")
