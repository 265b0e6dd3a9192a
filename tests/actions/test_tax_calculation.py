"""action_calculate_tax and validate_tax_form against hand-computed amounts for Voorbeeld."""

from collections.abc import Callable
from typing import Any

import pytest

from bot.acting.executor import Executor, template_values, tracker
from bot.replies.municipality import Municipality
from bot.state.store import ChatState

Messages = list[tuple[str, dict[str, object]]]


async def run(
    executor: Executor, text: str, language: str = "nl", slots: dict[str, Any] | None = None
) -> tuple[Messages, list[dict[str, Any]]]:
    state = ChatState(language=language, slots=slots or {})  # type: ignore[arg-type]
    result = await executor.run("action_calculate_tax", tracker("c", state, text, None))
    return [(m["response"], template_values(m)) for m in result.messages], result.events


async def test_household_total_in_dutch(executor: Executor) -> None:
    # 410,000 x 0.0856% = 350.96; more persons 396.00; sewage 246.60; one dog 96.00.
    text = "we zijn met z'n drieën, huis van 410.000 en een hond, wat betalen we?"
    assert (await run(executor, text))[0] == [
        ("utter_tax_calculation_ozb", {"woz": "€ 410.000,00", "rate": "0,0856%",
                                       "amount": "€ 350,96"}),
        ("utter_tax_calculation_waste", {"people": 3, "amount": "€ 396,00"}),
        ("utter_tax_calculation_sewage", {"amount": "€ 246,60"}),
        ("utter_tax_calculation_dog", {"dogs": 1, "amount": "€ 96,00"}),
        ("utter_tax_calculation_total", {"amount": "€ 1.089,56"}),
    ]


async def test_household_total_in_english(executor: Executor) -> None:
    messages, _ = await run(executor, "we are three people, house worth 410,000 and one dog", "en")
    assert messages[0][1] == {"woz": "€410,000.00", "rate": "0.0856%", "amount": "€350.96"}
    assert messages[-1] == ("utter_tax_calculation_total", {"amount": "€1,089.56"})


@pytest.mark.parametrize(("text", "expected"), [
    # 285,000 x 0.0856% = 243.96
    ("mijn woz is 285000, hoeveel ozb?", [("utter_tax_calculation_ozb", "€ 243,96")]),
    # 350,000 x 0.0856% = 299.60, however it is written
    ("woz 350k, hoeveel ozb", [("utter_tax_calculation_ozb", "€ 299,60")]),
    ("ozb bij een woz van € 350.000,-", [("utter_tax_calculation_ozb", "€ 299,60")]),
    ("mijn huis is 3,5 ton, wat is de ozb", [("utter_tax_calculation_ozb", "€ 299,60")]),
    # business premises: 500,000 x 0.2214% = 1,107.00 (owner), x 0.1789% = 894.50 (user)
    ("ozb eigenaar bedrijfspand woz 500.000", [("utter_tax_calculation_ozb_owner", "€ 1.107,00")]),
    ("ik huur een winkel, woz 500.000, hoeveel ozb",
     [("utter_tax_calculation_ozb_user", "€ 894,50")]),
    ("ozb voor mijn kantoor van 500.000", [("utter_tax_calculation_ozb_owner", "€ 1.107,00"),
                                          ("utter_tax_calculation_ozb_user", "€ 894,50"),
                                          ("utter_tax_calculation_total", "€ 2.001,50")]),
    ("wat kost afval voor 1 persoon", [("utter_tax_calculation_waste_one", "€ 312,00"),
                                       ("utter_tax_calculation_sewage", "€ 246,60"),
                                       ("utter_tax_calculation_total", "€ 558,60")]),
    # 96.00 + 2 x 144.00 = 384.00
    ("hondenbelasting voor 3 honden", [("utter_tax_calculation_dogs", "€ 384,00")]),
])
async def test_single_parts(
    text: str, expected: list[tuple[str, str]], executor: Executor
) -> None:
    messages, _ = await run(executor, text)
    assert [(name, values["amount"]) for name, values in messages] == expected


async def test_a_diftar_part_is_shown_per_emptying_but_not_added(
    configure_town: Callable[..., Municipality], executor: Executor
) -> None:
    configure_town(waste_diftar_eur=7.25)
    messages, _ = await run(executor, "afval voor 2 personen", "en")
    # fixed part 396.00 + sewage 246.60 = 642.60; the 7.25 per emptying is not in the total
    assert messages == [
        ("utter_tax_calculation_waste", {"people": 2, "amount": "€396.00"}),
        ("utter_tax_calculation_diftar", {"amount": "€7.25"}),
        ("utter_tax_calculation_sewage", {"amount": "€246.60"}),
        ("utter_tax_calculation_total", {"amount": "€642.60"})]


async def test_without_anything_to_go_on_it_explains_how_it_works(executor: Executor) -> None:
    assert await run(executor, "hoeveel betaal ik") == ([("utter_tax_calculation", {})], [
        {"event": "slot", "timestamp": None, "name": "property_use", "value": None},
        {"event": "slot", "timestamp": None, "name": "tax_asked", "value": None},
        {"event": "slot", "timestamp": None, "name": "tax_topics", "value": None}])


@pytest.mark.parametrize(("text", "invalid", "asked"), [
    ("hoeveel ozb betaal ik", False, ["woz_value"]),
    ("woz van 12 euro", True, ["woz_value"]),
    ("woz 2026", True, ["woz_value"]),
    ("mijn huis is 900000000000 waard", True, ["woz_value"]),
    ("hoeveel afvalstoffenheffing betaal ik", False, ["household_size"]),
    ("wat kost mijn hondenbelasting en ozb", False, ["woz_value", "dogs"]),
])
async def test_a_missing_or_impossible_fact_starts_the_form(
    text: str, invalid: bool, asked: list[str], executor: Executor
) -> None:
    messages, events = await run(executor, text)
    assert messages == ([("utter_invalid_woz_value", {})] if invalid else [])
    values = {e["name"]: e["value"] for e in events if e["event"] == "slot"}
    assert values["tax_asked"] == asked and values["requested_slot"] == asked[0]
    assert {"event": "active_loop", "timestamp": None, "name": "tax_form"} in events


async def test_slots_from_the_form_are_used_instead_of_the_text(executor: Executor) -> None:
    slots = {"woz_value": 285000, "household_size": 1, "dogs": 2}
    messages, _ = await run(executor, "3", slots=slots)
    # 243.96 + 312.00 + 246.60 + 96.00 + 144.00 = 1,042.56
    assert messages[-1] == ("utter_tax_calculation_total", {"amount": "€ 1.042,56"})


async def validate(executor: Executor, slot: str, text: str, asked: list[str]) -> dict[str, Any]:
    state = ChatState(slots={"tax_asked": asked, "requested_slot": slot})
    track = tracker("c", state, text, None)
    track["events"] = [{"event": "user", "text": text},
                       {"event": "slot", "name": slot, "value": text}]
    domain = {"forms": {"tax_form": {"required_slots": ["woz_value", "household_size", "dogs"]}}}
    result = await executor.run("validate_tax_form", track, domain)
    return {e["name"]: e["value"] for e in result.events} | {
        "said": [m["response"] for m in result.messages]}


@pytest.mark.parametrize(("slot", "text", "value"), [
    ("woz_value", "350k", 350000), ("woz_value", "3,5 ton", 350000),
    ("woz_value", "€ 350.000,-", 350000), ("woz_value", "ongeveer twee ton", None),
    ("woz_value", "-5000", None), ("woz_value", "99999999999", None),
    ("household_size", "3", 3), ("household_size", "drie", 3), ("household_size", "alleen", 1),
    ("household_size", "0", None), ("household_size", "-2", None),
    ("household_size", "veel", None), ("household_size", "250", None),
    ("dogs", "2", 2), ("dogs", "geen", 0), ("dogs", "een hond", 1), ("dogs", "honderd", None),
])
async def test_validation_accepts_sensible_answers_and_refuses_the_rest(
    slot: str, text: str, value: Any, executor: Executor
) -> None:
    result = await validate(executor, slot, text, [slot])
    assert result[slot] == value
    assert result["said"] == ([] if value is not None else [f"utter_invalid_{slot}"])


async def test_validation_asks_only_what_the_question_needs(executor: Executor) -> None:
    result = await validate(executor, "woz_value", "285000", ["woz_value", "dogs"])
    assert result["requested_slot"] == "dogs"
    assert (await validate(executor, "dogs", "1", ["dogs"]))["requested_slot"] is None
