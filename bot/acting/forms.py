"""Running actions and guided forms: ask each slot, validate it with `validate_<form>`, submit.

A form is declared in `intents/forms.yml` (Rasa domain format plus its `submit` action). It
starts from a rule (`- action: <form>`), a `!form:<form>` button, or an action that returns an
`active_loop` event. While it runs, each text fills the requested slot; the rasa-sdk
`FormValidationAction` named `validate_<form>` checks it and may re-ask. When no slot is
missing, the submit action runs and the form's slots are forgotten. "stop" cancels.
"""

from typing import Any

from bot.acting.executor import Executor, UnknownAction, tracker
from bot.acting.router import Context, Router
from bot.nlu.content import Form
from bot.replies.render import Renderer, joined
from bot.state.store import ChatState
from bot.types import CancelForm, FillSlot, Parse, RepeatQuestion, Reply, StartForm

REQUESTED_SLOT = "requested_slot"
UNSET = object()


def _apply(events: list[dict[str, Any]], state: ChatState) -> tuple[object, str | None]:
    """Copy slot events into the state; return the requested slot set (or UNSET) and a loop."""
    requested: object = UNSET
    loop = None
    for event in events:
        if event.get("event") == "slot" and event.get("name") == REQUESTED_SLOT:
            requested = event.get("value")
        elif event.get("event") == "slot" and event.get("name") != "language":
            state.slots[event["name"]] = event.get("value")
        elif event.get("event") == "active_loop" and event.get("name"):
            loop = str(event["name"])
    return requested, loop


class Forms:
    """Runs actions for the pipeline, and the forms they or the rules start."""

    def __init__(self, forms: dict[str, Form], executor: Executor, renderer: Renderer) -> None:
        self.forms = forms
        self.executor = executor
        self.renderer = renderer
        self.domain = {"forms": {
            name: {"required_slots": list(form.required_slots)} for name, form in forms.items()
        }}
        self.router = Router()
        self.router.register(StartForm, self._start)
        self.router.register(FillSlot, self._fill)
        self.router.register(CancelForm, self._cancel)
        self.router.register(RepeatQuestion, self._repeat)

    async def act(
        self, name: str, state: ChatState, chat: str, text: str, parse: Parse | None
    ) -> list[Reply]:
        """Run an action; if it activates a form, ask that form's first missing slot."""
        result = await self.executor.run(name, tracker(chat, state, text, parse), self.domain)
        requested, loop = _apply(result.events, state)
        replies = self.renderer.messages(result.messages, state.language)
        if loop in self.forms:
            state.form = loop
            return joined(replies + await self._next(state, chat, requested))
        return replies

    async def _start(self, move: StartForm, context: Context) -> list[Reply]:
        state = context.state
        self._forget(state, self.forms[move.form])
        state.form = move.form
        return await self._next(state, context.chat_id, UNSET)

    async def _cancel(self, move: CancelForm, context: Context) -> list[Reply]:
        state = context.state
        form = self.forms.get(state.form)
        if form:
            self._forget(state, form)
        state.form = ""
        return [self.renderer.render("utter_form_cancelled", state.language)]

    async def _repeat(self, move: RepeatQuestion, context: Context) -> list[Reply]:
        """Ask the question the citizen did not answer (the privacy guard refused the answer)."""
        state = context.state
        return await self._next(state, context.chat_id, state.slots.get(REQUESTED_SLOT) or UNSET)

    async def _fill(self, move: FillSlot, context: Context) -> list[Reply]:
        """Fill the requested slot with the text, as `validate_<form>` accepts it."""
        state, chat, text = context.state, context.chat_id, move.text
        form = self.forms.get(state.form)
        if form is None:
            return await self._cancel(CancelForm(), context)
        slot = str(state.slots.get(REQUESTED_SLOT) or "")
        candidate = tracker(chat, state, text, context.parse)
        candidate["slots"].update({slot: text, REQUESTED_SLOT: slot})
        candidate["events"] = [{"event": "user", "text": text},
                               {"event": "slot", "name": slot, "value": text}]
        candidate["active_loop"] = {"name": form.name}
        try:
            result = await self.executor.run(f"validate_{form.name}", candidate, self.domain)
        except UnknownAction:
            state.slots[slot] = text
            return await self._next(state, chat, UNSET)
        requested, _ = _apply(result.events, state)
        replies = self.renderer.messages(result.messages, state.language)
        return joined(replies + await self._next(state, chat, requested))

    async def _next(self, state: ChatState, chat: str, requested: object) -> list[Reply]:
        """Ask the next missing slot, or submit the form when none is missing."""
        form = self.forms[state.form]
        if requested is UNSET:
            requested = next((s for s in form.required_slots if state.slots.get(s) is None), None)
        if requested:
            state.slots[REQUESTED_SLOT] = requested
            return [self.renderer.render(f"utter_ask_{requested}", state.language)]
        state.form = ""
        replies = await self.act(form.submit, state, chat, "", None)
        if not state.form:
            self._forget(state, form)
        return replies

    @staticmethod
    def _forget(state: ChatState, form: Form) -> None:
        """Drop a form's answers: they are only needed while it runs."""
        for slot in (*form.required_slots, REQUESTED_SLOT):
            state.slots.pop(slot, None)
