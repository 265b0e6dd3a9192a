"""Listening, not only sending: announcements in answers, subscriptions, polls, thumbs up/down."""

import logging
from dataclasses import replace

from redis.asyncio import Redis
from sqlalchemy.exc import SQLAlchemyError

from bot.listening.announcements import Newsroom
from bot.listening.polls import Poll, Polls
from bot.nlu.content import Topic
from bot.replies.render import Renderer
from bot.state.store import ChatState, key
from bot.types import Button, Language, Reply, Step

log = logging.getLogger(__name__)
FEEDBACK = (Button("👍", "!feedback:up"), Button("👎", "!feedback:down"))
ASKED_SECONDS = 90 * 86400


def poll_buttons(poll: Poll, language: Language) -> tuple[Button, ...]:
    """One button per option; the data names the poll, so it also works in a broadcast."""
    return tuple(Button(label, f"poll:{poll.id}:{number}")
                 for number, label in enumerate(poll.labels(language)))


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
        notes = await self.newsroom.for_answer(intent, state.language, self.renderer.town.now())
        last = replies[-1]
        text = "\n\n".join([last.text, *(f"📢 {note}" for note in notes)])
        thumbs = FEEDBACK if intent in self.rated else ()
        replies = [*replies[:-1], replace(last, text=text, buttons=last.buttons + thumbs)]
        poll = await self.polls.after(intent)
        if poll and not await self.polls.voted(poll.id, chat_id) and await self.client.set(
            key(chat_id, f"poll:{poll.id}"), 1, nx=True, ex=ASKED_SECONDS
        ):
            replies.append(Reply(poll.question(state.language),
                                 poll_buttons(poll, state.language)))
        return replies

    async def move(self, step: Step, state: ChatState, chat_id: str) -> list[Reply]:
        """Carry out a subscription, feedback or poll step."""
        match step.kind, step.name:
            case "subscribe", "choose":
                chosen = await self.newsroom.subscribed(chat_id)
                topics = tuple(
                    Button(("✅ " if name in chosen else "") + topic.names[state.language],
                           f"!subscribe:{name}") for name, topic in self.topics.items()
                )
                [reply] = self._say("utter_subscribe_updates", state)
                return [replace(reply, buttons=topics + reply.buttons)]
            case "subscribe", "stop":
                await self.newsroom.unsubscribe(chat_id)
                return self._say("utter_unsubscribed", state)
            case "subscribe", "add":
                topic = self.topics[str(step.values["topic"])]
                await self.newsroom.subscribe(chat_id, topic.key, state.language)
                return self._say("utter_subscribed", state, topic=topic.names[state.language])
            case "feedback", verdict:
                if state.last_intents:
                    await self.polls.feedback(chat_id, state.last_intents[-1], verdict == "up")
                return self._say("utter_feedback_thanks", state)
            case "poll", "vote":
                return await self._vote(step, state, chat_id)
            case "poll", "comment":
                await self.polls.comment(int(str(step.values["poll"])), chat_id,
                                         str(step.values["text"]))
                return self._say("utter_poll_thanks", state)
        raise ValueError(f"unknown listening step {step}")

    async def _vote(self, step: Step, state: ChatState, chat_id: str) -> list[Reply]:
        poll_id, choice = int(str(step.values["poll"])), int(str(step.values["choice"]))
        intent = state.last_intents[-1] if state.last_intents else None
        if not await self.polls.vote(poll_id, chat_id, choice, intent):
            return self._say("utter_poll_already", state)
        poll = await self.polls.get(poll_id)
        if poll and poll.free_text:
            state.mode = f"poll_comment:{poll_id}"
            return self._say("utter_poll_ask_comment", state)
        return self._say("utter_poll_thanks", state)
