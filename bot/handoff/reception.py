"""The citizen's side of a handoff: the offer, the queue, messages out of hours and the rating."""

from dataclasses import replace

from bot.acting.router import Context, Router
from bot.dialogue.policy import CANCEL_WORDS, asks_to_forget
from bot.handoff.cases import SqlCases
from bot.handoff.desk import HandoffDesk, Ticket
from bot.history.masking import mask
from bot.replies import formats
from bot.replies.labels import Labels
from bot.replies.municipality import Municipality
from bot.replies.render import Renderer
from bot.state.store import ChatState, Commenting, Confirming, Noting
from bot.types import (
    AskNote,
    HandoffAccept,
    HandoffCancel,
    HandoffDecline,
    HandoffOffer,
    LeaveNote,
    Rate,
    RateComment,
    Relay,
    Reply,
    SkipComment,
    Turn,
    Withdraw,
)

NOTES = ("message", "callback")
# Button data that offers a person: one offer at a time, so these go when Balie asks itself.
OFFERS = {"/request_human", "!handoff:offer"}


class Reception:
    """Carries out the handoff moves the dialogue decides on, and speaks for the queue."""

    def __init__(
        self, desk: HandoffDesk, cases: SqlCases, renderer: Renderer, labels: Labels,
    ) -> None:
        self.desk = desk
        self.cases = cases
        self.renderer = renderer
        self.labels = labels
        self.router = Router()
        self.router.register(HandoffOffer, self._offer)
        self.router.register(HandoffAccept, self._accept)
        self.router.register(HandoffDecline, self._decline)
        self.router.register(HandoffCancel, self._cancel)
        self.router.register(AskNote, self._ask_note)
        self.router.register(LeaveNote, self._leave_note)
        self.router.register(Withdraw, self._withdraw)
        self.router.register(Rate, self._rate)
        self.router.register(RateComment, self._comment)
        self.router.register(SkipComment, self._skip)
        self.router.register(Relay, self._relay)

    @property
    def town(self) -> Municipality:
        """Return the municipality of the chat being handled: its office hours count."""
        return self.renderer.town

    def _say(self, name: str, state: ChatState, **values: object) -> list[Reply]:
        return [self.renderer.render(name, state.language, values)]

    def _next_opening(self, state: ChatState) -> str:
        now = self.town.now()
        return formats.moment(self.town.next_opening(now), now, state.language)

    def _on(self, channel: str, name: str) -> str:
        """Return the response's own version for a channel (`<name>_web`), if it has one."""
        return f"{name}_{channel}" if f"{name}_{channel}" in self.renderer.responses else name

    def _reason(self, state: ChatState) -> str | None:
        """What the chat is about for staff: its latest subject, not "a person, please"."""
        return self.labels.subject(state.last_intents)

    def offer(self, state: ChatState) -> list[Reply]:
        """Ask "talk to a person?"; the answer comes as a button or as yes/no."""
        state.mode = Confirming()
        return self._say("utter_handoff_confirm", state)

    def with_offer(
        self, replies: list[Reply], state: ChatState, wanted: bool, ticket: Ticket | None
    ) -> list[Reply]:
        """Offer a person at most once: "talk to a person?" when wanted, not while at the desk.

        The replies' own buttons that offer a person go when Balie asks itself, or when the
        chat is already queued or with staff.
        """
        if not (wanted or ticket):
            return replies
        kept = [replace(r, buttons=tuple(b for b in r.buttons if b.data not in OFFERS))
                for r in replies]
        return kept + self.offer(state) if wanted and not ticket else kept

    async def _waiting(self, context: Context) -> list[Reply] | None:
        """Tell a citizen already in the queue their place, instead of a second one."""
        if await self.desk.ticket(context.chat_id) is None:
            return None
        position = await self.desk.position(context.chat_id)
        return self._say("utter_handoff_position", context.state, position=position,
                         minutes=await self.desk.expected_minutes(position))

    async def _offer(self, move: HandoffOffer, context: Context) -> list[Reply]:
        return await self._waiting(context) or self.offer(context.state)

    async def _accept(self, move: HandoffAccept, context: Context) -> list[Reply]:
        state = context.state
        waiting = await self._waiting(context)
        if waiting:
            return waiting
        if not self.town.is_open(self.town.now()):
            return self._say("utter_handoff_closed_hours", state,
                             next_opening=self._next_opening(state))
        position = await self.desk.enqueue(context.chat_id, "live", state.language,
                                           self._reason(state), state.tenant)
        minutes = await self.desk.expected_minutes(position)
        return self._say("utter_handoff_queued", state, position=position, minutes=minutes)

    async def _decline(self, move: HandoffDecline, context: Context) -> list[Reply]:
        return self._say("utter_handoff_declined", context.state)

    async def _ask_note(self, move: AskNote, context: Context) -> list[Reply]:
        context.state.mode = Noting(move.note)
        return self._say(f"utter_handoff_ask_{move.note}", context.state)

    async def _leave_note(self, move: LeaveNote, context: Context) -> list[Reply]:
        """A message or call-back request becomes a task for staff; the bot keeps answering."""
        state = context.state
        task = await self.cases.task(context.chat_id, state.language, self._reason(state),
                                     mask(move.text), kind=move.note, tenant=state.tenant)
        if move.note == "callback":
            await self.desk.keep_numbers(context.chat_id, task, move.text)
        return self._say(self._on(context.turn.channel, "utter_handoff_message_left"), state,
                         next_opening=self._next_opening(state))

    async def _withdraw(self, move: Withdraw, context: Context) -> list[Reply]:
        withdrawn = await self.cases.withdraw(context.chat_id, NOTES)
        await self.desk.drop_numbers(context.chat_id, withdrawn)
        name = "utter_handoff_withdrawn" if withdrawn else "utter_handoff_nothing_to_withdraw"
        return self._say(name, context.state)

    async def _cancel(self, move: HandoffCancel, context: Context) -> list[Reply]:
        ticket = await self.desk.ticket(context.chat_id)
        if ticket is None or ticket.mode != "queued":
            return self._say("utter_button_expired", context.state)
        await self.desk.close(context.chat_id, "citizen")
        return self._say("utter_handoff_cancelled", context.state)

    async def _rate(self, move: Rate, context: Context) -> list[Reply]:
        await self.desk.rate(context.state.case, rating=move.rating)
        context.state.mode = Commenting()
        return self._say("utter_handoff_ask_comment", context.state)

    async def _comment(self, move: RateComment, context: Context) -> list[Reply]:
        await self.desk.rate(context.state.case, comment=move.text)
        return self._say("utter_handoff_thanks", context.state)

    async def _skip(self, move: SkipComment, context: Context) -> list[Reply]:
        return self._say("utter_handoff_thanks", context.state)

    async def holds(self, ticket: Ticket, turn: Turn, text: str) -> bool:
        """Tell whether staff hold this turn, which then goes to them and not to the bot.

        A chat a staff member claimed is theirs. While a citizen waits in the queue, "stop"
        and /vergeet are the queue's; anything else goes to staff and the bot answers it too.
        """
        if ticket.mode == "with_staff" or asks_to_forget(turn, text) or is_cancel(text):
            return True
        if turn.kind == "text":
            await self.desk.from_citizen(ticket.chat_id, text)
        return False

    async def _relay(self, move: Relay, context: Context) -> list[Reply]:
        """The chat is with staff (or leaves the queue): messages go to staff; "stop" cancels.

        /vergeet stays Balie's: it asks to confirm, and the erasure ends the handoff.
        """
        if asks_to_forget(context.turn, context.text):
            return self._say("utter_forget_confirm", context.state)
        if move.queued and is_cancel(context.text):
            await self.desk.close(context.chat_id, "citizen")
            return self._say("utter_handoff_cancelled", context.state)
        await self.desk.from_citizen(context.chat_id, context.text)
        return []


def is_cancel(text: str) -> bool:
    """Tell whether a text says "stop"."""
    return text.lower().strip(" .!") in CANCEL_WORDS
