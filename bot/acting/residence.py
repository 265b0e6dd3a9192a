"""Where the citizen lives: asked once on a shared channel, changed by "ik woon in …".

A channel of one municipality (its own Telegram bot, the web chat on its site) gives the chat
its tenant; on a shared one Balie asks, keeps the question asked meanwhile (masked), and answers
it as soon as a button, a postcode or a municipality's name says where the citizen lives.
"""

import re
from collections.abc import Awaitable, Callable
from dataclasses import replace

from bot.acting.router import Context, Router
from bot.dialogue import buttons, memory
from bot.dialogue.policy import Policy, answer
from bot.history.masking import Keep, mask
from bot.replies.municipality import Municipality
from bot.replies.render import Renderer
from bot.state.store import ChatState
from bot.types import Button, ChooseTenant, Move, Reply, Turn

# The municipalities are offered as buttons up to this many; with more, the citizen types the
# name or a postcode.
TENANT_BUTTONS = 8
# The pipeline answering within this turn: a move, or (None) a text as if it came in now.
Replay = Callable[[Context, Move | None], Awaitable[list[Reply]]]


class Residence:
    """Serves each turn its tenant, and carries out `ChooseTenant`."""

    def __init__(self, renderer: Renderer, keep: Keep, policy: Policy,
                 phrases: re.Pattern[str] | None, channel_tenants: dict[str, str],
                 replay: Replay) -> None:
        self.renderer = renderer
        self.tenants = renderer.tenants
        self.keep = keep
        self.policy = policy
        self.phrases = phrases
        self.channel_tenants = channel_tenants
        self.replay = replay
        self.router = Router()
        self.router.register(ChooseTenant, self._choose)

    def serve(self, turn: Turn, state: ChatState | None = None) -> Municipality | None:
        """Answer for the chat's municipality: its channel's or the citizen's; None: ask it."""
        if state is None:  # until the chat's state is read
            self.tenants.serve(self.tenants.get(self.channel_tenants.get(turn.channel)))
            return None
        if not state.tenant:
            state.tenant = self.channel_tenants.get(turn.channel, "")
        town = self.tenants.chosen(state.tenant)
        self.tenants.serve(town or self.tenants.default)
        return town

    def decide(self, turn: Turn, state: ChatState, text: str) -> ChooseTenant | None:
        """Read where the citizen lives: asked for on a shared channel, or said ("ik woon in")."""
        if turn.kind != "text" or state.form or state.mode is not None or not self.tenants.shared:
            return None
        if self.tenants.chosen(state.tenant) is None:
            town = self.tenants.named(text) or self.tenants.by_postcode(text)
            return ChooseTenant(town.key if town else None)
        said = self.phrases is not None and self.phrases.search(text.lower()) is not None
        town = self.tenants.named(text) if said else None
        return ChooseTenant(town.key) if town and town.key != state.tenant else None

    def ask(self, state: ChatState) -> list[Reply]:
        """Ask which municipality the citizen lives in, with a button for each (if few)."""
        towns = self.tenants.municipalities
        asked = "utter_tenant_ask_held" if state.held else "utter_tenant_ask"
        reply = self.renderer.render(asked, state.language)
        choices = tuple(Button(town.name, buttons.payload(ChooseTenant(town.key)))
                        for town in towns) if len(towns) <= TENANT_BUTTONS else ()
        return [replace(reply, buttons=choices)]

    async def _choose(self, move: ChooseTenant, context: Context) -> list[Reply]:
        """Make a municipality the chat's, then answer what was asked before; or ask which."""
        state = context.state
        town = self.tenants.all.get(move.tenant or "")
        if town is None or town.kind != "municipality":
            small_talk = self.policy.form_stay - self.policy.memory.calculated
            if context.turn.kind == "text" and not (
                    context.parse and context.parse.intent in small_talk):
                state.held = mask(context.text, self.keep)
            return self.ask(state)
        moved = bool(state.tenant)
        state.tenant = town.key
        self.tenants.serve(town)
        replies = [self.renderer.render("utter_tenant_chosen", state.language,
                                        {"tenant_name": town.name})]
        held, state.held = state.held, ""
        topic = state.memory.get(memory.TOPIC)
        if held:
            heard = replace(context.turn, kind="text", text=held)
            replies += await self.replay(Context(heard, state, held, None), None)
        elif moved and topic and topic.value in self.policy.rated:
            # The answer just given was another municipality's: give this one's.
            again = answer(str(topic.value), self.policy, town.key)
            replies += await self.replay(replace(context, text="", parse=None), again)
        return replies
