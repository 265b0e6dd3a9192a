"""The citizen's side of a handoff: the offer, the queue, messages out of hours and the rating."""

from bot.dialogue.policy import CANCEL_WORDS
from bot.handoff.desk import HandoffDesk, Kind, Ticket
from bot.replies import formats
from bot.replies.municipality import Municipality
from bot.replies.render import Renderer
from bot.state.store import ChatState
from bot.types import Reply, Step, Turn


class Reception:
    """Carries out the handoff moves the dialogue decides on, and speaks for the queue."""

    def __init__(self, desk: HandoffDesk, renderer: Renderer, town: Municipality) -> None:
        self.desk = desk
        self.renderer = renderer
        self.town = town

    def _say(self, name: str, state: ChatState, **values: object) -> list[Reply]:
        return [self.renderer.render(name, state.language, values)]

    def _next_opening(self, state: ChatState) -> str:
        now = self.town.now()
        return formats.moment(self.town.next_opening(now), now, state.language)

    def offer(self, state: ChatState) -> list[Reply]:
        """Ask "talk to a person?"; the answer comes as a button or as yes/no."""
        state.mode = "confirming"
        return self._say("utter_handoff_confirm", state)

    async def move(self, step: Step, state: ChatState, chat_id: str) -> list[Reply]:
        """Carry out one handoff move for the citizen and return what to tell them."""
        reason = state.last_intents[-1] if state.last_intents else None
        match step.name:
            case "offer":
                return self.offer(state)
            case "accept" if self.town.is_open(self.town.now()):
                position = await self.desk.enqueue(chat_id, "live", state.language, reason)
                minutes = await self.desk.expected_minutes(position)
                return self._say("utter_handoff_queued", state, position=position,
                                 minutes=minutes)
            case "accept":
                return self._say("utter_handoff_closed_hours", state,
                                 next_opening=self._next_opening(state))
            case "message" | "callback":
                state.mode = step.name
                return self._say(f"utter_handoff_ask_{step.name}", state)
            case "note":
                kind: Kind = "callback" if step.values.get("kind") == "callback" else "message"
                await self.desk.enqueue(chat_id, kind, state.language, reason,
                                        note=str(step.values["text"]))
                return self._say("utter_handoff_message_left", state,
                                 next_opening=self._next_opening(state))
            case "cancel":
                ticket = await self.desk.ticket(chat_id)
                if ticket is None or ticket.mode != "queued":
                    return self._say("utter_button_expired", state)
                await self.desk.close(chat_id, "citizen")
                return self._say("utter_handoff_cancelled", state)
            case "rate":
                await self.desk.rate(state.case, rating=int(str(step.values["rating"])))
                state.mode = "commenting"
                return self._say("utter_handoff_ask_comment", state)
            case "comment":
                await self.desk.rate(state.case, comment=str(step.values["text"]))
                return self._say("utter_handoff_thanks", state)
            case "skip":
                return self._say("utter_handoff_thanks", state)
        return self._say("utter_handoff_declined", state)

    async def waiting(
        self, ticket: Ticket, turn: Turn, text: str, state: ChatState
    ) -> list[Reply]:
        """While queued or with staff the bot is silent: messages go to staff; "stop" cancels."""
        if ticket.mode == "queued" and text.lower().strip(" .!") in CANCEL_WORDS:
            await self.desk.close(turn.chat_id, "citizen")
            return self._say("utter_handoff_cancelled", state)
        if turn.kind == "non_text":
            return self._say("utter_non_text", state)
        await self.desk.from_citizen(turn.chat_id, text)
        return []
