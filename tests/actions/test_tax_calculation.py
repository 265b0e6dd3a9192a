"""action_calculate_tax against hand-computed amounts for Gemeente Voorbeeld."""

import pytest

from bot import municipality
from bot.executor import Executor, template_values, tracker
from bot.state import ChatState


async def run(text: str, language: str = "nl") -> list[tuple[str, dict[str, object]]]:
    municipality.configured.cache_clear()
    state = ChatState(language=language)  # type: ignore[arg-type]
    result = await Executor().run("action_calculate_tax", tracker("c", state, text, None))
    return [(m["response"], template_values(m)) for m in result.messages]


async def test_household_total_in_dutch() -> None:
    # 410,000 x 0.0856% = 350.96; more persons 396.00; sewage 246.60; one dog 96.00.
    assert await run("we zijn met z'n drieën, huis van 410.000 en een hond, wat betalen we?") == [
        ("utter_tax_calculation_ozb", {"woz": "€ 410.000,00", "rate": "0,0856%",
                                       "amount": "€ 350,96"}),
        ("utter_tax_calculation_waste", {"people": 3, "amount": "€ 396,00"}),
        ("utter_tax_calculation_sewage", {"amount": "€ 246,60"}),
        ("utter_tax_calculation_dogs", {"dogs": 1, "amount": "€ 96,00"}),
        ("utter_tax_calculation_total", {"amount": "€ 1.089,56"}),
    ]


async def test_household_total_in_english() -> None:
    messages = await run("we are three people, house worth 410,000 and one dog", "en")
    assert messages[0][1] == {"woz": "€410,000.00", "rate": "0.0856%", "amount": "€350.96"}
    assert messages[-1] == ("utter_tax_calculation_total", {"amount": "€1,089.56"})


@pytest.mark.parametrize(("text", "expected"), [
    ("mijn woz is 285000, hoeveel ozb?", [("utter_tax_calculation_ozb", "€ 243,96")]),
    ("wat kost afval voor 1 persoon", [("utter_tax_calculation_waste", "€ 312,00"),
                                       ("utter_tax_calculation_sewage", "€ 246,60"),
                                       ("utter_tax_calculation_total", "€ 558,60")]),
    ("hondenbelasting voor 3 honden", [("utter_tax_calculation_dogs", "€ 384,00")]),
])
async def test_single_parts(text: str, expected: list[tuple[str, str]]) -> None:
    assert [(name, values["amount"]) for name, values in await run(text)] == expected


@pytest.mark.parametrize("text", ["hoeveel betaal ik", "woz van 12 euro", "woz 2026",
                                  "mijn huis is 900000000000 waard"])
async def test_without_usable_facts_it_explains_how_it_works(text: str) -> None:
    assert await run(text) == [("utter_tax_calculation", {})]
