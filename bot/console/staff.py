"""Staff pages: the live queue, a chat's history, claim, reply, notes, assign, and hand back."""

import time
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, HTTPException, Request, Response
from fastapi.responses import JSONResponse, RedirectResponse, StreamingResponse

from bot.console import inbox, scoping
from bot.console.pages import render
from bot.console.security import STAFF, allow
from bot.console.sessions import COOKIE, Sessions
from bot.handoff import notes
from bot.handoff.cases import SqlCases
from bot.handoff.desk import HandoffDesk
from bot.handoff.events import FromStaff
from bot.history.accounts import Accounts, User
from bot.history.audit import record
from bot.history.log import Handoff, History
from bot.replies.canned import Canned
from bot.replies.labels import Labels
from bot.types import as_language

router = APIRouter(prefix="/staff")
Staff = Annotated[User, Depends(allow(*STAFF))]
Text = Annotated[str, Form(min_length=1, max_length=4000)]
KEPT = " Je tekst staat nog in het vak."


def agent(user: User) -> str:
    """Return the handoff agent id of a console user."""
    return f"console:{user.id}"


def _desk(request: Request) -> HandoffDesk:
    desk: HandoffDesk = request.app.state.desk
    return desk


def _history(request: Request) -> History:
    history: History = request.app.state.history
    return history


def _cases(request: Request) -> SqlCases:
    cases: SqlCases = request.app.state.cases
    return cases


def _labels(request: Request) -> Labels:
    labels: Labels = request.app.state.labels
    return labels


def _wants_json(request: Request) -> bool:
    return "application/json" in request.headers.get("accept", "")


@router.get("")
async def queue_page(request: Request, user: Staff) -> Response:
    """Show the queue (it updates itself), the user's own chats and the open tasks."""
    tasks = await _cases(request).tasks(user.scope)
    return render(request, "staff_queue.html", {
        "user": user, **await queue(request, user), "tasks": tasks,
        "numbers": await _desk(request).numbers(tasks),
        "several": scoping.several(request, user)})


@router.get("/queue.json")
async def queue(request: Request, user: Staff) -> dict[str, Any]:
    """Return who waits (in words, with how long), the user's chats, colleagues' chats, tasks."""
    now = time.time()
    tickets = await _desk(request).queue(user.scope)
    cases = await inbox.open_cases(_history(request), user.scope)
    described = {row["chat"]: row for row in await _about(request, user, cases)}
    waiting = []
    for ticket in tickets:
        row = described.get(ticket.chat_id)
        if row:  # the wait in minutes: the stream sends a queue again only when it changed
            waited = now - ticket.queued_at
            waiting.append({**row, "wait": inbox.wait_text(waited)})
    queued = {ticket.chat_id for ticket in tickets}
    taken = [row for row in described.values() if row["chat"] not in queued and row["agent"]]
    mine = [row for row in taken if row["agent"] == agent(user)]
    return {"waiting": waiting, "mine": mine,
            "active": [row for row in taken if row["agent"] != agent(user)],
            "tasks": [task.id for task in await _cases(request).tasks(user.scope)]}


async def _about(request: Request, user: User, cases: list[Handoff]) -> list[dict[str, Any]]:
    """Describe handoffs in words, with their municipality when the user has several."""
    rows = await inbox.about(_history(request), _labels(request), cases)
    if scoping.several(request, user):
        for row, case in zip(rows, cases, strict=True):
            row["municipality"] = scoping.name(request, case.tenant)
    return rows


@router.get("/events")
async def live(request: Request, user: Staff, chat: str = "", after: int = 0) -> Response:
    """Stream the queue (and one chat) as server-sent events while the session lasts."""
    if chat:
        await scoping.handed_off(_history(request), chat, user)
    sessions: Sessions = request.app.state.sessions
    sid = request.cookies.get(COOKIE, "")
    seen = {"after": after}

    async def alive() -> bool:
        return await sessions.load(sid) is not None

    async def chat_now() -> dict[str, Any]:
        update = await chat_updates(request, chat, user, seen["after"])
        if update["messages"]:
            seen["after"] = update["messages"][-1]["id"]
        return update

    snapshots: dict[str, inbox.Snapshot] = {"queue": lambda: queue(request, user)}
    if chat:
        snapshots["chat"] = chat_now
    once = "text/event-stream" not in request.headers.get("accept", "")
    return StreamingResponse(
        inbox.stream(_desk(request).client, alive, snapshots, once),
        media_type="text/event-stream", headers={"X-Accel-Buffering": "no"})


@router.post("/tasks/{task_id}/done")
async def finish_task(request: Request, task_id: int, user: Staff) -> Response:
    """Mark a non-live task (such as a payment arrangement request) as handled."""
    chat = await _cases(request).finish_task(task_id, user.name, user.scope)
    if chat is None:
        raise HTTPException(404, "Er is geen open taak met dat nummer.")
    await _desk(request).drop_numbers(chat, [task_id])
    await record(_history(request), user.name, "task_done", str(task_id),
                 await scoping.handed_off(_history(request), chat, user))
    return RedirectResponse("/staff", status_code=303)


@router.post("/tasks/{task_id}/reply")
async def answer_task(request: Request, task_id: int, user: Staff, text: Text) -> Response:
    """Answer a message a citizen left out of hours, in their chat; the task is then done.

    The citizen reads it when they come back to the chat (web) or at once (Telegram).
    """
    chat = await _cases(request).finish_task(task_id, user.name, user.scope)
    if chat is None:
        raise HTTPException(404, "Er is geen open taak met dat nummer.")
    await _desk(request).drop_numbers(chat, [task_id])
    await _desk(request).publish(FromStaff(chat, text.strip(), user.name, "console"))
    await record(_history(request), user.name, "task_answered", str(task_id),
                 await scoping.handed_off(_history(request), chat, user))
    return RedirectResponse("/staff", status_code=303)


async def _messages(request: Request, chat_id: str, after: int) -> list[dict[str, Any]]:
    return await inbox.transcript(_history(request), request.app.state.town, chat_id, after)


async def _notes(request: Request, chat_id: str) -> list[dict[str, str]]:
    return await inbox.notes_of(_history(request), request.app.state.town, chat_id)


async def _state(request: Request, chat_id: str, user: User) -> dict[str, Any]:
    ticket = await _desk(request).ticket(chat_id)
    mode = ticket.mode if ticket else "bot"
    owner = ticket.agent_name if ticket else ""
    mine = bool(ticket and ticket.agent == agent(user))
    said = {"queued": "Deze burger wacht op een medewerker.",
            "with_staff": "Je hebt deze chat. Balie is stil tot je hem teruggeeft." if mine
            else f"{owner} heeft deze chat.",
            "bot": "Balie beantwoordt deze chat."}
    return {"mode": mode, "owner": owner, "kind": ticket.kind if ticket else "", "mine": mine,
            "language": ticket.language if ticket else "nl", "said": said.get(mode, "")}


async def _handed_off(request: Request, chat_id: str, user: User) -> str:
    """Staff see only their tenants' chats that came to the desk; return the chat's tenant."""
    return await scoping.handed_off(_history(request), chat_id, user)


def _serves(other: User, tenant: str) -> bool:
    return other.role in STAFF and other.active and other.scope.allows(tenant)


async def _colleagues(request: Request, user: User, tenant: str) -> list[User]:
    accounts: Accounts = request.app.state.accounts
    return [other for other in await accounts.users()
            if _serves(other, tenant) and other.id != user.id]


@router.get("/chats/{chat_id}")
async def chat_page(request: Request, chat_id: str, user: Staff) -> Response:
    """Show a chat's whole history, its notes, and what this user can do with it now."""
    tenant = await _handed_off(request, chat_id, user)
    await record(_history(request), user.name, "chat_opened", chat_id, tenant)
    state = await _state(request, chat_id, user)
    canned: list[Canned] = request.app.state.canned.get(tenant, [])
    cases = await inbox.open_cases(_history(request), user.scope, [chat_id])
    described = await _about(request, user, cases[-1:])
    return render(request, "staff_chat.html", {
        "user": user, "chat_id": chat_id, "messages": await _messages(request, chat_id, 0),
        "notes": await _notes(request, chat_id), "about": described[0] if described else None,
        "canned": [(c.title, c.text[as_language(state["language"])]) for c in canned],
        "colleagues": await _colleagues(request, user, tenant), **state})


@router.get("/chats/{chat_id}/messages.json")
async def chat_updates(request: Request, chat_id: str, user: Staff,
                       after: int = 0) -> dict[str, Any]:
    """Return the messages after `after`, the notes and the chat's handoff state."""
    await _handed_off(request, chat_id, user)
    return {"messages": await _messages(request, chat_id, after),
            "notes": await _notes(request, chat_id), **await _state(request, chat_id, user)}


def _done(request: Request, chat_id: str, **answer: Any) -> Response:
    """Answer a page's own request in JSON; a plain form goes back to the chat page."""
    if _wants_json(request):
        return JSONResponse(answer or {"ok": True})
    return RedirectResponse(f"/staff/chats/{chat_id}", status_code=303)


@router.post("/chats/{chat_id}/claim")
async def claim(request: Request, chat_id: str, user: Staff) -> Response:
    """Take over a waiting chat; of two staff at once exactly one gets it."""
    tenant = await _handed_off(request, chat_id, user)
    won = await _desk(request).claim(chat_id, agent(user), user.name)
    await record(_history(request), user.name, "takeover" if won.won else "takeover_lost",
                 chat_id, tenant)
    return _done(request, chat_id, won=won.won)


async def _stale(request: Request, chat_id: str, user: User) -> HTTPException:
    """Explain why this tab may no longer write in the chat."""
    state = await _state(request, chat_id, user)
    why = {"queued": "de chat staat weer in de wachtrij. Neem hem eerst over.",
           "with_staff": f"{state['owner']} heeft deze chat nu.",
           "bot": "de chat is teruggegeven aan Balie."}
    return HTTPException(409, "Je bericht is niet verstuurd: " + why[state["mode"]] + KEPT)


@router.post("/chats/{chat_id}/reply")
async def reply(request: Request, chat_id: str, user: Staff, text: Text) -> Response:
    """Send the owner's message to the citizen."""
    await _handed_off(request, chat_id, user)
    if not await _desk(request).from_staff(chat_id, agent(user), text.strip(), "console"):
        raise await _stale(request, chat_id, user)
    return _done(request, chat_id)


@router.post("/chats/{chat_id}/notes")
async def add_note(request: Request, chat_id: str, user: Staff, text: Text) -> Response:
    """Keep an internal note on the chat (masked): for colleagues, never for the citizen."""
    tenant = await _handed_off(request, chat_id, user)
    await notes.add(_history(request), chat_id, user.name, text.strip())
    await record(_history(request), user.name, "note_added", chat_id, tenant)
    return _done(request, chat_id, notes=await _notes(request, chat_id))


@router.post("/chats/{chat_id}/assign")
async def assign(request: Request, chat_id: str, user: Staff,
                 colleague: Annotated[int, Form()]) -> Response:
    """Give a waiting chat, or one's own (a transfer), to a named colleague of its tenant."""
    tenant = await _handed_off(request, chat_id, user)
    accounts: Accounts = request.app.state.accounts
    other = await accounts.get(colleague)
    if other is None or not _serves(other, tenant):
        raise HTTPException(404, "Die collega bestaat niet of mag deze chat niet doen.")
    ticket = await _desk(request).ticket(chat_id)
    owner = ticket.agent if ticket and ticket.mode == "with_staff" else ""
    if owner and owner != agent(user) and user.role != "supervisor":
        raise await _stale(request, chat_id, user)
    if not await _desk(request).assign(chat_id, agent(other), other.name, user.name, owner):
        raise await _stale(request, chat_id, user)
    await record(_history(request), user.name, "transferred" if owner else "assigned", chat_id,
                 tenant)
    return _done(request, chat_id)


async def _owned(request: Request, chat_id: str, user: User) -> str:
    tenant = await _handed_off(request, chat_id, user)
    ticket = await _desk(request).ticket(chat_id)
    if ticket is None or ticket.mode != "with_staff" or ticket.agent != agent(user):
        await _desk(request).refuse(chat_id, user.name, "console")
        raise HTTPException(409, "Alleen de medewerker die deze chat heeft, kan dat doen.")
    return tenant


@router.post("/chats/{chat_id}/release")
async def release(request: Request, chat_id: str, user: Staff) -> Response:
    """Put the chat back in the queue for a colleague, in its old place."""
    await _owned(request, chat_id, user)
    await _desk(request).release(chat_id, user.name)
    return _done(request, chat_id)


@router.post("/chats/{chat_id}/close")
async def close(request: Request, chat_id: str, user: Staff) -> Response:
    """Hand the chat back to Balie (the page asks to confirm first)."""
    tenant = await _owned(request, chat_id, user)
    await _desk(request).close(chat_id, user.name)
    await record(_history(request), user.name, "handed_back", chat_id, tenant)
    return _done(request, chat_id)
