"""Admin pages: users and roles, and the audit log."""

from typing import Annotated

from fastapi import APIRouter, Depends, Form, HTTPException, Request, Response

from bot.console import scoping
from bot.console.pages import render
from bot.console.security import ADMIN, allow
from bot.history.accounts import ROLES, AccountError, Accounts, User, scope_of
from bot.history.audit import recent
from bot.history.tenancy import Scope

router = APIRouter(prefix="/admin")
Admin = Annotated[User, Depends(allow(*ADMIN))]


def _accounts(request: Request) -> Accounts:
    accounts: Accounts = request.app.state.accounts
    return accounts


async def _users_page(request: Request, user: User, error: str = "", status: int = 200,
                      typed: dict[str, str] | None = None) -> Response:
    """The users of the admin's tenants; a refused new user comes back as typed (no password)."""
    return render(request, "users.html", {
        "user": user, "roles": ROLES, "error": error, "typed": typed or {},
        "users": [other for other in await _accounts(request).users()
                  if user.scope.covers(other.scope)],
        "tenants": ", ".join(scoping.names(request))}, status)


def _tenants(request: Request, user: User, typed: str) -> Scope:
    """Read the tenants typed for a user: known ones, and only the admin's own."""
    scope = scope_of(typed, list(scoping.names(request)))
    if not user.scope.covers(scope):
        raise AccountError("an admin gives only their own tenants",
                           "Je kunt alleen je eigen gemeenten toekennen.")
    return scope


async def _reachable(request: Request, user: User, name: str) -> None:
    """Refuse a user of another tenant as one that does not exist."""
    other = await _accounts(request).named(name)
    if other is None or not user.scope.covers(other.scope):
        raise HTTPException(404, "Deze gebruiker bestaat niet.")


@router.get("/users")
async def users(request: Request, user: Admin) -> Response:
    """List the users with their roles and lock state."""
    return await _users_page(request, user)


@router.post("/users")
async def add_user(
    request: Request, user: Admin, name: Annotated[str, Form(max_length=64)],
    role: Annotated[str, Form()], password: Annotated[str, Form(max_length=1024)],
    tenants: Annotated[str, Form(max_length=1000)] = "",
) -> Response:
    """Create a user of some of the admin's tenants (by default all of them)."""
    try:
        await _accounts(request).add(name, role, password, actor=user.name,
                                     scope=_tenants(request, user, tenants or user.tenants))
    except AccountError as error:
        return await _users_page(request, user, error.dutch, status=400,
                                 typed={"name": name, "role": role, "tenants": tenants})
    return await _users_page(request, user)


@router.post("/users/{name}")
async def change_user(
    request: Request, name: str, user: Admin, role: Annotated[str, Form()] = "",
    active: Annotated[str, Form()] = "", tenants: Annotated[str, Form(max_length=1000)] = "",
) -> Response:
    """Change a user's role or tenants, (de)activate them, or unlock them (never oneself)."""
    await _reachable(request, user, name)
    try:
        await _accounts(request).change(
            name, user.name, role=role or None,
            active={"yes": True, "no": False}.get(active),
            scope=_tenants(request, user, tenants) if tenants else None)
    except AccountError as error:
        return await _users_page(request, user, error.dutch, status=400)
    return await _users_page(request, user)


@router.post("/users/{name}/display-name")
async def rename_user(
    request: Request, name: str, user: Admin,
    display_name: Annotated[str, Form(max_length=64)] = "",
) -> Response:
    """Set the name citizens see on a user's chat messages."""
    await _reachable(request, user, name)
    try:
        await _accounts(request).rename(name, display_name, actor=user.name)
    except AccountError as error:
        return await _users_page(request, user, error.dutch, status=400)
    return await _users_page(request, user)


@router.post("/users/{name}/password")
async def reset_password(
    request: Request, name: str, user: Admin, password: Annotated[str, Form(max_length=1024)],
) -> Response:
    """Give another user a new password to pass on; their sessions end."""
    await _reachable(request, user, name)
    try:
        if name == user.name:
            raise AccountError("change your own password under Wachtwoord wijzigen",
                               "Je eigen wachtwoord wijzig je onder Wachtwoord wijzigen.")
        await _accounts(request).set_password(name, password, actor=user.name)
    except AccountError as error:
        return await _users_page(request, user, error.dutch, status=400)
    return await _users_page(request, user)


@router.get("/audit")
async def audit(request: Request, user: Admin) -> Response:
    """Show the newest audit entries of the admin's tenants: views, exports, takeovers, users."""
    return render(request, "audit.html", {
        "user": user, "entries": await recent(request.app.state.history, user.scope)})
