"""Amounts and counts as citizens write them."""

from decimal import Decimal

import pytest

from bot.nlu.amounts import answer, dogs, euros, facts, household


@pytest.mark.parametrize(("text", "amount"), [
    ("mijn woz is 285000, hoeveel ozb?", "285000"),
    ("350k", "350000"),
    ("€ 350.000,-", "350000"),
    ("3,5 ton", "350000"),
    ("3.5 ton", "350000"),
    ("woning van 410.000 euro", "410000"),
    ("house worth 410,000", "410000"),
    ("1.250.000", "1250000"),
    ("350 000", "350000"),
    ("412.5k", "412500"),
    ("€ 1.250,50", "1250.50"),
    ("€1,250.50", "1250.50"),
    ("geen bedrag", None),
])
def test_euros(text: str, amount: str | None) -> None:
    assert euros(text) == (Decimal(amount) if amount else None)


@pytest.mark.parametrize(("text", "people"), [
    ("we zijn met z'n drieën", 3), ("met zn tweeen", 2), ("we are 4 people", 4),
    ("voor 2 personen", 2), ("eenpersoons huishouden", 1), ("ik woon alleen", 1),
    ("we zijn met 5", 5), ("i live alone", 1), ("huis van 400.000", None),
])
def test_household(text: str, people: int | None) -> None:
    assert household(text) == people


@pytest.mark.parametrize(("text", "count"), [
    ("en een hond", 1), ("2 honden", 2), ("we have two dogs", 2), ("a dog", 1),
    ("hondenbelasting", None),
])
def test_dogs(text: str, count: int | None) -> None:
    assert dogs(text) == count


@pytest.mark.parametrize(("text", "amount"), [
    ("1.350", Decimal(1350)), ("geen", Decimal(0)), ("nothing", Decimal(0)), ("-200", None),
    ("€ 350.000,-", Decimal(350000)), ("weet ik niet", None),
])
def test_an_answered_amount_is_read_and_a_negative_one_refused(
    text: str, amount: Decimal | None
) -> None:
    assert answer(text) == amount


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
