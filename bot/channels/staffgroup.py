"""The staff desk on Telegram: a supergroup, one forum topic per citizen who asked for a person.

Staff press Claim in the topic, write there to talk to the citizen, and hand back with the
button or /close (/transfer puts the chat back in the queue). What happens comes in from the
handoff event stream, so any Balie process may have queued the chat.
"""

import asyncio
import contextlib
import html
import logging
import socket
from datetime import datetime
from functools import partial

from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup, Update, User
from telegram.constants import ChatMemberStatus, ParseMode
from telegram.error import TelegramError
from telegram.ext import ContextTypes

from bot.channels.notices import follow, join
from bot.handoff.cases import SqlCases
from bot.handoff.desk import HandoffDesk
from bot.handoff.events import (
    Cancelled,
    Claimed,
    Closed,
    Erased,
    Event,
    FromCitizen,
    FromStaff,
    Queued,
    Released,
    Reminder,
)
from bot.history.log import History
from bot.replies import formats
from bot.replies.render import Renderer
from bot.state import keys

log = logging.getLogger(__name__)

GROUP = "telegram"
MEMBERS = {ChatMemberStatus.OWNER, ChatMemberStatus.ADMINISTRATOR, ChatMemberStatus.MEMBER}
KINDS = {"live": "Chat", "task": "Taak", "message": "Bericht", "callback": "Terugbellen"}


def _keyboard(*buttons: tuple[str, str]) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup([[InlineKeyboardButton(t, callback_data=d) for t, d in buttons]])


class StaffDesk:
    """Telegram handlers for the staff group, and the reader of the handoff event stream."""

    def __init__(
        self, desk: HandoffDesk, history: History, cases: SqlCases, renderer: Renderer,
        chat_id: int, staff_ids: frozenset[int], reminder_seconds: int,
    ) -> None:
        self.desk = desk
        self.renderer = renderer
        self.timezone = renderer.town.timezone
        self.history = history
        self.cases = cases
        self.chat_id = chat_id
        self.staff_ids = staff_ids
        self.reminder_seconds = reminder_seconds
        self.consumer = socket.gethostname()

    # -- authorisation -----------------------------------------------------------------------

    async def authorised(self, bot: Bot, user: User | None) -> bool:
        """Staff are on the allow-list and members of the staff group."""
        if user is None or user.id not in self.staff_ids:
            return False
        try:
            member = await bot.get_chat_member(self.chat_id, user.id)
        except TelegramError:
            return False
        return member.status in MEMBERS

    async def _refuse(self, update: Update, chat: str | None, action: str) -> None:
        user = update.effective_user
        await self.desk.refuse(chat, f"telegram:{user.id if user else '?'}", action)

    # -- handlers ----------------------------------------------------------------------------

    async def button(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """Claim, hand back or transfer from the buttons in a topic."""
        query = update.callback_query
        if query is None or not query.data:
            return
        _, action, chat = query.data.split(":", 2)
        if not await self.authorised(context.bot, query.from_user):
            await self._refuse(update, chat, action)
            await query.answer("Alleen medewerkers van de balie kunnen dit doen.", show_alert=True)
            return
        await query.answer(await self._act(action, chat, query.from_user))

    async def command(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """/close and /transfer typed in a citizen's topic."""
        message = update.effective_message
        if message is None or not message.text:
            return
        action = message.text.split()[0].lstrip("/").split("@")[0]
        chat = await self.desk.chat_of_topic(message.message_thread_id or 0)
        if not await self.authorised(context.bot, update.effective_user):
            await self._refuse(update, chat, action)
            return
        if chat is None or update.effective_user is None:
            await message.reply_text("Dit onderwerp hoort niet bij een burger.")
            return
        await message.reply_text(await self._act(action, chat, update.effective_user))

    async def _act(self, action: str, chat: str, user: User) -> str:
        agent = str(user.id)
        ticket = await self.desk.ticket(chat)
        if action == "claim":
            claim = await self.desk.claim(chat, agent, user.first_name)
            if claim.won:
                return "Je hebt deze chat."
            if not claim.owner:
                return "Deze chat wacht niet meer."
            return f"Al geclaimd door {claim.owner}."
        if ticket is None or ticket.mode != "with_staff" or ticket.agent != agent:
            return "Alleen wie deze chat heeft, kan dat doen."
        if action == "transfer":
            await self.desk.release(chat, user.first_name)
            return "Terug in de wachtrij."
        await self.desk.close(chat, user.first_name)
        return "Teruggegeven aan Balie."

    async def message(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """Relay what the owning staff member writes in a topic to the citizen."""
        message = update.effective_message
        user = update.effective_user
        if message is None or not message.text or message.message_thread_id is None:
            return
        chat = await self.desk.chat_of_topic(message.message_thread_id)
        if chat is None:
            return
        if not await self.authorised(context.bot, user):
            await self._refuse(update, chat, "relay")
            return
        if user is None or not await self.desk.from_staff(chat, str(user.id), message.text):
            await message.reply_text("Claim deze chat eerst: alleen wie hem heeft, praat mee.")

    # -- the event stream --------------------------------------------------------------------

    async def run(self, bot: Bot) -> None:
        """Read handoff events until cancelled; unacknowledged ones are read again on restart."""
        await join(self.desk.client, GROUP, start="0")
        reminders = asyncio.create_task(self._remind(bot))
        try:
            await follow(self.desk.client, GROUP, self.consumer, partial(self._handle, bot))
        finally:
            reminders.cancel()

    async def _remind(self, bot: Bot) -> None:
        while True:
            await asyncio.sleep(max(1.0, min(30.0, self.reminder_seconds / 3)))
            try:
                for ticket in await self.desk.overdue(self.reminder_seconds):
                    await self.desk.publish(
                        Reminder(ticket.chat_id, round(self.reminder_seconds / 60, 1)))
                await self._post_tasks(bot)
            except Exception:
                log.exception("handoff reminders failed; trying again later")

    def _label(self, intent: str | None) -> str:
        """Name what a citizen asked about in Dutch words, for staff."""
        name = f"utter_label_{intent}"
        if intent and name in self.renderer.responses:
            return self.renderer.render(name, "nl").text
        return "algemene vraag"

    def _title(self, kind: str, case: int, reason: str | None, language: str,
               tenant: str) -> str:
        """Return a handoff's title: `Chat #12 · bezwaar maken · NL (· Westerstad)`.

        The municipality is named when the group serves several.
        """
        title = f"{KINDS.get(kind, 'Chat')} #{case} · {self._label(reason)} · {language.upper()}"
        tenants = self.renderer.tenants
        if not tenants.shared:
            return title
        return f"{title} · {tenants.get(tenant).name.removeprefix('Gemeente ')}"

    async def _post_tasks(self, bot: Bot) -> None:
        """Post each new non-live task (a payment arrangement, a message left) once."""
        tasks = await self.cases.tasks()
        numbers = await self.desk.numbers(tasks)
        for task in tasks:
            if not await self.desk.client.sadd(keys.TASKS_POSTED, task.id):
                continue
            phone = f" (☎ {numbers[task.id]})" if task.id in numbers else ""
            title = self._title(task.kind, task.id, task.reason, task.language, task.tenant)
            text = f"📋 {title}\n{task.note}{phone}"
            try:
                await bot.send_message(self.chat_id, html.escape(text, quote=False),
                                       parse_mode=ParseMode.HTML)
            except TelegramError:
                await self.desk.client.srem(keys.TASKS_POSTED, task.id)
                raise

    async def _handle(self, bot: Bot, event: Event) -> None:
        """Show an event in the citizen's topic (the citizen's channel tells the citizen)."""
        chat = event.chat_id
        match event:
            case Queued():
                await self._open_topic(bot, event)
            case FromCitizen(text=text):
                await self._post(bot, chat, f"💬 Burger: {text}")
            case Claimed(agent_name=agent):
                await self._post(bot, chat, f"✅ {agent} heeft deze chat.",
                                 _keyboard(("Teruggeven aan Balie", f"staff:close:{chat}"),
                                           ("Terug naar wachtrij", f"staff:transfer:{chat}")))
            case FromStaff(text=text, agent_name=agent, source="console"):
                await self._post(bot, chat, f"🧑‍💼 {agent}: {text}")
            case Released():
                await self._post(bot, chat, "↩️ Terug in de wachtrij.",
                                 _keyboard(("Claim", f"staff:claim:{chat}")))
            case Closed() | Cancelled():
                text = "🔚 Teruggegeven aan Balie." if isinstance(event, Closed) else (
                    "❌ Burger annuleerde.")
                await self._post(bot, chat, text)
                await self._close_topic(bot, chat)
            case Erased(topic=topic) if topic:
                await self._post_in(bot, topic, "🗑️ Burger beëindigde de chat en wiste die.")
                with contextlib.suppress(TelegramError):
                    await bot.close_forum_topic(self.chat_id, topic)
            case Reminder(minutes=minutes):
                waited = f"⏰ Wacht al {formats.minutes(minutes, 'nl')} op een medewerker."
                await self._post(bot, chat, waited, _keyboard(("Claim", f"staff:claim:{chat}")))

    async def _open_topic(self, bot: Bot, event: Queued) -> None:
        chat = event.chat_id
        topic = await self.desk.topic_of(chat)
        name = self._title(event.kind, event.case, event.reason or None, event.language,
                           event.tenant)[:128]
        if topic is None:
            created = await bot.create_forum_topic(self.chat_id, name)
            topic = created.message_thread_id
            await self.desk.remember_topic(chat, topic)
        else:
            with contextlib.suppress(TelegramError):
                await bot.reopen_forum_topic(self.chat_id, topic)
                await bot.edit_forum_topic(self.chat_id, topic, name=name)
        await self._post(bot, chat, await self._summary(event),
                         _keyboard(("Claim", f"staff:claim:{chat}")))

    async def _summary(self, event: Queued) -> str:
        history = await self.history.conversation(event.chat_id)
        asked = [m.intent for m in history if m.intent and m.direction == "in"]
        topics = list(dict.fromkeys(self._label(intent) for intent in asked))
        # When the chat was queued, on the municipality's clock (not the server's).
        since = datetime.fromtimestamp(event.at, self.timezone).strftime("%H:%M")
        lines = [
            f"{KINDS.get(event.kind, 'Chat')} · taal {event.language.upper()} · "
            f"plek {event.position} · sinds {since}",
            f"Onderwerpen: {', '.join(topics[-5:]) or '-'}",
            "Laatste berichten:",
            *(f"{'Burger' if m.direction == 'in' else 'Balie'}: {m.text[:200]}"
              for m in history[-6:]),
        ]
        return "\n".join(lines)

    async def _post(
        self, bot: Bot, chat: str, text: str, markup: InlineKeyboardMarkup | None = None
    ) -> None:
        topic = await self.desk.topic_of(chat)
        if topic is not None:
            await self._post_in(bot, topic, text, markup)

    async def _post_in(
        self, bot: Bot, topic: int, text: str, markup: InlineKeyboardMarkup | None = None
    ) -> None:
        await bot.send_message(self.chat_id, html.escape(text[:4000], quote=False),
                               message_thread_id=topic, parse_mode=ParseMode.HTML,
                               reply_markup=markup)

    async def _close_topic(self, bot: Bot, chat: str) -> None:
        topic = await self.desk.topic_of(chat)
        if topic is not None:
            with contextlib.suppress(TelegramError):
                await bot.close_forum_topic(self.chat_id, topic)
