"""Runs the rasa-sdk actions in `actions/` (or BALIE_ACTIONS_DIR) on a chat state's tracker.

In process by default; with an action endpoint, over HTTP to a rasa-sdk action server
(`python -m rasa_sdk --actions actions`) with the same webhook protocol Rasa uses. An action
finds what it works with (the cases backend, the municipality's facts) through
`action_services()`: the executor's in process, the action server's own otherwise.
"""

import copy
import importlib.util
import inspect
import pkgutil
import sys
from contextvars import ContextVar
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from types import ModuleType
from typing import Any

import httpx
from rasa_sdk import Action, Tracker
from rasa_sdk.executor import ActionExecutor
from rasa_sdk.interfaces import ActionNotFoundException
from rasa_sdk.utils import all_subclasses
from sqlalchemy.ext.asyncio import create_async_engine

from bot.handoff.cases import SqlCases
from bot.replies.municipality import Municipality
from bot.replies.tenants import Tenants, open_all
from bot.settings import ACTIONS_DIR, Settings
from bot.state.store import ChatState
from bot.types import Parse

ENDPOINT_TIMEOUT = 10.0
# Keys of a rasa-sdk message dict that are not values for the response template.
MESSAGE_KEYS = {"text", "buttons", "elements", "custom", "template", "response", "image",
                "attachment"}


@dataclass(frozen=True)
class ActionServices:
    """What actions work with: the cases backend and the tenants' facts."""

    cases: SqlCases
    tenants: Tenants

    def town(self, tracker: Tracker) -> Municipality:
        """Return the municipality whose facts answer the chat (its `tenant` slot)."""
        return self.tenants.get(tracker.get_slot("tenant"))


_RUNNING: ContextVar[ActionServices | None] = ContextVar("action_services", default=None)


def action_services() -> ActionServices:
    """Return the services of the action being run: its executor's, or the action server's."""
    return _RUNNING.get() or _standalone()


@cache
def _standalone() -> ActionServices:
    # The one place besides the entry points that reads Settings: under
    # `python -m rasa_sdk --actions actions` no Balie process hands the actions their
    # services, so the action server builds them from the environment, once, at first use.
    settings = Settings()
    return ActionServices(SqlCases(create_async_engine(settings.sqlalchemy_url),
                                   settings.municipality),
                          open_all(settings.facts, settings.tenant_keys, settings.municipality))


class UnknownAction(Exception):
    """No action of that name is registered (in process, or on the action server)."""


@dataclass(frozen=True)
class Result:
    """What an action did: events (e.g. SlotSet) and messages (response names with values)."""

    events: list[dict[str, Any]]
    messages: list[dict[str, Any]]


def tracker(chat_id: str, state: ChatState, text: str, parse: Parse | None) -> dict[str, Any]:
    """Build the rasa-sdk tracker dict for a chat."""
    latest: dict[str, Any] = {"text": text, "entities": [], "metadata": {}}
    if parse:
        latest["intent"] = {"name": parse.intent, "confidence": parse.confidence}
        latest["intent_ranking"] = [
            {"name": name, "confidence": confidence} for name, confidence in parse.ranking
        ]
    return {
        "sender_id": chat_id,
        # The conversation memory's values (topic, facts) unless the running form has its own.
        "slots": {**{name: fact.value for name, fact in state.memory.items()}, **state.slots,
                  "language": state.language, "tenant": state.tenant},
        "latest_message": latest,
        "events": [],
        "paused": False,
        "followup_action": None,
        "active_loop": {},
        "latest_action_name": None,
    }


def package(folder: Path) -> ModuleType:
    """Import the actions package in `folder` under the folder's name, once per process."""
    init = (folder / "__init__.py").resolve()
    name = folder.name
    module = sys.modules.get(name)
    if module is None:
        spec = importlib.util.spec_from_file_location(
            name, init, submodule_search_locations=[str(init.parent)])
        if spec is None or spec.loader is None:
            raise ImportError(f"no actions package in {folder}")
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    if Path(module.__file__ or "").resolve() != init:
        raise ImportError(f"actions package {name!r} is already imported from {module.__file__}; "
                          f"give the folder {folder} another name")
    return module


def actions_in(module: ModuleType) -> list[type[Action]]:
    """Import every module of an actions package and return the actions defined in it."""
    for child in pkgutil.iter_modules(module.__path__, f"{module.__name__}."):
        importlib.import_module(child.name)
    # rasa-sdk's register_package registers every Action subclass imported in the process, so
    # another actions folder's actions (tests/test_adding_an_intent.py) would leak in.
    return [action for action in all_subclasses(Action)
            if action.__module__.startswith(f"{module.__name__}.")
            and not inspect.isabstract(action)]


def template_values(message: dict[str, Any]) -> dict[str, Any]:
    """Return the values an action passed for its response's placeholders."""
    return {k: v for k, v in message.items() if k not in MESSAGE_KEYS and v is not None}


class Executor:
    """Registers every action in the actions package and runs them by name."""

    def __init__(
        self, services: ActionServices | None = None, endpoint: str | None = None,
        actions: Path = ACTIONS_DIR,
    ) -> None:
        self._executor = ActionExecutor()
        for action in actions_in(package(actions)):
            self._executor.register_action(action)
        self.services = services
        self.endpoint = endpoint.rstrip("/") if endpoint else None
        self._client: httpx.AsyncClient | None = None

    async def close(self) -> None:
        """Close the HTTP client of the endpoint mode."""
        if self._client:
            await self._client.aclose()
            self._client = None

    @property
    def names(self) -> list[str]:
        """Return the registered action names."""
        return sorted(self._executor.actions)

    async def run(
        self, name: str, tracker_state: dict[str, Any], domain: dict[str, Any] | None = None
    ) -> Result:
        """Run one action and return its events and messages; `domain` may declare forms."""
        call = {"next_action": name, "sender_id": tracker_state["sender_id"],
                "tracker": tracker_state,
                "domain": {"responses": {}, "slots": {}, **(domain or {})}}
        if self.endpoint:
            self._client = self._client or httpx.AsyncClient(timeout=ENDPOINT_TIMEOUT)
            response = await self._client.post(f"{self.endpoint}/webhook", json=call)
            if response.status_code == httpx.codes.NOT_FOUND:
                raise UnknownAction(name)
            response.raise_for_status()
            body = response.json()
            return Result(list(body.get("events") or []), list(body.get("responses") or []))
        running = _RUNNING.set(self.services)
        try:
            # rasa-sdk changes the tracker it is given (Tracker.add_slots); over HTTP it gets a
            # copy, so in process it must too.
            result = await self._executor.run(copy.deepcopy(call))
        except ActionNotFoundException as error:
            raise UnknownAction(name) from error
        finally:
            _RUNNING.reset(running)
        if result is None:
            raise UnknownAction(name)
        return Result(list(result.events), list(result.responses))
