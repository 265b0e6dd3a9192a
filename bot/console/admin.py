"""Admin pages: users and roles, and the audit log."""

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request, Response

from bot.console.pages import render
from bot.console.security import ADMIN, allow
from bot.history.accounts import ROLES, AccountError, Accounts, User
from bot.history.audit import recent

router = APIRouter(prefix="/admin")
Admin = Annotated[User, Depends(allow(*ADMIN))]


def _accounts(request: Request) -> Accounts:
    accounts: Accounts = request.app.state.accounts
    return accounts


async def _users_page(request: Request, user: User, error: str = "", status: int = 200,
                      typed: dict[str, str] | None = None) -> Response:
    """The users page; a refused new user's name and role come back as typed (no password)."""
    return render(request, "users.html", {
        "user": user, "users": await _accounts(request).users(), "roles": ROLES,
        "error": error, "typed": typed or {}}, status)


@router.get("/users")
async def users(request: Request, user: Admin) -> Response:
    """List the users with their roles and lock state."""
    return await _users_page(request, user)


@router.post("/users")
async def add_user(
    request: Request, user: Admin, name: Annotated[str, Form(max_length=64)],
    role: Annotated[str, Form()], password: Annotated[str, Form(max_length=1024)],
) -> Response:
    """Create a user."""
    try:
        await _accounts(request).add(name, role, password, actor=user.name)
    except AccountError as error:
        return await _users_page(request, user, error.dutch, status=400,
                                 typed={"name": name, "role": role})
    return await _users_page(request, user)


@router.post("/users/{name}")
async def change_user(
    request: Request, name: str, user: Admin, role: Annotated[str, Form()] = "",
    active: Annotated[str, Form()] = "",
) -> Response:
    """Change a user's role, (de)activate them, or unlock them (never oneself)."""
    try:
        await _accounts(request).change(
            name, user.name, role=role or None,
            active={"yes": True, "no": False}.get(active))
    except AccountError as error:
        return await _users_page(request, user, error.dutch, status=400)
    return await _users_page(request, user)


@router.post("/users/{name}/display-name")
async def rename_user(
    request: Request, name: str, user: Admin,
    display_name: Annotated[str, Form(max_length=64)] = "",
) -> Response:
    """Set the name citizens see on a user's chat messages."""
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
    """Show the newest audit entries: logins, views, exports, takeovers, user changes."""
    return render(request, "audit.html", {
        "user": user, "entries": await recent(request.app.state.history)})
