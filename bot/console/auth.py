"""Logging in and out of the console, and changing one's own password."""

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request, Response
from fastapi.responses import RedirectResponse

from bot.console.pages import render
from bot.console.security import ANYONE, ROLE_HOME, STAFF, Throttle, allow, log_in, source
from bot.history.accounts import AccountError, Accounts, User
from bot.history.audit import record

router = APIRouter()
Anyone = Annotated[User, Depends(allow(*ANYONE))]
Password = Annotated[str, Form(max_length=1024)]


@router.get("/")
async def home(request: Request) -> Response:
    """Send a logged-in user to their role's first page, anybody else to the login page."""
    user_id = request.session.get("user")
    accounts: Accounts = request.app.state.accounts
    user = await accounts.get(user_id) if isinstance(user_id, int) else None
    return RedirectResponse(ROLE_HOME[user.role] if user else "/login", status_code=303)


def _after_login(user: User, wanted: str) -> str:
    """Return where a login goes: back to the staff page it came from, or the role's home."""
    back = wanted.startswith("/staff") and "//" not in wanted and user.role in STAFF
    return wanted if back else ROLE_HOME[user.role]


@router.get("/login")
async def login_page(request: Request, next: str = "") -> Response:
    """Show the login form (`next`: the staff page to go back to, as after an expired session)."""
    return render(request, "login.html", {"failed": False, "next": next[:300]})


@router.post("/login")
async def login(
    request: Request, name: Annotated[str, Form(max_length=64)], password: Password,
    next: Annotated[str, Form(max_length=300)] = "",
) -> Response:
    """Check the password; the same answer for a wrong password and a locked account.

    An address with too many failed logins gets no password check until its count ends.
    """
    throttle: Throttle = request.app.state.throttle
    address = source(request)
    if not await throttle.take(address):
        return render(request, "login.html", {"failed": True, "throttled": True, "next": next},
                      429)
    accounts: Accounts = request.app.state.accounts
    attempt = await accounts.login(name, password, address)
    if attempt.user is None:
        return render(request, "login.html", {"failed": True, "next": next}, 401)
    await throttle.give_back(address)
    log_in(request, attempt.user)
    return RedirectResponse(_after_login(attempt.user, next), status_code=303)


@router.post("/logout")
async def logout(request: Request) -> Response:
    """End the session (in Redis too: a copy of its cookie no longer works)."""
    user_id = request.session.get("user")
    if isinstance(user_id, int):
        user = await request.app.state.accounts.get(user_id)
        if user:
            await record(request.app.state.history, f"{user.name}@{source(request)}",
                         "logout")
    request.session.clear()
    return RedirectResponse("/login", status_code=303)


@router.get("/account/password")
async def password_page(request: Request, user: Anyone) -> Response:
    """Show the form to change one's own password."""
    return render(request, "password.html", {"user": user})


@router.post("/account/password")
async def change_password(
    request: Request, user: Anyone, current: Password, new: Password, repeat: Password,
) -> Response:
    """Change one's own password; the user's other sessions end, this one starts anew."""
    accounts: Accounts = request.app.state.accounts
    error = ""
    if new != repeat:
        error = "De twee nieuwe wachtwoorden zijn niet gelijk."
    elif (await accounts.check(user.name, current, source(request))).user is None:
        error = "Je huidige wachtwoord klopt niet."
    else:
        try:
            await accounts.set_password(user.name, new, actor=user.name)
        except AccountError as refused:
            error = refused.dutch
    if error:
        return render(request, "password.html", {"user": user, "error": error}, 400)
    log_in(request, user)
    return render(request, "password.html", {"user": user, "changed": True})
