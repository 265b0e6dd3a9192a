"""Telegram: updates become Turns, Replies become Bot API messages, each sent once."""

import asyncio
import html
import logging
import socket
from functools import partial

import redis.asyncio as redis
from redis.exceptions import RedisError
from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.constants import ChatType, ParseMode
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
from bot.replies.render import TELEGRAM_LIMIT, split
from bot.settings import Settings
from bot.types import Reply, Turn, TurnKind

log = logging.getLogger(__name__)

COMMANDS = ["start", "help", "hulp", "taal", "language", "abonneer", "subscribe", "afmelden",
            "unsubscribe", "privacy", "beleid", "policy", "vergeet", "forget"]
PRIVATE = filters.ChatType.PRIVATE
PURGE_INTERVAL = 24 * 3600
CITIZENS = "citizens-telegram"


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
    current = outbox.CURRENT.get()
    return Turn(
        chat_id=f"tg:{chat.id if chat else 0}",
        channel="telegram",
        kind=kind,
        text=text,
        update_id=update.update_id,
        queued=current is not None,
        redelivered=bool(current and current.redelivered),
        language_hint=user.language_code if user else None,
    )


async def deliver(bot: Bot, chat_id: str, replies: list[Reply]) -> None:
    """Send replies to a citizen's chat (`tg:<id>`); buttons go under the last part of a reply."""
    telegram_id = int(chat_id.removeprefix("tg:"))
    for reply in replies:
        parts = chunks(reply.text)
        for number, part in enumerate(parts, start=1):
            markup = None
            if reply.buttons and number == len(parts):
                markup = InlineKeyboardMarkup(
                    [[InlineKeyboardButton(b.title, callback_data=b.data)] for b in reply.buttons]
                )
            await outbox.send(partial(
                bot.send_message, telegram_id, part, parse_mode=ParseMode.HTML,
                reply_markup=markup,
            ))


async def send(update: Update, context: ContextTypes.DEFAULT_TYPE, replies: list[Reply]) -> None:
    """Send replies to the chat of an update."""
    if update.effective_chat is not None:
        await deliver(context.bot, f"tg:{update.effective_chat.id}", replies)


def build(settings: Settings, balie: Balie, staff: StaffDesk | None) -> Application:  # type: ignore[type-arg]
    """Build the PTB Application with Balie's handlers; updates come from `bot.intake.worker`."""
    if settings.telegram_token is None:
        raise ValueError("TELEGRAM_TOKEN is not set")

    async def message(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """Answer a text, or explain that only text can be read."""
        incoming = update.effective_message
        text = incoming.text if incoming else None
        kind: TurnKind = "text" if text is not None else "non_text"
        await send(update, context, await balie.handle(turn_from(update, kind, text or "")))

    async def command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """Answer a command such as /start, /help, /taal or /vergeet."""
        incoming = update.effective_message
        text = incoming.text if incoming and incoming.text else "/help"
        await send(update, context, await balie.handle(turn_from(update, "command", text)))

    async def button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """Answer a button press; the pipeline refuses buttons it did not offer."""
        query = update.callback_query
        if query is None or (query.message and query.message.chat.type != ChatType.PRIVATE):
            return
        await query.answer()
        replies = await balie.handle(turn_from(update, "button", query.data or ""))
        if query.message is not None:
            await query.edit_message_reply_markup(None)
        await send(update, context, replies)

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
        await deliver(bot, told.chat_id, replies)


async def purge_daily(history: History, days: int) -> None:
    """Apply the retention time at start-up and then once a day."""
    while True:
        try:
            await purge(history, days, actor="schedule")
        except Exception:
            log.exception("purge failed; trying again tomorrow")
        await asyncio.sleep(PURGE_INTERVAL)


async def _log_error(update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
    log.error("telegram handler failed", exc_info=context.error)
    current = outbox.CURRENT.get()
    if current is not None and isinstance(context.error, RedisError | OSError):
        current.broken = True  # the worker tries the update again once Redis is back
