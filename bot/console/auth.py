"""Logging in and out of the console."""

from typing import Annotated

from fastapi import APIRouter, Form, Request, Response
from fastapi.responses import RedirectResponse

from bot.console.pages import render
from bot.console.security import ROLE_HOME, log_in
from bot.history.accounts import Accounts
from bot.history.audit import record

router = APIRouter()


def _source(request: Request) -> str:
    return request.client.host if request.client else "unknown"


@router.get("/")
async def home(request: Request) -> Response:
    """Send a logged-in user to their role's first page, anybody else to the login page."""
    user_id = request.session.get("user")
    accounts: Accounts = request.app.state.accounts
    user = await accounts.get(user_id) if isinstance(user_id, int) else None
    return RedirectResponse(ROLE_HOME[user.role] if user else "/login", status_code=303)


@router.get("/login")
async def login_page(request: Request) -> Response:
    """Show the login form."""
    return render(request, "login.html", {"failed": False})


@router.post("/login")
async def login(
    request: Request, name: Annotated[str, Form(max_length=64)],
    password: Annotated[str, Form(max_length=1024)],
) -> Response:
    """Check the password; the same answer for a wrong password and a locked account."""
    accounts: Accounts = request.app.state.accounts
    attempt = await accounts.login(name, password, _source(request))
    if attempt.user is None:
        return render(
            request, "login.html", {"failed": True}, 401)
    log_in(request, attempt.user)
    return RedirectResponse(ROLE_HOME[attempt.user.role], status_code=303)


@router.post("/logout")
async def logout(request: Request) -> Response:
    """End the session."""
    user_id = request.session.get("user")
    if isinstance(user_id, int):
        user = await request.app.state.accounts.get(user_id)
        if user:
            await record(request.app.state.history, f"{user.name}@{_source(request)}",
                         "logout")
    request.session.clear()
    return RedirectResponse("/login", status_code=303)
