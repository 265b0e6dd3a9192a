"""Staff pages: the live handoff queue, a chat's history, claim, reply, and hand back."""

import time
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, HTTPException, Request, Response
from fastapi.responses import RedirectResponse
from sqlalchemy import select

from bot.console.pages import render
from bot.console.security import STAFF, allow
from bot.handoff.cases import SqlCases
from bot.handoff.desk import HandoffDesk, Ticket
from bot.handoff.events import FromStaff
from bot.history.accounts import User
from bot.history.audit import record
from bot.history.log import Handoff, History
from bot.replies.municipality import Municipality

router = APIRouter(prefix="/staff")
Staff = Annotated[User, Depends(allow(*STAFF))]
MAX_REPLY = 4000


def agent(user: User) -> str:
    """Return the handoff agent id of a console user."""
    return f"console:{user.id}"


def _desk(request: Request) -> HandoffDesk:
    desk: HandoffDesk = request.app.state.desk
    return desk


def _history(request: Request) -> History:
    history: History = request.app.state.history
    return history


def _waiting(ticket: Ticket, now: float) -> dict[str, Any]:
    return {"chat": ticket.chat_id, "kind": ticket.kind, "language": ticket.language,
            "waited_s": round(now - ticket.queued_at)}


async def _active(history: History) -> list[dict[str, Any]]:
    query = (select(Handoff).where(Handoff.outcome == "open", Handoff.claimed_at.is_not(None))
             .order_by(Handoff.claimed_at))
    async with history.sessions() as session:
        rows = (await session.scalars(query)).all()
    return [{"chat": row.chat_id, "kind": row.kind, "language": row.language,
             "owner": row.agent_name or ""} for row in rows]


def _cases(request: Request) -> SqlCases:
    cases: SqlCases = request.app.state.cases
    return cases


@router.get("")
async def queue_page(request: Request, user: Staff) -> Response:
    """Show the queue (it updates itself every few seconds) and the open tasks."""
    tasks = await _cases(request).tasks()
    return render(request, "staff_queue.html", {
        "user": user, **await queue(request, user), "tasks": tasks,
        "numbers": await _desk(request).numbers(tasks)})


@router.get("/queue.json")
async def queue(request: Request, user: Staff) -> dict[str, Any]:
    """Return who waits (with how long), which chats staff have (with whom), the open tasks."""
    now = time.time()
    waiting = [_waiting(ticket, now) for ticket in await _desk(request).queue()]
    return {"waiting": waiting, "active": await _active(_history(request)),
            "tasks": [task.id for task in await _cases(request).tasks()]}


@router.post("/tasks/{task_id}/done")
async def finish_task(request: Request, task_id: int, user: Staff) -> Response:
    """Mark a non-live task (such as a payment arrangement request) as handled."""
    chat = await _cases(request).finish_task(task_id, user.name)
    if chat is None:
        raise HTTPException(404, "No open task with that number.")
    await _desk(request).drop_numbers(chat, [task_id])
    await record(_history(request), user.name, "task_done", str(task_id))
    return RedirectResponse("/staff", status_code=303)


@router.post("/tasks/{task_id}/reply")
async def answer_task(request: Request, task_id: int, user: Staff,
                      text: Annotated[str, Form(min_length=1, max_length=MAX_REPLY)]) -> Response:
    """Answer a message a citizen left out of hours, in their chat; the task is then done.

    The citizen reads it when they come back to the chat (web) or at once (Telegram).
    """
    chat = await _cases(request).finish_task(task_id, user.name)
    if chat is None:
        raise HTTPException(404, "No open task with that number.")
    await _desk(request).drop_numbers(chat, [task_id])
    await _desk(request).publish(FromStaff(chat, text.strip(), user.name, "console"))
    await record(_history(request), user.name, "task_answered", str(task_id))
    return RedirectResponse("/staff", status_code=303)


async def _messages(request: Request, chat_id: str, after: int) -> list[dict[str, Any]]:
    messages = await _history(request).conversation(chat_id)
    town: Municipality = request.app.state.town
    return [{"id": m.id, "direction": m.direction, "kind": m.kind, "text": m.text,
             "at": town.local(m.created_at).strftime("%H:%M")}
            for m in messages if m.id > after]


async def _state(request: Request, chat_id: str, user: User) -> dict[str, Any]:
    ticket = await _desk(request).ticket(chat_id)
    return {"mode": ticket.mode if ticket else "bot",
            "owner": ticket.agent_name if ticket else "",
            "kind": ticket.kind if ticket else "",
            "mine": bool(ticket and ticket.agent == agent(user))}


async def _handed_off(request: Request, chat_id: str) -> None:
    """Staff see only chats that came to the desk; the rest is for supervisors' transcripts."""
    query = select(Handoff.id).where(Handoff.chat_id == chat_id).limit(1)
    async with _history(request).sessions() as session:
        if await session.scalar(query) is None:
            raise HTTPException(404, "This chat never came to the staff desk.")


@router.get("/chats/{chat_id}")
async def chat_page(request: Request, chat_id: str, user: Staff) -> Response:
    """Show a chat's whole history, and what this user can do with it now."""
    await _handed_off(request, chat_id)
    await record(_history(request), user.name, "chat_opened", chat_id)
    return render(request, "staff_chat.html", {
        "user": user, "chat_id": chat_id, "messages": await _messages(request, chat_id, 0),
        **await _state(request, chat_id, user)})


@router.get("/chats/{chat_id}/messages.json")
async def chat_updates(request: Request, chat_id: str, user: Staff,
                       after: int = 0) -> dict[str, Any]:
    """Return the messages after `after` and the chat's handoff state."""
    await _handed_off(request, chat_id)
    return {"messages": await _messages(request, chat_id, after),
            **await _state(request, chat_id, user)}


def _back(chat_id: str) -> Response:
    return RedirectResponse(f"/staff/chats/{chat_id}", status_code=303)


@router.post("/chats/{chat_id}/claim")
async def claim(request: Request, chat_id: str, user: Staff) -> Response:
    """Take over a waiting chat; of two staff at once exactly one gets it."""
    won = await _desk(request).claim(chat_id, agent(user), user.name)
    await record(_history(request), user.name, "takeover" if won.won else "takeover_lost",
                 chat_id)
    return _back(chat_id)


@router.post("/chats/{chat_id}/reply")
async def reply(request: Request, chat_id: str, user: Staff,
                text: Annotated[str, Form(min_length=1, max_length=MAX_REPLY)]) -> Response:
    """Send the owner's message to the citizen."""
    if not await _desk(request).from_staff(chat_id, agent(user), text.strip(), "console"):
        raise HTTPException(409, "Claim this chat first: only its owner can write.")
    return _back(chat_id)


async def _owned(request: Request, chat_id: str, user: User) -> None:
    ticket = await _desk(request).ticket(chat_id)
    if ticket is None or ticket.mode != "with_staff" or ticket.agent != agent(user):
        await _desk(request).refuse(chat_id, user.name, "console")
        raise HTTPException(409, "Only the staff member who has this chat can do that.")


@router.post("/chats/{chat_id}/release")
async def release(request: Request, chat_id: str, user: Staff) -> Response:
    """Put the chat back in the queue for a colleague."""
    await _owned(request, chat_id, user)
    await _desk(request).release(chat_id, user.name)
    return _back(chat_id)


@router.post("/chats/{chat_id}/close")
async def close(request: Request, chat_id: str, user: Staff) -> Response:
    """Hand the chat back to Balie."""
    await _owned(request, chat_id, user)
    await _desk(request).close(chat_id, user.name)
    await record(_history(request), user.name, "handed_back", chat_id)
    return _back(chat_id)
