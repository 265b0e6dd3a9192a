"""The citizens' web chat: the page, its embed snippet, and the JSON API the page talks to."""

from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Header, HTTPException, Request, Response
from fastapi.responses import FileResponse
from pydantic import BaseModel, Field

from bot.channels.webchat import WebChat
from bot.console.pages import render
from bot.types import TurnKind, as_language

router = APIRouter()
STATIC = Path(__file__).parent / "static"
TOKEN_HEADER = "X-Chat-Token"
# Longer texts are refused by the pipeline with a clear answer; this only stops abuse.
MAX_BODY_CHARS = 20_000
# New chats per minute from one address (a municipality's office may share one address).
STARTS_PER_MINUTE = 60
UNKNOWN = "unknown chat; start a new one"


class Said(BaseModel):
    """What the page sends: a typed text, or the data of a pressed button."""

    text: str = Field(default="", max_length=MAX_BODY_CHARS)
    button: str = Field(default="", max_length=256)


class Opened(BaseModel):
    """The page's language when a chat starts."""

    language: str = Field(default="nl", max_length=8)


def _webchat(request: Request) -> WebChat:
    chat: WebChat = request.app.state.webchat
    return chat


async def _chat(request: Request, token: str | None) -> str:
    chat_id = await _webchat(request).chat_of(token)
    if chat_id is None:
        raise HTTPException(401, UNKNOWN)
    return chat_id


@router.get("/chat")
async def page(request: Request, lang: str = "nl") -> Response:
    """Show the chat page (Dutch, or English with ?lang=en)."""
    return render(
        request, "chat.html", {"lang": as_language(lang)})


@router.get("/chat/embed.js")
async def embed() -> Response:
    """Return the snippet a municipality's site includes to show the chat in a corner."""
    return FileResponse(STATIC / "embed.js", media_type="text/javascript")


@router.post("/chat/api/start")
async def start(request: Request, opened: Opened) -> dict[str, Any]:
    """Open a new chat and greet the citizen; too many new chats from one address wait."""
    address = request.client.host if request.client else "unknown"
    if await _webchat(request).store.count_turn(f"web-start:{address}") > STARTS_PER_MINUTE:
        raise HTTPException(429, "too many new chats; try again in a minute",
                            headers={"Retry-After": "60"})
    chat_id, token = await _webchat(request).open(opened.language)
    replies = await _webchat(request).say(chat_id, "command", "/start", opened.language)
    return {"token": token, "replies": replies}


@router.post("/chat/api/send")
async def send(
    request: Request, said: Said, token: Annotated[str | None, Header(alias=TOKEN_HEADER)] = None
) -> dict[str, Any]:
    """Answer a text, a /command or a button press."""
    chat_id, wait = await _webchat(request).sender(token)
    if chat_id is None:
        raise HTTPException(401, UNKNOWN)
    if wait is not None:
        raise HTTPException(429, "too many messages; try again in a minute",
                            headers={"Retry-After": str(wait)})
    await request.app.state.desk.heartbeat(chat_id)  # the page is open: not abandoned (h2)
    if said.button:
        return {"replies": await _webchat(request).say(chat_id, "button", said.button)}
    kind: TurnKind = "command" if said.text.startswith("/") else "text"
    return {"replies": await _webchat(request).say(chat_id, kind, said.text)}


@router.get("/chat/api/poll")
async def poll(
    request: Request, token: Annotated[str | None, Header(alias=TOKEN_HEADER)] = None
) -> dict[str, Any]:
    """Return what staff said since the page last asked."""
    chat_id = await _chat(request, token)
    await request.app.state.desk.heartbeat(chat_id)  # the page is open: not abandoned (h2)
    return {"replies": await _webchat(request).collect(chat_id)}


@router.get("/chat/api/history")
async def history(
    request: Request, token: Annotated[str | None, Header(alias=TOKEN_HEADER)] = None
) -> dict[str, Any]:
    """Return the chat so far, for a reloaded page."""
    return {"messages": await _webchat(request).transcript(await _chat(request, token))}
