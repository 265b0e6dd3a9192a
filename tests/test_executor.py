"""Every action gives the same events and messages in process and on a real rasa-sdk server."""

import asyncio
import copy
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import create_async_engine

from bot.acting.executor import ActionServices, Executor, Result, UnknownAction, tracker
from bot.handoff.cases import SqlCases
from bot.history.log import History
from bot.nlu import content
from bot.replies.tenants import Tenants
from bot.settings import PROJECT_DIR
from bot.state.store import ChatState
from bot.types import Parse
from tests.support.action_server import action_server as running

TEXTS = ["zijn jullie nu open?", "wanneer moet ik betalen",
         "we zijn met z'n drieën, huis van 410.000 en een hond, wat betalen we?",
         "hoeveel betaal ik", "reken mijn ozb uit", "ozb kantoor woz 1,2 miljoen"]
FORMS = content.load(PROJECT_DIR / "intents").forms
DOMAIN = {"forms": {name: {"required_slots": list(form.required_slots)}
                    for name, form in FORMS.items()}}
# Per form validator: slot answers to check (valid and invalid), with the slots already filled.
ANSWERS: dict[str, list[tuple[str, str, dict[str, Any]]]] = {
    "validate_tax_form": [
        ("woz_value", "350k", {"tax_asked": ["woz_value", "dogs"]}),
        ("household_size", "veel", {"tax_asked": ["household_size"]}),
        ("dogs", "2", {"tax_asked": ["dogs"]}),
    ],
    "validate_case_status_form": [
        ("case_reference", "bz 7k3m9q", {}), ("case_reference", "weet ik niet", {}),
        ("case_address", "1234 ab 5", {"case_reference": "BZ-7K3M9Q"}),
        ("case_address", "Dorpsstraat", {"case_reference": "BZ-7K3M9Q"}),
    ],
    "validate_remission_form": [
        ("remission_household", "alleen met kinderen", {}), ("remission_household", "ja", {}),
        ("net_income", "1.350", {}), ("savings", "-5", {}), ("car_value", "geen", {}),
    ],
    "validate_arrangement_form": [
        ("amount_due", "€ 850,-", {}), ("amount_due", "20", {}), ("arrangement_terms", "4", {}),
        ("arrangement_terms", "12", {}), ("case_address", "1234 AB 5", {}),
    ],
}
ADDRESS = "1234AB 5"
SEEDED: dict[str, str] = {}  # kind → reference of a case the database fixture stores
# Slots a submit action runs with (after its form), besides the plain texts above.
SUBMITS: dict[str, list[dict[str, Any]]] = {
    "action_calculate_tax": [{"woz_value": 285000, "household_size": 1, "dogs": 2}],
    "action_check_remission": [
        {"remission_household": "single", "net_income": "1200.00", "savings": "0.00",
         "car_value": "0.00"},
        {"remission_household": "couple", "net_income": "2200.00", "savings": "0.00",
         "car_value": "0.00"},
    ],
    "action_request_arrangement": [
        {"amount_due": "850.00", "arrangement_terms": 4, "case_address": ADDRESS},
    ],
    "action_check_case_status": [
        {"case_reference": "<objection>", "case_address": ADDRESS},
        {"case_reference": "<objection>", "case_address": "9999ZZ 1"},
    ],
}


def calls(name: str, language: str) -> list[dict[str, Any]]:
    """The trackers an action is run with in this test."""
    if name in ANSWERS:
        trackers = []
        for slot, text, slots in ANSWERS[name]:
            state = ChatState(language=language, slots={**slots, "requested_slot": slot})  # type: ignore[arg-type]
            track = tracker("c", state, text, None)
            track["events"] = [{"event": "user", "text": text},
                               {"event": "slot", "name": slot, "value": text}]
            trackers.append(track)
        return trackers
    parse = Parse("tax_calculation", 0.9, (("tax_calculation", 0.9),), None)
    return [
        *(tracker("c", ChatState(language=language), text, parse) for text in TEXTS),  # type: ignore[arg-type]
        *(tracker("c", ChatState(language=language, slots=seeded(slots)), "", None)  # type: ignore[arg-type]
          for slots in SUBMITS.get(name, [])),
    ]


def seeded(slots: dict[str, Any]) -> dict[str, Any]:
    """Fill in the references of the seeded cases."""
    return {name: SEEDED.get(str(value).strip("<>"), value) for name, value in slots.items()}


@pytest.fixture(scope="module")
def database(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A migrated SQLite database that both execution modes use."""
    url = f"sqlite+aiosqlite:///{tmp_path_factory.mktemp('contract') / 'balie.db'}"

    async def migrate() -> None:
        await (await History.open(url)).close()
        engine = create_async_engine(url)
        SEEDED["objection"] = await SqlCases(engine).create("objection", ADDRESS, "nl")
        await engine.dispose()

    asyncio.run(migrate())
    return url


@pytest.fixture(scope="module")
def action_server(database: str) -> Iterator[str]:
    """`python -m rasa_sdk --actions actions` on 127.0.0.1, as docker-compose runs it."""
    with running({"DATABASE_URL": database}) as address:
        yield address


def comparable(result: Result) -> Result:
    """The result without what differs by design between two runs: a new case's reference."""
    messages = [{**m, "reference": "<new>"} if m.get("response") == "utter_arrangement_requested"
                else m for m in result.messages]
    return Result(result.events, messages)


@pytest.mark.parametrize("language", ["nl", "en"])
async def test_every_action_is_the_same_in_process_and_over_http(
    action_server: str, database: str, demo_tenants: Tenants, language: str
) -> None:
    # In process as Services builds it; the action server builds its own from DATABASE_URL.
    engine = create_async_engine(database)
    local = Executor(ActionServices(SqlCases(engine), demo_tenants))
    remote = Executor(endpoint=action_server)
    try:
        assert local.names == remote.names and len(local.names) >= 3
        assert set(ANSWERS) == {f"validate_{form}" for form in FORMS}, "every form is checked"
        for name in local.names:
            spoke = False
            for track in calls(name, language):
                # Each mode its own chat, so that one's wrong tries do not count for the other.
                here = await local.run(name, {**track, "sender_id": "here"}, DOMAIN)
                there = await remote.run(name, {**track, "sender_id": "there"}, DOMAIN)
                assert comparable(here) == comparable(there), (name, track["latest_message"])
                spoke = spoke or bool(here.messages or here.events)
            assert spoke, f"{name} did nothing"
    finally:
        await remote.close()
        await engine.dispose()


async def test_an_unknown_action_is_refused_both_ways(action_server: str) -> None:
    remote = Executor(endpoint=action_server)
    try:
        for executor in (Executor(), remote):
            with pytest.raises(UnknownAction, match="nope"):
                await executor.run("nope", tracker("c", ChatState(), "", None))
    finally:
        await remote.close()


async def test_running_in_process_leaves_the_tracker_as_it_was() -> None:
    # rasa-sdk adds the validated slots to the tracker it gets; over HTTP that is a copy.
    track = calls("validate_tax_form", "nl")[0]
    before = copy.deepcopy(track)
    result = await Executor().run("validate_tax_form", track, DOMAIN)
    assert result.events and track == before
