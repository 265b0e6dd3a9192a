"""The path of every turn: clean → understand → decide → act → answer, with state and log."""

import logging
import secrets
import time
from dataclasses import replace
from functools import partial

from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from bot.acting.forms import Forms
from bot.dialogue import policy
from bot.handoff.reception import Reception
from bot.history.backlog import Backlog
from bot.history.log import Entry, History
from bot.history.retention import forget
from bot.listening.listener import Listening
from bot.nlu import model as nlu
from bot.nlu import sanitize
from bot.ops import metrics
from bot.replies.render import Renderer
from bot.state.store import ChatState, Pending, StateStore
from bot.types import Button, Language, Parse, Reply, Step, Turn, as_language

log = logging.getLogger(__name__)
FORGOTTEN = Step("forget", "yes")


class Balie:
    """Handles turns from any channel and returns the replies to send."""

    def __init__(
        self, *, store: StateStore, history: History, model: nlu.NLU, policy: policy.Policy,
        renderer: Renderer, forms: Forms, reception: Reception, listening: Listening,
        flood_per_minute: int,
    ) -> None:
        self.store = store
        self.history = history
        self.model = model
        self.policy = policy
        self.renderer = renderer
        self.forms = forms
        self.reception = reception
        self.listening = listening
        self.flood_per_minute = flood_per_minute

    async def handle(self, turn: Turn) -> list[Reply]:
        """Answer one turn; a replayed update gets no second answer."""
        started = time.perf_counter()
        chat = turn.chat_id
        try:
            # A redelivered update was started by a worker that died: answer it again (its
            # messages already sent are skipped by bot.intake.outbox).
            if turn.update_id is not None and not await self.store.first_sight(
                chat, turn.update_id
            ) and not turn.redelivered:
                log.info("replayed update ignored", extra={"chat": chat, "update": turn.update_id})
                return []
            turns = await self.store.count_turn(chat)
            if turns > self.flood_per_minute:
                return await self._flooded(turn, turns)
            async with self.store.locked(chat):
                state = await self.store.load(chat)
                text = sanitize.clean(turn.text)
                logged = policy.pressed(state, text) if turn.kind == "button" else text
                ticket = await self.reception.desk.ticket(chat)
                if ticket and turn.kind != "button":
                    parse, step = None, Step("handoff", "relay")
                    replies = await self.reception.waiting(ticket, turn, text, state)
                else:
                    parse = self._understand(turn, text)
                    step = policy.decide(state, turn, text, parse, self.policy)
                    replies = await self._perform(step, state, chat, text, parse)
                    if step.offer_handoff:
                        replies += self.reception.offer(state)
                replies = self._offer(replies, state)
                await self.store.save(chat, state)
        except Exception as error:
            if turn.queued and isinstance(error, RedisConnectionError | RedisTimeoutError):
                raise  # Redis is away: the worker tries the update again, no apology needed
            log.exception("turn failed", extra={"chat": chat, "update": turn.update_id})
            return [self._apology(turn)]
        latency = (time.perf_counter() - started) * 1000
        if step != FORGOTTEN:
            await self._record(turn, logged, state.language, parse, step, replies, latency)
        return replies

    async def _flooded(self, turn: Turn, turns: int) -> list[Reply]:
        """Too many turns this minute: one polite notice, then quiet; every message is logged."""
        language = (await self.store.load(turn.chat_id)).language
        replies = []
        if turns == self.flood_per_minute + 1:
            replies = [self.renderer.render("utter_flood", language)]
        step = Step("system", "utter_flood")
        await self._record(turn, sanitize.clean(turn.text), language, None, step, replies, 0.0)
        return replies

    def _understand(self, turn: Turn, text: str) -> Parse | None:
        if turn.kind != "text" or policy.screen(text, self.policy):
            return None
        return self.model.parse(text)

    async def _perform(
        self, step: Step, state: ChatState, chat: str, text: str, parse: Parse | None
    ) -> list[Reply]:
        if step.kind == "handoff":
            return await self.reception.move(step, state, chat)
        if step.kind in {"subscribe", "feedback", "poll"}:
            return await self.listening.move(step, state, chat)
        if step.kind == "forget":
            return await self._forget(step, state, chat)
        if step.kind == "form":
            return await self.forms.move(step, state, chat, text, parse)
        replies = await self._answer(step, state, chat, text, parse)
        if step.kind in {"answer", "act"} and step.intent:
            return await self.listening.after_answer(step.intent, state, chat, replies)
        return replies

    async def _answer(
        self, step: Step, state: ChatState, chat: str, text: str, parse: Parse | None
    ) -> list[Reply]:
        language = state.language
        if step.kind == "act":
            return await self.forms.act(step.name, state, chat, text, parse)
        if step.kind == "clarify":
            labels = [self.renderer.label(intent, language) for intent in step.options]
            reply = self.renderer.render(
                step.name, language, {"option_a": labels[0], "option_b": labels[1]}
            )
            buttons = tuple(
                Button(label[:1].upper() + label[1:], f"/{intent}")
                for label, intent in zip(labels, step.options, strict=True)
            )
            return [replace(reply, buttons=buttons)]
        return [self.renderer.render(step.name, language, step.values)]

    async def notify(
        self, chat_id: str, channel: str, response: str, values: dict[str, object],
        case: int | None = None,
    ) -> list[Reply]:
        """Say something to a citizen outside a turn (from the staff side), buttons bound."""
        async with self.store.locked(chat_id):
            state = await self.store.load(chat_id)
            if case is not None:
                state.case = case
            reply = self.renderer.render(response, state.language, values)
            replies = self._offer([reply], state)
            await self.store.save(chat_id, state)
        await self._write([Entry(chat_id, channel, "out", "handoff", r.text, state.language,
                                 intent=response) for r in replies])
        return replies

    async def _forget(self, step: Step, state: ChatState, chat: str) -> list[Reply]:
        """Erase the chat's data after the citizen confirmed; nothing of this turn is logged."""
        if step.name != "yes":
            return [self.renderer.render("utter_forget_cancelled", state.language)]
        await forget(self.history, self.store.client, chat)
        state.clear()
        return [self.renderer.render("utter_forgotten", state.language)]

    @staticmethod
    def _offer(replies: list[Reply], state: ChatState) -> list[Reply]:
        """Bind the buttons of this turn to the chat, so only they can be pressed next."""
        if not any(reply.buttons for reply in replies):
            return replies
        nonce = secrets.token_urlsafe(6)
        pending = Pending(nonce, [])
        bound = []
        for reply in replies:
            buttons = []
            for button in reply.buttons:
                buttons.append(Button(button.title, f"{nonce}:{len(pending.options)}"))
                pending.options.append(button.data)
                pending.titles.append(button.title)
            bound.append(replace(reply, buttons=tuple(buttons)))
        state.pending = pending
        return bound

    async def _write(self, entries: list[Entry]) -> None:
        await Backlog(self.store.client, self.history).write(entries)

    def _apology(self, turn: Turn) -> Reply:
        return self.renderer.render("utter_technical_problem", as_language(turn.language_hint))

    async def _record(
        self, turn: Turn, text: str, language: Language, parse: Parse | None, step: Step,
        replies: list[Reply], latency_ms: float,
    ) -> None:
        entry = partial(Entry, chat_id=turn.chat_id, channel=turn.channel, language=language)
        entries = [entry(
            direction="in", kind=turn.kind, text=text,
            intent=parse.intent if parse else step.intent,
            confidence=parse.confidence if parse else None, update_id=turn.update_id,
        )]
        entries += [
            entry(direction="out", kind=step.kind, text=reply.text, intent=step.intent,
                  latency_ms=round(latency_ms, 2))
            for reply in replies
        ]
        await self._write(entries)
        metrics.count_turn(step, len(replies), latency_ms)
        log.info("turn handled", extra={
            "chat": turn.chat_id, "channel": turn.channel, "kind": turn.kind, "step": step.kind,
            "intent": step.intent, "confidence": parse and round(parse.confidence, 3),
            "latency_ms": round(latency_ms, 2),
        })
