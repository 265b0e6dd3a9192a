"""The conversation memory: typed facts bound to their unit, expiry, and old states loading."""

import pytest

from bot.dialogue import memory
from bot.nlu.amounts import facts
from bot.settings import PROJECT_DIR
from bot.state.store import ChatState, Remembered

MEMORY = memory.load(PROJECT_DIR / "intents" / "follow_ups.yml", turns=3, minutes=30)


@pytest.mark.parametrize(("text", "expected"), [
    ("alleen", {"household_size": 1}),
    ("ik woon alleen", {"household_size": 1}),
    ("we zijn met z'n tweeën", {"household_size": 2}),
    ("met z'n drieën", {"household_size": 3}),
    ("nee, we zijn met z'n vieren", {"household_size": 4}),
    ("wat kost het afval voor een gezin van 4", {"household_size": 4}),
    ("2 personen", {"household_size": 2}),
    ("drie mensen", {"household_size": 3}),
    ("a family of three", {"household_size": 3}),
    ("we are a family of four", {"household_size": 4}),
    ("we are with two", {"household_size": 2}),
    ("there are 3 of us", {"household_size": 3}),
    ("I live alone", {"household_size": 1}),
    ("2 honden", {"dogs": 2}),
    ("een hond", {"dogs": 1}),
    ("en voor twee honden?", {"dogs": 2}),
    ("two dogs", {"dogs": 2}),
    ("oh wait, two dogs", {"dogs": 2}),
    ("geen hond", {"dogs": 0}),
    ("we have no dogs", {"dogs": 0}),
    ("hoeveel ozb betaal ik bij een woz van 300.000", {"woz_value": 300000}),
    ("en als de woz 400.000 is?", {"woz_value": 400000}),
    ("and if the WOZ is 400k?", {"woz_value": 400000}),
    ("mijn huis is 3,5 ton", {"woz_value": 350000}),
    ("ik huur", {"role": "tenant"}),
    ("ik ben huurder", {"role": "tenant"}),
    ("I rent my flat", {"role": "tenant"}),
    ("ik ben eigenaar", {"role": "owner"}),
    ("I'm the owner", {"role": "owner"}),
    ("een bedrijfspand", {"role": "business"}),
    ("alleen de hondenbelasting graag", {}),
    ("ik verdien 25.000 per jaar", {}),
    ("we hebben een huis", {}),
])
def test_each_number_fills_the_slot_of_its_unit(text: str, expected: dict[str, object]) -> None:
    assert facts(text) == expected


def test_two_people_and_a_house_are_not_two_dogs() -> None:
    found = facts("we zijn met z'n tweeën en hebben een huis van 350k", asked="dogs")
    assert found == {"household_size": 2, "woz_value": 350000}


@pytest.mark.parametrize("text", [
    "mijn bsn is 111222333", "111222333", "123456782", "bel me op 0612345678",
    "+31 6 12345678", "NL91ABNA0417164300", "mijn iban is NL91 ABNA 0417 1643 00",
    "mail naar jan.jansen2@example.com",
])
@pytest.mark.parametrize("asked", [None, "woz_value", "household_size", "dogs"])
def test_personal_data_never_fills_a_slot(text: str, asked: str | None) -> None:
    assert facts(text, asked) == {}


@pytest.mark.parametrize(("text", "asked", "expected"), [
    ("3", None, {}), ("3", "dogs", {"dogs": 3}), ("drie", "household_size", {"household_size": 3}),
    ("geen", "dogs", {"dogs": 0}), ("0", "household_size", {}), ("300.000", None, {}),
    ("300.000", "woz_value", {"woz_value": 300000}),
])
def test_a_bare_number_fills_only_the_slot_asked(
    text: str, asked: str | None, expected: dict[str, object]
) -> None:
    assert facts(text, asked) == expected


def test_facts_expire_after_the_turns_or_the_minutes() -> None:
    state = ChatState()
    memory.observe(state, "we zijn met z'n drieën", MEMORY, now=1000.0)
    memory.observe(state, "2 honden", MEMORY, now=1010.0)
    memory.observe(state, "hallo", MEMORY, now=1020.0)
    assert {n: f.value for n, f in state.memory.items()} == {"household_size": 3, "dogs": 2}
    memory.observe(state, "hallo", MEMORY, now=1030.0)
    assert {n: f.value for n, f in state.memory.items()} == {"dogs": 2}, "3 turns later"
    memory.observe(state, "hallo", MEMORY, now=1010.0 + 30 * 60 + 1)
    assert state.memory == {}, "30 minutes later"


def test_a_later_fact_replaces_an_earlier_one_with_its_turn() -> None:
    state = ChatState()
    memory.observe(state, "2 honden", MEMORY, now=1.0)
    memory.observe(state, "oh nee, drie honden", MEMORY, now=2.0)
    assert state.memory["dogs"] == Remembered(3, 2, 2.0)
    assert memory.given(state) == {"dogs"} and memory.FOLLOW_UP in state.memory


def test_memory_survives_redis_and_an_older_state_still_loads() -> None:
    state = ChatState()
    memory.answered(state, "objection", now=5.0)
    memory.observe(state, "een hond", MEMORY, now=6.0)
    assert ChatState.from_json(state.to_json()) == state
    old = '{"language":"en","last_intents":["greet"],"slots":{},"fallbacks":0,"mode":null}'
    loaded = ChatState.from_json(old)
    assert loaded.language == "en" and loaded.memory == {} and loaded.turn == 0
