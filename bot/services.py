"""Services: Redis, the database, the NLU model, the executor and the send budget, opened once.

Every entry point opens one `Services` (the worker's start, the console's lifespan, `balie
chat`) and closes it when it stops; consumers are handed the part they use.
"""

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta

from bot.acting.executor import ActionServices, Executor
from bot.acting.forms import Forms
from bot.dialogue import memory
from bot.dialogue.policy import Policy
from bot.handoff.cases import SqlCases
from bot.handoff.desk import HandoffDesk
from bot.handoff.reception import Reception
from bot.history.accounts import STAFF_ROLES, Accounts
from bot.history.backlog import Backlog
from bot.history.log import History
from bot.history.masking import Keep
from bot.intake.budget import RateLimit
from bot.listening.announcements import Newsroom
from bot.listening.listener import Listening
from bot.listening.polls import Polls
from bot.nlu import content
from bot.nlu.serving import load_or_train
from bot.pipeline import Balie
from bot.replies import labels, municipality, render
from bot.replies.render import Renderer
from bot.replies.tenants import Tenants, open_all
from bot.settings import Settings
from bot.state.store import StateStore


@dataclass(frozen=True)
class Services:
    """What a Balie process opens once: its clients, model and stores, and the turn pipeline."""

    settings: Settings
    content: content.Content
    tenants: Tenants
    store: StateStore
    history: History
    executor: Executor
    budget: RateLimit
    desk: HandoffDesk
    newsroom: Newsroom
    polls: Polls
    cases: SqlCases
    labels: labels.Labels
    balie: Balie
    backlog: Backlog
    _stack: contextlib.AsyncExitStack

    @classmethod
    async def open(cls, settings: Settings) -> "Services":
        """Load the content and the model, connect Redis and the database, build the pipeline."""
        loaded = content.load(settings.intents_dir)
        tenants = open_all(settings.facts, settings.tenant_keys, settings.municipality)
        named = labels.load(settings.intents_dir / "labels.yml")
        stack = contextlib.AsyncExitStack()
        try:
            model = await asyncio.to_thread(load_or_train, loaded, settings.model_cache)
            store = StateStore.open(settings.redis_url, settings.data_dir,
                                    timedelta(days=settings.state_ttl_days))
            stack.push_async_callback(store.close)
            # Balie's answers hold its own name ("Ik ben Balie") and the tenants' own phone
            # numbers and e-mail: not masked.
            keep = Keep.of([*(value for town in tenants.all.values()
                              for value in town.facts.values()), "Balie"])
            history = await History.open(settings.sqlalchemy_url, keep, settings.municipality)
            stack.push_async_callback(history.close)
            backlog = history.backlog = Backlog(store.client, history, settings.log_flush_seconds,
                                                settings.log_flush_turns)
            stack.push_async_callback(backlog.close)
            cases = SqlCases(history.engine, settings.municipality)
            executor = Executor(ActionServices(cases, tenants), settings.action_endpoint,
                                settings.actions_dir)
            stack.push_async_callback(executor.close)
            # Staff answer from the web console, with or without a Telegram staff group.
            accounts = Accounts(history, settings.password_time_cost,
                                settings.password_memory_kib)
            staffed = (settings.staff_chat_id is not None
                       or bool(await accounts.count(STAFF_ROLES)))
            renderer = Renderer(loaded.responses, tenants,
                                render.overrides(settings.intents_dir, tenants))
            desk = HandoffDesk(store.client, history, settings.handoff_minutes_per_citizen,
                               settings.stream_max_age_seconds, settings.abandon_minutes * 60)
            newsroom, polls = Newsroom(history, loaded.topics), Polls(history)
            balie = Balie(
                store=store, history=history, model=model, renderer=renderer,
                policy=_policy(settings, loaded, tenants, staffed),
                forms=Forms(loaded.forms, executor, renderer),
                reception=Reception(desk, cases, renderer, named),
                listening=Listening(newsroom, polls, store.client, renderer, loaded.topics,
                                    loaded.rated),
                flood_per_minute=settings.flood_per_minute, residence=loaded.residence,
                channel_tenants=channel_tenants(settings, tenants),
            )
            return cls(settings, loaded, tenants, store, history, executor,
                       RateLimit(store.client, settings.send_per_second), desk, newsroom, polls,
                       cases, named, balie, backlog, stack)
        except BaseException:
            await stack.aclose()
            raise

    @property
    def town(self) -> municipality.Municipality:
        """Return the default tenant (BALIE_MUNICIPALITY)."""
        return self.tenants.default

    async def close(self) -> None:
        """Close the action client, the database and Redis (in the reverse order of opening)."""
        await self._stack.aclose()

    @classmethod
    @contextlib.asynccontextmanager
    async def opened(cls, settings: Settings) -> AsyncIterator["Services"]:
        """Open the services for the block and close them after it."""
        services = await cls.open(settings)
        try:
            yield services
        finally:
            await services.close()


def channel_tenants(settings: Settings, tenants: Tenants) -> dict[str, str]:
    """Return the municipality of each channel that serves one (BALIE_TELEGRAM_TENANT)."""
    key = settings.telegram_tenant
    town = tenants.all.get(key)
    if key and (town is None or town.kind != "municipality"):
        raise municipality.FactsError(
            f"BALIE_TELEGRAM_TENANT is {key!r}, which is not one of the municipalities served "
            f"({', '.join(town.key for town in tenants.municipalities)}).")
    return {"telegram": key} if key else {}


def _policy(settings: Settings, loaded: content.Content, tenants: Tenants,
            staffed: bool) -> Policy:
    """Return the dialogue policy: the thresholds, and what the intents lead to here."""
    return Policy(
        threshold=settings.nlu_threshold,
        fallback=settings.nlu_fallback_threshold,
        margin=settings.nlu_margin,
        max_chars=settings.max_message_chars,
        actions=loaded.actions,
        clarifiable=loaded.clarifiable,
        handoffs=loaded.handoffs,
        always_human={town.key: town.always_human for town in tenants.all.values()},
        staffed=staffed,
        forms=frozenset(loaded.forms),
        form_slots=frozenset(slot for form in loaded.forms.values()
                             for slot in form.required_slots),
        form_stay=loaded.form_stay,
        memory=memory.load(settings.intents_dir / "follow_ups.yml", settings.memory_turns,
                           settings.memory_minutes),
        rated=loaded.rated,
        cues=loaded.cues,
    )
