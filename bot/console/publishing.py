"""Supervisors publish announcements that Balie adds to its answers on a topic."""

from datetime import UTC, date, datetime, time, timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request, Response

from bot.console.pages import render
from bot.console.security import SUPERVISOR, allow
from bot.history.accounts import User
from bot.history.audit import record
from bot.listening.announcements import Newsroom

router = APIRouter(prefix="/supervisor/announcements")
Supervisor = Annotated[User, Depends(allow(*SUPERVISOR))]
MAX_TEXT = 1000


def _newsroom(request: Request) -> Newsroom:
    newsroom: Newsroom = request.app.state.newsroom
    return newsroom


async def _page(request: Request, user: User, error: str = "", status: int = 200) -> Response:
    newsroom = _newsroom(request)
    today = datetime.now(UTC).date()
    return render(request, "announcements.html", {
        "user": user, "announcements": await newsroom.upcoming(), "error": error,
        "topics": newsroom.topics, "today": today, "until": today + timedelta(days=14)}, status)


@router.get("")
async def announcements(request: Request, user: Supervisor) -> Response:
    """List the current and coming announcements, with a form for a new one."""
    return await _page(request, user)


@router.post("")
async def announce(
    request: Request, user: Supervisor,
    text_nl: Annotated[str, Form(min_length=1, max_length=MAX_TEXT)],
    text_en: Annotated[str, Form(min_length=1, max_length=MAX_TEXT)],
    valid_from: Annotated[date, Form()], valid_until: Annotated[date, Form()],
    topic: Annotated[str, Form()] = "", inline: Annotated[str, Form()] = "",
) -> Response:
    """Publish an announcement from the start of one day to the end of another (UTC)."""
    start = datetime.combine(valid_from, time(), UTC)
    end = datetime.combine(valid_until + timedelta(days=1), time(), UTC)
    try:
        created = await _newsroom(request).announce(
            text_nl.strip(), text_en.strip(), start, end, topic or None, inline=bool(inline),
            created_by=user.name)
    except ValueError as error:
        return await _page(request, user, str(error), 400)
    await record(request.app.state.history, user.name, "announce", str(created.id))
    return await _page(request, user)
