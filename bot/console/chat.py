"""The citizens' web chat: the page, its embed snippet, and the JSON API the page talks to."""

from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Header, HTTPException, Request, Response
from fastapi.responses import FileResponse, JSONResponse
from pydantic import BaseModel, Field

from bot.channels.webchat import WebChat
from bot.console.pages import render
from bot.replies.municipality import Municipality
from bot.replies.render import write
from bot.types import TurnKind, as_language

router = APIRouter()
STATIC = Path(__file__).parent / "static"
TOKEN_HEADER = "X-Chat-Token"
# Longer texts are refused by the pipeline with a clear answer; this only stops abuse.
MAX_BODY_CHARS = 20_000
# New chats per minute from one address (a municipality's office may share one address).
STARTS_PER_MINUTE = 60
UNKNOWN = "unknown chat; start a new one"
Token = Annotated[str | None, Header(alias=TOKEN_HEADER)]


class Said(BaseModel):
    """What the page sends: a typed text, or the data of a pressed button."""

    text: str = Field(default="", max_length=MAX_BODY_CHARS)
    button: str = Field(default="", max_length=256)


class Opened(BaseModel):
    """The page's language when a chat starts, or when the citizen picks another.

    `municipality` is the tenant of the site the chat is on (`/chat?gemeente=`), if one.
    """

    language: str = Field(default="nl", max_length=8)
    municipality: str = Field(default="", max_length=64)


def _webchat(request: Request) -> WebChat:
    chat: WebChat = request.app.state.webchat
    return chat


def _town(request: Request, key: str) -> Municipality:
    """Return the municipality a page is for: its site's, or the default one's."""
    tenants = _webchat(request).balie.tenants
    return tenants.chosen(key) or tenants.default


async def _chat(request: Request, token: str | None) -> str:
    chat_id = await _webchat(request).chat_of(token)
    if chat_id is None:
        raise HTTPException(401, UNKNOWN)
    return chat_id


def _phones(town: Municipality) -> list[str]:
    """The municipality's phone numbers as written in answers, which the page makes links."""
    return [str(value) for name, value in town.facts.items()
            if name.startswith("phone") and isinstance(value, str | int)]


@router.get("/chat")
async def page(request: Request, lang: str = "nl", embed: bool = False,
               gemeente: str = "") -> Response:
    """Show the chat page (Dutch, or English with ?lang=en; ?embed=1 inside embed.js).

    ?gemeente=<tenant> is the page of one municipality's site; without it, on a deployment of
    several, the chat asks the citizen's municipality.
    """
    language = as_language(lang)
    tenants = _webchat(request).balie.tenants
    chosen = tenants.chosen(gemeente)
    town = chosen or tenants.default
    return render(request, "chat.html", {
        "lang": language, "embed": embed, "phones": _phones(town),
        "gemeente": chosen.key if chosen and tenants.shared else "",
        "town": town.name if chosen or not tenants.shared else (
            "your municipality" if language == "en" else "je gemeente"),
        "phone": write("phone", town.facts["phone"], language),
        "website": write("website", town.facts["website"], language)})


@router.get("/chat/embed.js")
async def embed() -> Response:
    """Return the snippet a municipality's site includes to show the chat in a corner."""
    return FileResponse(STATIC / "embed.js", media_type="text/javascript")


@router.get("/chat/api/embed")
async def embeddable(request: Request, lang: str = "nl", gemeente: str = "") -> Response:
    """Tell the snippet whether the site that asks (its Origin) may show the chat.

    The page itself refuses to be framed elsewhere (frame-ancestors); the snippet asks first,
    so a site not listed shows a message with the phone number instead of a broken frame.
    """
    allowed = request.app.state.settings.chat_embed_origins.split()
    origin = request.headers.get("origin", "")
    own = f"{request.url.scheme}://{request.url.netloc}"
    language = as_language(lang)
    town = _town(request, gemeente)
    body = {"allowed": origin in {*allowed, own},
            "phone": write("phone", town.facts["phone"], language),
            "website": write("website", town.facts["website"], language)}
    return JSONResponse(body, headers={"Access-Control-Allow-Origin": "*"})


@router.post("/chat/api/start")
async def start(request: Request, opened: Opened) -> dict[str, Any]:
    """Open a new chat and greet the citizen; too many new chats from one address wait."""
    address = request.client.host if request.client else "unknown"
    if await _webchat(request).store.count_turn(f"web-start:{address}") > STARTS_PER_MINUTE:
        raise HTTPException(429, "too many new chats; try again in a minute",
                            headers={"Retry-After": "60"})
    chat_id, token = await _webchat(request).open(opened.language, opened.municipality)
    said = await _webchat(request).say(chat_id, "command", "/start", opened.language)
    return {"token": token, **said}


@router.post("/chat/api/send")
async def send(request: Request, said: Said, token: Token = None) -> dict[str, Any]:
    """Answer a text, a /command or a button press."""
    chat_id, wait = await _webchat(request).sender(token, heard=True)
    if chat_id is None:
        raise HTTPException(401, UNKNOWN)
    if wait is not None:
        raise HTTPException(429, "too many messages; try again in a minute",
                            headers={"Retry-After": str(wait)})
    if said.button:
        return await _webchat(request).say(chat_id, "button", said.button)
    kind: TurnKind = "command" if said.text.startswith("/") else "text"
    return await _webchat(request).say(chat_id, kind, said.text)


@router.post("/chat/api/language")
async def language(request: Request, opened: Opened, token: Token = None) -> dict[str, Any]:
    """Make the language the citizen picked on the page the chat's language."""
    chosen = as_language(opened.language)
    await _webchat(request).speak(await _chat(request, token), chosen)
    return {"language": chosen}


@router.post("/chat/api/end")
async def end(request: Request, token: Token = None) -> dict[str, Any]:
    """End the chat: it leaves the staff desk and its token no longer works."""
    await _webchat(request).end(await _chat(request, token))
    return {"ended": True}


@router.get("/chat/api/poll")
async def poll(request: Request, token: Token = None) -> dict[str, Any]:
    """Return what staff said since the page last asked."""
    chat_id, _ = await _webchat(request).sender(token, heard=True)  # the page is open
    if chat_id is None:
        raise HTTPException(401, UNKNOWN)
    return {"replies": await _webchat(request).collect(chat_id)}


@router.get("/chat/api/history")
async def history(request: Request, token: Token = None) -> dict[str, Any]:
    """Return the chat so far, for a reloaded page or another tab, and its language."""
    return await _webchat(request).transcript(await _chat(request, token))
