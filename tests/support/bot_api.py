"""A local Telegram Bot API emulator on 127.0.0.1: Balie's PTB client talks real HTTP to it.

It plays Telegram: citizens' updates go out by long polling (getUpdates) or, once setWebhook
was called, by POSTing to the webhook with the secret header; the bot's sendMessage calls are
validated as Telegram does (length, empty text, HTML entities, callback data size) and stored
per chat so a test can read the replies.
"""

import asyncio
import contextlib
import html
import itertools
import json
import re
import time
from html.parser import HTMLParser
from typing import Any

import aiohttp
from aiohttp import web

from tests.support import updates

TOKEN = "123456:TEST-TOKEN"
ALLOWED_TAGS = {"b", "strong", "i", "em", "u", "ins", "s", "strike", "del", "a", "code", "pre",
                "tg-spoiler", "span", "blockquote"}
JSON_FIELDS = {"reply_markup", "allowed_updates", "commands", "entities", "link_preview_options",
               "reply_parameters"}
INT_FIELDS = {"chat_id", "offset", "limit", "timeout", "message_id", "max_connections",
              "message_thread_id", "user_id"}


class BadRequest(Exception):
    """A request Telegram would answer with 400 Bad Request (or another error status)."""

    status = 400
    parameters: dict[str, Any] | None = None


class Blocked(BadRequest):
    status = 403


class TooManyRequests(BadRequest):
    status = 429

    def __init__(self, retry_after: int) -> None:
        super().__init__(f"Too Many Requests: retry after {retry_after}")
        self.parameters = {"retry_after": retry_after}


class _EntityCheck(HTMLParser):
    """Refuses text that Telegram's HTML parse mode could not parse."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.open: list[str] = []

    def handle_starttag(self, tag: str, attrs: Any) -> None:
        if tag not in ALLOWED_TAGS:
            raise BadRequest(f"Bad Request: can't parse entities: unsupported start tag \"{tag}\"")
        self.open.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if not self.open or self.open.pop() != tag:
            raise BadRequest(f"Bad Request: can't parse entities: unexpected end tag \"{tag}\"")


def check_html(text: str) -> None:
    if re.search(r"<(?![a-zA-Z/])", text):
        raise BadRequest("Bad Request: can't parse entities: unescaped <")
    if re.search(r"&(?!(?:lt|gt|amp|quot|#\d+|#x[0-9a-fA-F]+);)", text):
        raise BadRequest("Bad Request: can't parse entities: unescaped &")
    checker = _EntityCheck()
    checker.feed(text)
    checker.close()


class BotAPI:
    """The emulator: start it, point PTB's base_url at `base_url`, then act as citizens."""

    def __init__(self, token: str = TOKEN) -> None:
        self.token = token
        self.updates: list[dict[str, Any]] = []
        self.sent: dict[int, list[dict[str, Any]]] = {}
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.webhook: dict[str, Any] | None = None
        self.members: dict[int, str] = {}
        self.topics: dict[int, dict[str, Any]] = {}
        self.callback_answers: list[dict[str, Any]] = []
        # Refuse answerCallbackQuery as Telegram does for a query answered too late.
        self.late_queries = False
        # Telegram's limits, off unless a test sets them: messages per second over all chats,
        # seconds between two messages to one chat, and chats that blocked the bot.
        self.rate_limit: int | None = None
        self.chat_interval = 0.0
        self.blocked: set[int] = set()
        # Every n-th sendMessage is refused with 429 (retry after 1 s) whatever the rate, as
        # Telegram does at times: a test of waiting does not depend on the machine's speed.
        self.refuse_every: int | None = None
        self.refusals = {403: 0, 429: 0}
        # When (time.monotonic()) messages were accepted and 429s given, to check rates with.
        self.accepted_at: list[float] = []
        self.refused_at: list[float] = []
        self._attempts = 0
        self._recent: list[float] = []
        self._last_to: dict[int, float] = {}
        self.webhook_statuses: list[int] = []
        self._update_ids = itertools.count(1000)
        self._message_ids = itertools.count(1)
        self._changed = asyncio.Condition()
        self._runner: web.AppRunner | None = None
        self._session: aiohttp.ClientSession | None = None
        self.url = ""

    @property
    def base_url(self) -> str:
        return f"{self.url}/bot"

    async def start(self) -> None:
        app = web.Application()
        app.router.add_route("*", "/bot{token}/{method}", self._handle)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.url = f"http://127.0.0.1:{port}"
        self._session = aiohttp.ClientSession()

    async def stop(self) -> None:
        if self._session:
            await self._session.close()
        if self._runner:
            await self._runner.cleanup()

    # -- the citizen's side -------------------------------------------------------------------

    async def push(self, update: dict[str, Any]) -> int:
        """Deliver an update (webhook POST, or queue for getUpdates); returns its update_id."""
        update.setdefault("update_id", next(self._update_ids))
        if self.webhook:
            await self.deliver(update)
        else:
            async with self._changed:
                self.updates.append(update)
                self._changed.notify_all()
        return int(update["update_id"])

    async def deliver(self, update: dict[str, Any], secret: str | None = None) -> int:
        """POST an update to the webhook as Telegram does; returns the HTTP status."""
        assert self.webhook and self._session
        headers = {}
        token = secret if secret is not None else self.webhook.get("secret_token")
        if token:
            headers["X-Telegram-Bot-Api-Secret-Token"] = token
        for attempt in range(3):
            try:
                async with self._session.post(
                    self.webhook["url"], json=update, headers=headers
                ) as r:
                    self.webhook_statuses.append(r.status)
                    return r.status
            except (aiohttp.ServerDisconnectedError, aiohttp.ClientOSError):
                # The server closed a kept-alive connection as this request went out: Telegram
                # delivers again, and so do we (the intake knows the update_id).
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")

    async def say(self, chat_id: int, text: str, language: str = "nl") -> int:
        return await self.push({"message": updates.message(chat_id, language, text=text)})

    async def edit(self, chat_id: int, text: str) -> int:
        return await self.push({"edited_message": updates.message(
            chat_id, text=text, edit_date=int(time.time()))})

    async def send_content(self, chat_id: int, kind: str) -> int:
        return await self.push({"message": updates.message(chat_id, **updates.NON_TEXT[kind])})

    async def press(self, chat_id: int, bot_message: dict[str, Any], data: str) -> int:
        return await self.push({"callback_query": updates.callback(chat_id, bot_message, data)})

    async def staff_says(self, group_id: int, thread: int, user_id: int, text: str) -> int:
        return await self.push({"message": updates.topic_message(group_id, thread, user_id, text)})

    async def staff_press(self, user_id: int, bot_message: dict[str, Any], data: str) -> int:
        return await self.push({"callback_query": updates.callback(user_id, bot_message, data)})

    async def wait(self, check: Any, timeout: float = 10.0, what: str = "condition") -> Any:
        """Wait until `check()` returns something truthy, and return it."""
        deadline = time.monotonic() + timeout
        async with self._changed:
            while not (found := check()):
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise TimeoutError(f"waited {timeout} s for {what}")
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._changed.wait(), remaining)
            return found

    def in_topic(self, group_id: int, thread: int) -> list[dict[str, Any]]:
        return [m for m in self.sent.get(group_id, []) if m.get("message_thread_id") == thread]

    def topic_with(self, group_id: int, text: str) -> dict[str, Any] | None:
        """The first staff-group message containing `text`."""
        return next((m for m in self.sent.get(group_id, []) if text in m["text"]), None)

    async def replies(self, chat_id: int, count: int = 1, after: int = 0,
                      timeout: float = 10.0) -> list[dict[str, Any]]:
        """Wait until the bot has sent `count` messages to the chat after the first `after`."""
        deadline = time.monotonic() + timeout
        async with self._changed:
            while len(self.sent.get(chat_id, [])) < after + count:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    got = [m["text"] for m in self.sent.get(chat_id, [])[after:]]
                    raise TimeoutError(f"chat {chat_id}: wanted {count} replies, got {got}")
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._changed.wait(), remaining)
            return self.sent[chat_id][after:after + count]

    async def exchange(self, chat_id: int, text: str, count: int = 1,
                       language: str = "nl") -> list[dict[str, Any]]:
        """Send a text and wait for the next `count` replies."""
        before = len(self.sent.get(chat_id, []))
        await self.say(chat_id, text, language)
        return await self.replies(chat_id, count, after=before)

    async def wait_for_call(self, method: str, timeout: float = 30.0) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        async with self._changed:
            while True:
                for name, params in self.calls:
                    if name == method:
                        return params
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise TimeoutError(f"the bot never called {method}")
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._changed.wait(), remaining)

    # -- the bot's side -----------------------------------------------------------------------

    async def _params(self, request: web.Request) -> dict[str, Any]:
        if request.content_type == "application/json":
            raw = await request.json()
        else:
            raw = dict(await request.post()) | dict(request.query)
        params: dict[str, Any] = {}
        for name, value in raw.items():
            if name in JSON_FIELDS and isinstance(value, str):
                value = json.loads(value)
            elif name in INT_FIELDS and isinstance(value, str):
                value = int(value)
            params[name] = value
        return params

    async def _handle(self, request: web.Request) -> web.Response:
        if request.match_info["token"] != self.token:
            return web.json_response(
                {"ok": False, "error_code": 401, "description": "Unauthorized"}, status=401)
        method = request.match_info["method"]
        params = await self._params(request)
        async with self._changed:
            self.calls.append((method, params))
            self._changed.notify_all()
        handler = getattr(self, f"_api_{method.lower()}", None)
        if handler is None:
            return web.json_response({"ok": False, "error_code": 404,
                                      "description": "Not Found: method not found"}, status=404)
        try:
            result = await handler(params)
        except BadRequest as error:
            body: dict[str, Any] = {"ok": False, "error_code": error.status,
                                    "description": str(error)}
            if error.parameters:
                body["parameters"] = error.parameters
            if error.status in self.refusals:
                self.refusals[error.status] += 1
            return web.json_response(body, status=error.status)
        return web.json_response({"ok": True, "result": result})

    async def _api_getme(self, params: dict[str, Any]) -> Any:
        return {**updates.BOT_USER, "can_join_groups": True, "can_read_all_group_messages": False,
                "supports_inline_queries": False}

    async def _api_getupdates(self, params: dict[str, Any]) -> Any:
        if self.webhook:
            raise BadRequest("Conflict: can't use getUpdates method while webhook is active")
        offset = params.get("offset", 0)
        deadline = time.monotonic() + min(float(params.get("timeout", 0)), 1.0)
        async with self._changed:
            self.updates = [u for u in self.updates if u["update_id"] >= offset]
            while not self.updates and time.monotonic() < deadline:
                try:
                    await asyncio.wait_for(self._changed.wait(), deadline - time.monotonic())
                except TimeoutError:
                    break
            return self.updates[: int(params.get("limit", 100))]

    async def _api_setwebhook(self, params: dict[str, Any]) -> Any:
        self.webhook = {"url": params["url"], "secret_token": params.get("secret_token")}
        return True

    async def _api_deletewebhook(self, params: dict[str, Any]) -> Any:
        self.webhook = None
        return True

    async def _api_getwebhookinfo(self, params: dict[str, Any]) -> Any:
        return {"url": (self.webhook or {}).get("url", ""), "has_custom_certificate": False,
                "pending_update_count": len(self.updates)}

    async def _api_sendmessage(self, params: dict[str, Any]) -> Any:
        text = str(params.get("text", ""))
        if not text.strip():
            raise BadRequest("Bad Request: message text is empty")
        if params.get("parse_mode") == "HTML":
            check_html(text)
            # Telegram keeps the visible text and turns the markup into entities.
            text = html.unescape(re.sub(r"<[^>]+>", "", text))
        if len(text) > 4096:
            raise BadRequest("Bad Request: message is too long")
        markup = params.get("reply_markup")
        for row in (markup or {}).get("inline_keyboard", []):
            for button in row:
                if len(button.get("callback_data", "").encode()) > 64:
                    raise BadRequest("Bad Request: BUTTON_DATA_INVALID")
        chat_id = int(params["chat_id"])
        self._limit(chat_id)
        thread = params.get("message_thread_id")
        if thread is not None and self.topics.get(thread, {}).get("closed"):
            raise BadRequest("Bad Request: TOPIC_CLOSED")
        chat = updates.chat(chat_id) if chat_id > 0 else updates.group(chat_id)
        message = {"message_id": next(self._message_ids), "date": int(time.time()),
                   "chat": chat, "from": updates.BOT_USER, "text": text}
        if thread is not None:
            message.update(message_thread_id=thread, is_topic_message=True)
        if markup:
            message["reply_markup"] = markup
        async with self._changed:
            self.sent.setdefault(chat_id, []).append(message)
            self._changed.notify_all()
        return message

    def _limit(self, chat_id: int) -> None:
        """Refuse as Telegram does: blocked chats (403) and sending too fast (429)."""
        if chat_id in self.blocked:
            raise Blocked("Forbidden: bot was blocked by the user")
        now = time.monotonic()
        self._attempts += 1
        if self._too_fast(chat_id, now):
            self.refused_at.append(now)
            raise TooManyRequests(1)
        self.accepted_at.append(now)
        self._last_to[chat_id] = now

    def _too_fast(self, chat_id: int, now: float) -> bool:
        if self.refuse_every and self._attempts % self.refuse_every == 0:
            return True
        if self.chat_interval and now - self._last_to.get(chat_id, -1e9) < self.chat_interval:
            return True
        if self.rate_limit:
            self._recent = [t for t in self._recent if now - t < 1.0]
            if len(self._recent) >= self.rate_limit:
                return True
            self._recent.append(now)
        return False

    async def _api_editmessagereplymarkup(self, params: dict[str, Any]) -> Any:
        chat_id, message_id = int(params["chat_id"]), int(params["message_id"])
        for message in self.sent.get(chat_id, []):
            if message["message_id"] == message_id:
                message.pop("reply_markup", None)
                if params.get("reply_markup"):
                    message["reply_markup"] = params["reply_markup"]
                return message
        raise BadRequest("Bad Request: message to edit not found")

    async def _api_answercallbackquery(self, params: dict[str, Any]) -> Any:
        if self.late_queries:
            raise BadRequest("Bad Request: query is too old and response timeout expired or "
                             "query ID is invalid")
        async with self._changed:
            self.callback_answers.append(params)
            self._changed.notify_all()
        return True

    async def _api_getchatmember(self, params: dict[str, Any]) -> Any:
        user_id = int(params["user_id"])
        user = {"id": user_id, "is_bot": False, "first_name": f"User{user_id}"}
        status = self.members.get(user_id, "left")
        return {"status": status, "user": user, **({"is_anonymous": False}
                                                   if status == "creator" else {})}

    async def _api_createforumtopic(self, params: dict[str, Any]) -> Any:
        thread = 100 + len(self.topics)
        self.topics[thread] = {"name": params["name"], "closed": False}
        return {"message_thread_id": thread, "name": params["name"], "icon_color": 7322096}

    async def _api_closeforumtopic(self, params: dict[str, Any]) -> Any:
        self.topics[int(params["message_thread_id"])]["closed"] = True
        return True

    async def _api_editforumtopic(self, params: dict[str, Any]) -> Any:
        self.topics[int(params["message_thread_id"])]["name"] = params["name"]
        return True

    async def _api_reopenforumtopic(self, params: dict[str, Any]) -> Any:
        self.topics[int(params["message_thread_id"])]["closed"] = False
        return True

    async def _api_setmycommands(self, params: dict[str, Any]) -> Any:
        return True

    async def _api_deletemycommands(self, params: dict[str, Any]) -> Any:
        return True

    async def _api_close(self, params: dict[str, Any]) -> Any:
        return True
