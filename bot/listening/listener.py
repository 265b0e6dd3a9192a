"""Listening, not only sending: announcements in answers, subscriptions, polls, thumbs up/down."""

import logging
import secrets
from dataclasses import replace

from redis.asyncio import Redis
from sqlalchemy.exc import SQLAlchemyError

from bot.acting.router import Context, Router
from bot.dialogue.buttons import payload
from bot.listening.announcements import Newsroom
from bot.listening.polls import Poll, Polls
from bot.nlu.content import Topic
from bot.replies import formats
from bot.replies.render import Renderer
from bot.state import keys
from bot.state.store import ChatState, PollCommenting
from bot.types import (
    Button,
    ChooseTopics,
    Feedback,
    Language,
    PollComment,
    PollVote,
    Reply,
    Subscribe,
    Unsubscribe,
)

log = logging.getLogger(__name__)
FEEDBACK = (Button("👍", payload(Feedback(True))), Button("👎", payload(Feedback(False))))
ASKED_SECONDS = 90 * 86400


def poll_buttons(poll: Poll, language: Language, nonce: str) -> tuple[Button, ...]:
    """One button per option; the data names the poll, so it also works in a broadcast."""
    return tuple(Button(label, payload(PollVote(poll.id, number, nonce)))
                 for number, label in enumerate(poll.labels(language)))


async def ask(client: "Redis", chat_id: str, poll_id: int) -> tuple[str, bool]:
    """Mark a poll as asked in a chat; return the nonce its buttons carry there.

    The flag says whether the poll is asked in the chat for the first time.
    """
    key, nonce = keys.poll_asked(chat_id, poll_id), secrets.token_urlsafe(6)
    if await client.set(key, nonce, nx=True, ex=ASKED_SECONDS):
        return nonce, True
    asked = await client.get(key)
    return (asked.decode() if isinstance(asked, bytes) else nonce), False


class Listening:
    """Adds what the department wants to tell or ask to answers, and records what citizens say."""

    def __init__(self, newsroom: Newsroom, polls: Polls, client: "Redis",
                 renderer: Renderer, topics: dict[str, Topic], rated: frozenset[str]) -> None:
        """Set up; `rated` are the intents whose answers get thumbs up/down (the tax topics)."""
        self.newsroom = newsroom
        self.rated = rated
        self.polls = polls
        self.client = client
        self.renderer = renderer
        self.topics = topics
        self.router = Router()
        self.router.register(ChooseTopics, self._choose)
        self.router.register(Subscribe, self._subscribe)
        self.router.register(Unsubscribe, self._unsubscribe)
        self.router.register(Feedback, self._feedback)
        self.router.register(PollVote, self._vote)
        self.router.register(PollComment, self._comment)

    def _say(self, name: str, state: ChatState, **values: object) -> list[Reply]:
        return [self.renderer.render(name, state.language, values)]

    async def after_answer(
        self, intent: str, state: ChatState, chat_id: str, replies: list[Reply]
    ) -> list[Reply]:
        """Append valid announcements and the thumbs; ask a poll meant for this intent once.

        These are extras: if the database fails, the answer still goes out without them.
        """
        if not replies:
            return replies
        try:
            return await self._extras(intent, state, chat_id, replies)
        except SQLAlchemyError:
            log.exception("announcements and polls unavailable; answering without them")
            return replies

    async def _extras(
        self, intent: str, state: ChatState, chat_id: str, replies: list[Reply]
    ) -> list[Reply]:
        notes = await self.newsroom.for_answer(intent, state.language, self.renderer.town.now(),
                                               state.tenant)
        last = replies[-1]
        text = "\n\n".join([last.text, *(f"📢 {note}" for note in notes)])
        # A question (a form's, or one the answer ends with) is answered, not rated.
        asks = bool(state.form) or last.text.rstrip().endswith("?")
        thumbs = FEEDBACK if intent in self.rated and not asks else ()
        replies = [*replies[:-1], replace(last, text=text, buttons=last.buttons + thumbs)]
        poll = await self.polls.after(intent, state.tenant)
        if poll and not await self.polls.voted(poll.id, chat_id):
            nonce, first = await ask(self.client, chat_id, poll.id)
            if first:
                replies.append(Reply(poll.question(state.language),
                                     poll_buttons(poll, state.language, nonce)))
        return replies

    def _picker(self, state: ChatState, chosen: set[str]) -> tuple[Button, ...]:
        """One button per topic; ✅ marks those chosen, and pressing one of them stops it."""
        return tuple(
            Button(("✅ " if name in chosen else "") + topic.names[state.language],
                   payload(Subscribe(name))) for name, topic in self.topics.items()
        )

    async def _choose(self, move: ChooseTopics, context: Context) -> list[Reply]:
        state = context.state
        chosen = await self.newsroom.subscribed(context.chat_id)
        [reply] = self._say("utter_subscribe_updates", state)
        return [replace(reply, buttons=self._picker(state, chosen) + reply.buttons)]

    async def _unsubscribe(self, move: Unsubscribe, context: Context) -> list[Reply]:
        await self.newsroom.unsubscribe(context.chat_id)
        return self._say("utter_unsubscribed", context.state)

    async def _subscribe(self, move: Subscribe, context: Context) -> list[Reply]:
        """Subscribe to a topic, or stop it when it was chosen; name all topics chosen now."""
        state = context.state
        topic = self.topics.get(move.topic)
        if topic is None:
            return self._say("utter_button_expired", state)
        chosen = await self.newsroom.subscribed(context.chat_id)
        if topic.key in chosen:
            await self.newsroom.unsubscribe(context.chat_id, topic.key)
            chosen.discard(topic.key)
        else:
            await self.newsroom.subscribe(context.chat_id, topic.key, state.language,
                                          state.tenant)
            chosen.add(topic.key)
        names = [t.names[state.language] for name, t in self.topics.items() if name in chosen]
        [reply] = (self._say("utter_subscribed", state,
                             topic=formats.listing(names, state.language))
                   if names else self._say("utter_unsubscribed", state))
        return [replace(reply, buttons=self._picker(state, chosen))]

    async def _feedback(self, move: Feedback, context: Context) -> list[Reply]:
        state = context.state
        if state.last_intents:
            await self.polls.feedback(context.chat_id, state.last_intents[-1], move.up,
                                      state.tenant)
        return self._say("utter_feedback_thanks", state)

    async def _comment(self, move: PollComment, context: Context) -> list[Reply]:
        await self.polls.comment(move.poll_id, context.chat_id, move.text)
        return self._say("utter_poll_thanks", context.state)

    async def _vote(self, move: PollVote, context: Context) -> list[Reply]:
        state = context.state
        asked = await self.client.get(keys.poll_asked(context.chat_id, move.poll_id))
        if not isinstance(asked, bytes) or not secrets.compare_digest(asked, move.nonce.encode()):
            return self._say("utter_button_expired", state)  # never asked here: forged
        intent = state.last_intents[-1] if state.last_intents else None
        if not await self.polls.vote(move.poll_id, context.chat_id, move.option, intent,
                                     state.tenant):
            return self._say("utter_poll_already", state)
        poll = await self.polls.get(move.poll_id)
        if poll and poll.free_text:
            state.mode = PollCommenting(move.poll_id)
            return self._say("utter_poll_ask_comment", state)
        return self._say("utter_poll_thanks", state)
