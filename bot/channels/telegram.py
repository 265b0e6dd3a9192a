"""Telegram: updates become Turns, Replies become Bot API messages, each sent once."""

import asyncio
import contextlib
import html
import json
import logging
import socket
from collections.abc import Awaitable, Callable
from functools import partial
from typing import Any, cast

import redis.asyncio as redis
from redis.exceptions import RedisError
from telegram import Bot, BotCommand, Update
from telegram.constants import ChatType, ParseMode
from telegram.error import TelegramError
from telegram.ext import (
    Application,
    ApplicationBuilder,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    MessageHandler,
    filters,
)

from bot.channels.notices import follow, join, notice
from bot.channels.staffgroup import StaffDesk
from bot.channels.transport import AiohttpRequest
from bot.handoff.events import Event
from bot.history.log import History
from bot.history.retention import purge
from bot.intake import outbox
from bot.pipeline import Balie
from bot.replies.render import TELEGRAM_LIMIT, Renderer, split
from bot.settings import Settings
from bot.state import keys
from bot.types import LANGUAGES, Button, Reply, Turn, TurnKind

log = logging.getLogger(__name__)

COMMANDS = ["start", "help", "hulp", "taal", "language", "abonneer", "subscribe", "afmelden",
            "unsubscribe", "intrekken", "withdraw", "privacy", "beleid", "policy", "vergeet",
            "forget"]
PRIVATE = filters.ChatType.PRIVATE
PURGE_INTERVAL = 24 * 3600
CITIZENS = "citizens-telegram"
# What a message that is not text holds, named as staff see it ("[sticker]").
ATTACHMENTS = ("sticker", "photo", "animation", "video", "video_note", "voice", "audio",
               "document", "location", "venue", "contact", "poll", "dice")
MARKUP_SECONDS = 7 * 86400


def chunks(text: str) -> list[str]:
    """Split a reply into HTML-escaped messages that each fit Telegram's limit."""
    limit = TELEGRAM_LIMIT
    while True:
        parts = [html.escape(part, quote=False) for part in split(text, limit)]
        if all(len(part) <= TELEGRAM_LIMIT for part in parts):
            return parts
        limit = limit * 3 // 4


def turn_from(update: Update, kind: TurnKind, text: str) -> Turn:
    """Build a Turn from a Telegram update."""
    chat = update.effective_chat
    user = update.effective_user
    return _turn(chat.id if chat else 0, update.update_id, user.language_code if user else None,
                 kind, text)


def _turn(chat: int, update_id: int, language_code: str | None, kind: TurnKind,
          text: str) -> Turn:
    return Turn(
        chat_id=f"tg:{chat}",
        channel="telegram",
        kind=kind,
        text=text,
        update_id=update_id,
        queued=outbox.CURRENT.get() is not None,
        language_hint=language_code,
    )


def plain_message(update: dict[str, Any], staff_chat: int | None) -> dict[str, Any] | None:
    """Return the message of an update that only the handler of messages takes, else None.

    That is a message (or an edited one) in a private chat, not the staff chat, whose text does
    not start with "/" (a command, or what PTB would look at as one).
    """
    message = update.get("message") or update.get("edited_message")
    if len(update) != 2 or not isinstance(message, dict):
        return None
    chat = message.get("chat")
    if not isinstance(chat, dict) or chat.get("type") != ChatType.PRIVATE or (
            chat.get("id") == staff_chat):
        return None
    text = message.get("text")
    return None if isinstance(text, str) and text.startswith("/") else message


def dispatcher(
    application: Application, balie: Balie, staff_chat: int | None,  # type: ignore[type-arg]
) -> Callable[[dict[str, Any]], Awaitable[None]]:
    """Return what the worker hands each update to.

    A plain message becomes a Turn straight from the update's JSON: PTB's `Update` object graph
    and its handlers' checks are for everything else (commands, buttons, the staff group).
    """
    client = balie.store.client

    async def dispatch(update: dict[str, Any]) -> None:
        message = plain_message(update, staff_chat)
        if message is None:
            await application.process_update(Update.de_json(update, application.bot))
            return
        try:
            kind, text = _content(message.get)
            sender = message.get("from")
            turn = _turn(message["chat"]["id"], update["update_id"],
                         sender.get("language_code") if isinstance(sender, dict) else None,
                         kind, text)
            await deliver(application.bot, client, turn.chat_id, await balie.handle(turn),
                          answering=True)
        except Exception as error:
            _failed(error)

    return dispatch


async def deliver(
    bot: Bot, client: "redis.Redis", chat_id: str, replies: list[Reply], answering: bool = False
) -> None:
    """Send replies to a citizen's chat (`tg:<id>`); buttons go under the last part of a reply.

    Once new buttons are bound, or the citizen's turn is answered, the buttons shown earlier no
    longer work: they are taken off their messages (poll buttons stay, they keep working).
    """
    telegram_id = int(chat_id.removeprefix("tg:"))
    bound = any(not b.data.startswith("poll:") for reply in replies for b in reply.buttons)
    queued = outbox.CURRENT.get() is not None
    take_off = None
    if replies and (answering or bound):
        # In an update the list goes with the first send's marks; the buttons after it.
        take_off = outbox.TakeOff(keys.markup(chat_id))
        if not queued:
            async with client.pipeline(transaction=True) as pipe:
                pipe.lrange(take_off.key, 0, -1)
                pipe.delete(take_off.key)
                take_off.shown, _ = await pipe.execute()
            await _take_off_buttons(bot, chat_id, take_off.shown)
            take_off = None
    for reply in replies:
        parts = chunks(reply.text)
        for number, part in enumerate(parts, start=1):
            buttons = reply.buttons if number == len(parts) else ()
            remember = None
            if buttons and not buttons[0].data.startswith("poll:"):
                remember = outbox.Remember(keys.markup(chat_id), MARKUP_SECONDS)
            try:
                sent = await outbox.send(partial(send_text, bot, telegram_id, part, buttons),
                                         remember, take_off)
            finally:  # the list is emptied once the send was marked, whether it went or not
                if take_off:
                    await _take_off_buttons(bot, chat_id, take_off.shown)
                    take_off = None
            if remember and not queued and sent:
                async with client.pipeline(transaction=True) as pipe:
                    pipe.rpush(remember.key, sent["message_id"])
                    pipe.expire(remember.key, remember.seconds)
                    await pipe.execute()


async def send_text(
    bot: Bot, telegram_id: int, text: str, buttons: tuple[Button, ...] = ()
) -> dict[str, Any]:
    """Send an HTML message, buttons under it; return Telegram's answer as it came (JSON).

    PTB's `send_message` builds a `Message` object graph from the answer (half a millisecond
    of CPU per message) that nothing here reads. Bot API method names are case-insensitive:
    "sendmessage" is not PTB's own method name, which `do_api_request` would warn about.
    """
    params: dict[str, Any] = {"chat_id": telegram_id, "text": text, "parse_mode": ParseMode.HTML}
    if buttons:
        params["reply_markup"] = json.dumps({"inline_keyboard": [
            [{"text": b.title, "callback_data": b.data}] for b in buttons]}, ensure_ascii=False)
    return cast(dict[str, Any], await bot.do_api_request("sendmessage", api_kwargs=params))


async def _take_off_buttons(bot: Bot, chat_id: str, shown: list[bytes]) -> None:
    """Remove the buttons of the chat's earlier messages; one already gone is no matter."""
    for message_id in shown:
        try:
            await bot.edit_message_reply_markup(int(chat_id.removeprefix("tg:")),
                                                int(message_id), reply_markup=None)
        except TelegramError as error:
            log.info("old buttons not removed", extra={"chat": chat_id, "error": str(error)})


async def register_commands(bot: Bot, renderer: Renderer) -> None:
    """Show the commands in Telegram's menu, in Dutch and in English (`language_code`)."""
    for language in LANGUAGES:
        menu = renderer.render("utter_command_menu", language).text
        commands = [BotCommand(*line.lstrip("/").split(" - ", 1)) for line in menu.splitlines()
                    if line.strip()]
        try:
            await bot.set_my_commands(commands, language_code=language)
        except TelegramError:
            log.exception("the command menu was not registered", extra={"language": language})


def _content(field: Callable[[str], Any] | None) -> tuple[TurnKind, str]:
    """Return the kind and text of a message: its text or a photo's caption, else `[sticker]`.

    `field` reads the message's fields by name (of a PTB `Message` or of its JSON).
    """
    if field is None:
        return "non_text", "[?]"
    text = field("text")
    if text is None:
        text = field("caption")
    if text is not None:
        return "text", text
    return "non_text", f"[{next((a for a in ATTACHMENTS if field(a)), '?')}]"


async def send(
    update: Update, context: ContextTypes.DEFAULT_TYPE, client: "redis.Redis",
    replies: list[Reply],
) -> None:
    """Send the replies to a citizen's turn to the chat of its update."""
    if update.effective_chat is not None:
        await deliver(context.bot, client, f"tg:{update.effective_chat.id}", replies,
                      answering=True)


def build(settings: Settings, balie: Balie, staff: StaffDesk | None) -> Application:  # type: ignore[type-arg]
    """Build the PTB Application with Balie's handlers; updates come from `bot.intake.worker`."""
    if settings.telegram_token is None:
        raise ValueError("TELEGRAM_TOKEN is not set")

    client = balie.store.client

    async def message(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """Answer a text (or a photo's caption), or explain that only text can be read."""
        incoming = update.effective_message
        kind, text = _content(partial(getattr, incoming) if incoming else None)
        await send(update, context, client, await balie.handle(turn_from(update, kind, text)))

    async def command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """Answer a command such as /start, /help, /taal or /vergeet."""
        incoming = update.effective_message
        text = incoming.text if incoming and incoming.text else "/help"
        await send(update, context, client,
                   await balie.handle(turn_from(update, "command", text)))

    async def button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """Answer a button press; the pipeline refuses buttons it did not offer.

        The query is answered after the press is handled: answering fails for a query that
        waited too long (a backlog, a restart), and the press must not be lost with it.
        """
        query = update.callback_query
        if query is None or (query.message and query.message.chat.type != ChatType.PRIVATE):
            return
        replies = await balie.handle(turn_from(update, "button", query.data or ""))
        try:
            await query.answer()
        except TelegramError as error:
            log.warning("callback query not answered", extra={"error": str(error)})
        if query.message is not None:
            await client.lrem(keys.markup(f"tg:{query.message.chat.id}"), 0,
                              str(query.message.message_id))
            current = outbox.CURRENT.get()
            if current is not None:
                current.taken_off(query.message.message_id)
            with contextlib.suppress(TelegramError):
                await query.edit_message_reply_markup(None)
        await send(update, context, client, replies)

    application = (
        ApplicationBuilder()
        .token(settings.telegram_token.get_secret_value())
        .base_url(settings.telegram_base_url)
        .request(AiohttpRequest())
        .updater(None)
        .build()
    )
    if staff and settings.staff_chat_id is not None:
        group = filters.Chat(settings.staff_chat_id)
        application.add_handler(CallbackQueryHandler(staff.button, pattern=r"^staff:"))
        application.add_handler(
            CommandHandler(["close", "transfer"], staff.command, filters=group)
        )
        application.add_handler(MessageHandler(group & filters.TEXT & ~filters.COMMAND,
                                               staff.message))
    application.add_handler(CommandHandler(COMMANDS, command, filters=PRIVATE))
    application.add_handler(CallbackQueryHandler(button))
    # An edited message is answered as a new one: the citizen changed the question.
    application.add_handler(MessageHandler(PRIVATE & filters.UpdateType.MESSAGES, message))
    application.add_error_handler(_log_error)
    return application


async def tell_citizens(balie: Balie, client: "redis.Redis", bot: Bot) -> None:
    """Tell Telegram citizens what staff do with their handoffs, until cancelled."""
    await join(client, CITIZENS)
    await follow(client, CITIZENS, socket.gethostname(), partial(_tell, balie, bot))


async def _tell(balie: Balie, bot: Bot, event: Event) -> None:
    """Tell a Telegram citizen what staff did with their handoff."""
    told = notice(event)
    if told and told.chat_id.startswith("tg:"):
        replies = await balie.notify(told.chat_id, "telegram", told.response, told.values,
                                     case=told.case)
        await deliver(bot, balie.store.client, told.chat_id, replies)


async def purge_daily(history: History, retention: dict[str, int]) -> None:
    """Apply each tenant's retention time (days by tenant) at start-up and then once a day."""
    while True:
        try:
            for tenant, days in retention.items():
                await purge(history, days, actor="schedule", tenant=tenant)
        except Exception:
            log.exception("purge failed; trying again tomorrow")
        await asyncio.sleep(PURGE_INTERVAL)


async def _log_error(update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
    if context.error is not None:
        _failed(context.error)


def _failed(error: Exception) -> None:
    """Log a handler's failure; after a Redis error the worker tries the update again."""
    log.error("telegram handler failed", exc_info=error)
    current = outbox.CURRENT.get()
    if current is not None and isinstance(error, RedisError | OSError):
        current.broken = True  # the worker tries the update again once Redis is back
