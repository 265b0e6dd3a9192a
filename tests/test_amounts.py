"""Amounts and counts as citizens write them."""

from decimal import Decimal

import pytest

from bot.nlu.amounts import answer, dogs, euros, household


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
