"""The path of every turn: clean → understand → decide → act → answer, with state and log."""

import logging
import re
import time
from dataclasses import dataclass, replace
from functools import partial

from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from bot.acting.forms import Forms
from bot.acting.residence import Residence
from bot.acting.router import Context, Router
from bot.dialogue import buttons, cues, guard, policy, several
from bot.handoff.desk import Ticket
from bot.handoff.reception import Reception
from bot.history.log import FORM_ANSWER, Entry, History
from bot.history.retention import forget
from bot.listening.listener import Listening
from bot.nlu import sanitize
from bot.nlu.serving import NLU
from bot.ops import metrics
from bot.replies.render import Renderer
from bot.state.store import ChatState, StateStore
from bot.types import (
    Act,
    Answer,
    Button,
    CancelForm,
    ChooseLanguage,
    Clarify,
    Fallback,
    FillSlot,
    Forget,
    Guarded,
    Language,
    Move,
    Parse,
    Relay,
    RepeatQuestion,
    Reply,
    Say,
    Several,
    Turn,
    as_language,
)

log = logging.getLogger(__name__)
FORGOTTEN = Forget(True)
START = Say("utter_start")


@dataclass(frozen=True)
class Answered:
    """A turn's replies, the chat's language after it, and whether it ended the chat (/vergeet)."""

    replies: list[Reply]
    language: Language
    ended: bool = False


def answered_form(move: Move, form: str) -> str:
    """Name the form a turn answered (`form:tax_form`), or "" for a turn that asked something."""
    step = move.then if isinstance(move, Guarded) else move
    return FORM_ANSWER + form if form and isinstance(
        step, FillSlot | RepeatQuestion | CancelForm) else ""


class Balie:
    """Handles turns from any channel and returns the replies to send."""

    def __init__(
        self, *, store: StateStore, history: History, model: NLU, policy: policy.Policy,
        renderer: Renderer, forms: Forms, reception: Reception, listening: Listening,
        flood_per_minute: int, residence: re.Pattern[str] | None = None,
        channel_tenants: dict[str, str] | None = None,
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
        self.tenants = renderer.tenants
        # A channel of one municipality (its own Telegram bot); a shared one asks the citizen.
        self.residence = Residence(renderer, history.keep, policy, residence,
                                   channel_tenants or {}, self._again)
        self.router = Router()
        self.router.register(Say, self._say)
        self.router.register(Answer, self._answer)
        self.router.register(Act, self._act)
        self.router.register(Clarify, self._clarify)
        self.router.register(Fallback, self._fallback)
        self.router.register(Forget, self._forget)
        self.router.register(Guarded, self._guarded)
        self.router.register(Several, self._several)
        self.router.register(ChooseLanguage, self._choose_language)
        self.router.include(forms.router, reception.router, listening.router,
                            self.residence.router)

    async def handle(self, turn: Turn) -> list[Reply]:
        """Answer one turn; a replayed update gets no second answer."""
        return (await self.answer(turn)).replies

    async def answer(self, turn: Turn) -> Answered:
        """Answer one turn as `handle`, saying the chat's language after it and if it ended."""
        started = time.perf_counter()
        chat = turn.chat_id
        language = as_language(turn.language_hint)
        self.residence.serve(turn)
        try:
            # A redelivered update was started by a worker that died: answer it again (its
            # messages already sent are skipped by bot.intake.outbox).
            begun = await self.store.begin(chat, turn.update_id, False, self.flood_per_minute)
            if begun is None:
                log.info("replayed update ignored", extra={"chat": chat, "update": turn.update_id})
                return Answered([], language)
            language = begun.state.language
            town = self.residence.serve(turn, begun.state)
            if begun.token is None:
                return Answered(await self._flooded(turn, begun.turns, language), language)
            try:
                state = begun.state
                text = sanitize.clean(turn.text)
                logged = buttons.pressed(state, text) if turn.kind == "button" else text
                ticket = Ticket.from_hash(chat, begun.ticket)
                move: Move
                form = ""
                said = text  # what is understood: the text without the personal data in it
                if ticket and turn.kind != "button" and await self.reception.holds(
                        ticket, turn, text):
                    parse, move = None, Relay(ticket.mode == "queued")
                else:
                    finding = self._guard(turn, state, text)
                    said = finding.rest if finding else text
                    parse, move = self._decide(turn, state, said)
                    if finding:
                        logged = finding.logged
                        move = guard.guarded(finding, move, parse, state, self.policy)
                    form = answered_form(move, state.form)
                replies = await self.router.perform(move, Context(turn, state, said, parse))
                if move == START and town is None:  # a shared channel greets, then asks
                    replies = [self.renderer.render("utter_start_shared", state.language),
                               *self.residence.ask(state)]
                replies = self.reception.with_offer(replies, state, move.offer_handoff, ticket)
                replies = buttons.bind(replies, state)
                latency = (time.perf_counter() - started) * 1000
                entries = [] if move == FORGOTTEN else self._entries(
                    turn, logged, state.language, parse, move, replies, latency, form)
                backlog = self.history.backlog
                # The log's batch is queued by the script that ends the turn.
                batch = await backlog.batch(entries) if backlog and entries else None
            except BaseException:
                await self.store.unlock(chat, begun.token)
                raise
            waiting = await self.store.end(chat, state, begun.token, batch)
        except Exception as error:
            if turn.queued and isinstance(error, RedisConnectionError | RedisTimeoutError):
                raise  # Redis is away: the worker tries the update again, no apology needed
            log.exception("turn failed", extra={"chat": chat, "update": turn.update_id})
            return Answered([self._apology(language)], language)
        if entries:
            if backlog and batch:
                backlog.queued(waiting)
            else:
                await self._write(entries)
            self._handled(turn, parse, move, replies, latency)
        return Answered(replies, state.language, move == FORGOTTEN)

    async def _flooded(self, turn: Turn, turns: int, language: Language) -> list[Reply]:
        """Too many turns this minute: one polite notice, then quiet; flooded turns are counted.

        One row marks the flood in the log; the flooded texts themselves are not stored.
        """
        metrics.FLOODED.inc()
        if turns > self.flood_per_minute + 1:
            return []
        replies = [self.renderer.render("utter_flood", language)]
        marker = f"[flood: more than {self.flood_per_minute} messages in a minute]"
        await self._record(turn, marker, language, None, Say("utter_flood"), replies, 0.0)
        return replies

    def _understand(self, turn: Turn, text: str) -> Parse | None:
        if turn.kind != "text" or policy.screen(text, self.policy):
            return None
        return self.model.parse(text)

    def _guard(self, turn: Turn, state: ChatState, text: str) -> guard.Finding | None:
        """Look for personal data in a message typed while Balie just listens or asks a form."""
        if turn.kind != "text" or state.mode is not None:
            return None
        finding = guard.find(text, self.history.keep)
        language = finding and self.model.language(text)
        if language and not state.language_locked:
            state.language = language
        return finding

    def _decide(self, turn: Turn, state: ChatState, text: str) -> tuple[Parse | None, Move]:
        """Understand a text and choose the move: several questions, a cue's variant or one."""
        parse = self._understand(turn, text)
        residence = self.residence.decide(turn, state, text)
        if residence:
            buttons.expire(state)
            language = self.model.language(text)
            if language and not state.language_locked:
                state.language = language
            return parse, residence
        if parse:
            asked = several.decide(state, text, parse, self.model.parse, self.policy)
            if asked:
                return parse, asked
        move = policy.decide(state, turn, text, parse, self.policy)
        return parse, cues.refine(move, text, self.policy.cues) if parse else move

    async def _say(self, move: Say, context: Context) -> list[Reply]:
        return [self.renderer.render(move.response, context.state.language, move.values)]

    async def _answer(self, move: Answer, context: Context) -> list[Reply]:
        reply = self.renderer.render(move.response, context.state.language)
        return await self._extras(move, context, [reply])

    async def _act(self, move: Act, context: Context) -> list[Reply]:
        replies = await self.forms.act(
            move.action, context.state, context.chat_id, context.text, context.parse
        )
        return await self._extras(move, context, replies)

    async def _extras(self, move: Move, context: Context, replies: list[Reply]) -> list[Reply]:
        """Add announcements, thumbs and polls to an answer."""
        if not move.intent:
            return replies
        return await self.listening.after_answer(move.intent, context.state, context.chat_id,
                                                 replies)

    async def _clarify(self, move: Clarify, context: Context) -> list[Reply]:
        language = context.state.language
        labels = [self.renderer.label(intent, language) for intent in move.options]
        reply = self.renderer.render(
            "utter_clarify", language, {"option_a": labels[0], "option_b": labels[1]}
        )
        choices = tuple(
            Button(label[:1].upper() + label[1:], buttons.payload(buttons.Asked(intent)))
            for label, intent in zip(labels, move.options, strict=True)
        )
        return [replace(reply, buttons=choices)]

    async def _guarded(self, move: Guarded, context: Context) -> list[Reply]:
        warning = self.renderer.render(move.response, context.state.language)
        if move.then is None:
            return [warning]
        return [warning, *await self.router.perform(move.then, context)]

    async def _several(self, move: Several, context: Context) -> list[Reply]:
        replies: list[Reply] = []
        for text, parse, part in move.parts:
            replies += await self.router.perform(part, replace(context, text=text, parse=parse))
        return replies

    async def _choose_language(self, move: ChooseLanguage, context: Context) -> list[Reply]:
        state = context.state
        if move.language is None:
            return [self.renderer.render("utter_language_choose", state.language)]
        state.language, state.language_locked = move.language, True
        return [self.renderer.render("utter_language_switched", state.language)]

    async def _again(self, context: Context, move: Move | None) -> list[Reply]:
        """Answer within this turn a move, or (None) the context's text as if it came in now."""
        parse = context.parse
        if move is None:
            parse, move = self._decide(context.turn, context.state, context.text)
        return await self.router.perform(move, replace(context, parse=parse))

    async def _fallback(self, move: Fallback, context: Context) -> list[Reply]:
        # The second time Balie asks whether to bring in a person, so the answer offers none.
        response = "utter_fallback_again" if move.offer_handoff else "utter_fallback"
        return [self.renderer.render(response, context.state.language)]

    async def notify(
        self, chat_id: str, channel: str, response: str, values: dict[str, object],
        case: int | None = None,
    ) -> list[Reply]:
        """Say something to a citizen outside a turn (from the staff side), buttons bound."""
        async with self.store.locked(chat_id):
            state = await self.store.load(chat_id)
            self.tenants.serve(self.tenants.get(state.tenant))
            if case is not None:
                state.case = case
            reply = self.renderer.render(response, state.language, values)
            replies = buttons.bind([reply], state)
            await self.store.save(chat_id, state)
        await self._write([Entry(chat_id, channel, "out", "handoff", r.text, state.language,
                                 intent=response, tenant=state.tenant) for r in replies])
        return replies

    async def _forget(self, move: Forget, context: Context) -> list[Reply]:
        """Erase the chat's data after the citizen confirmed; nothing of this turn is logged."""
        state = context.state
        if not move.confirmed:
            return [self.renderer.render("utter_forget_cancelled", state.language)]
        await self.reception.desk.erase(context.chat_id)
        await forget(self.history, self.store.client, context.chat_id)
        state.clear()
        return [self.renderer.render("utter_forgotten", state.language)]

    async def _write(self, entries: list[Entry]) -> None:
        await self.history.log(entries)

    def _apology(self, language: Language) -> Reply:
        return self.renderer.render("utter_technical_problem", language)

    async def _record(
        self, turn: Turn, text: str, language: Language, parse: Parse | None, move: Move,
        replies: list[Reply], latency_ms: float,
    ) -> None:
        await self._write(self._entries(turn, text, language, parse, move, replies, latency_ms))
        self._handled(turn, parse, move, replies, latency_ms)

    def _entries(
        self, turn: Turn, text: str, language: Language, parse: Parse | None, move: Move,
        replies: list[Reply], latency_ms: float, form: str = "",
    ) -> list[Entry]:
        """Return the log's rows of a turn: the citizen's message and each reply.

        An answer to a form's question is logged under the form, without a confidence.
        """
        entry = partial(Entry, chat_id=turn.chat_id, channel=turn.channel, language=language,
                        tenant=self.tenants.serving.key)
        entries = [entry(
            direction="in", kind=turn.kind, text=text,
            intent=form or (parse.intent if parse else move.intent),
            confidence=parse.confidence if parse and not form else None,
            update_id=turn.update_id,
        )]
        return entries + [
            entry(direction="out", kind=move.kind, text=reply.text, intent=move.intent,
                  latency_ms=round(latency_ms, 2))
            for reply in replies
        ]

    def _handled(
        self, turn: Turn, parse: Parse | None, move: Move, replies: list[Reply],
        latency_ms: float,
    ) -> None:
        metrics.count_turn(move, len(replies), latency_ms)
        log.info("turn handled", extra={
            "chat": turn.chat_id, "channel": turn.channel, "kind": turn.kind, "step": move.kind,
            "intent": move.intent, "confidence": parse and round(parse.confidence, 3),
            "latency_ms": round(latency_ms, 2),
        })
