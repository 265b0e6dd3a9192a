"""Amounts, percentages, dates and times per language."""

from datetime import date, datetime, time
from zoneinfo import ZoneInfo

import pytest

from bot.replies import formats


@pytest.mark.parametrize(
    ("value", "nl", "en"),
    [
        (312.0, "€ 312,00", "€312.00"),
        (1234.5, "€ 1.234,50", "€1,234.50"),
        (0.005, "€ 0,01", "€0.01"),
        (1_000_000, "€ 1.000.000,00", "€1,000,000.00"),
    ],
)
def test_money(value: float, nl: str, en: str) -> None:
    assert formats.money(value, "nl") == nl
    assert formats.money(value, "en") == en


def test_percent_keeps_given_decimals() -> None:
    assert formats.percent(0.0856, "nl") == "0,0856%"
    assert formats.percent(0.0856, "en") == "0.0856%"


def test_day_and_clock() -> None:
    assert formats.day(date(2026, 4, 30), "nl") == "30 april 2026"
    assert formats.day(date(2026, 4, 30), "en") == "30 April 2026"
    assert formats.clock(time(8, 30), "nl") == "8.30"
    assert formats.clock(time(17, 0), "en") == "17:00"


@pytest.mark.parametrize(("days", "nl", "en"), [(0, "vandaag", "today"), (1, "morgen", "tomorrow"),
                                               (12, "over 12 dagen", "in 12 days")])
def test_in_days(days: int, nl: str, en: str) -> None:
    assert formats.in_days(days, "nl") == nl
    assert formats.in_days(days, "en") == en


def test_moment_is_relative_to_now() -> None:
    zone = ZoneInfo("Europe/Amsterdam")
    now = datetime(2026, 12, 4, 13, 0, tzinfo=zone)  # a Friday
    assert formats.moment(datetime(2026, 12, 4, 14, 0, tzinfo=zone), now, "nl") == (
        "vandaag om 14.00 uur"
    )
    assert formats.moment(datetime(2026, 12, 5, 8, 30, tzinfo=zone), now, "en") == (
        "tomorrow at 8:30"
    )
    assert formats.moment(datetime(2026, 12, 7, 8, 30, tzinfo=zone), now, "nl") == (
        "maandag om 8.30 uur"
    )
    assert formats.moment(datetime(2026, 12, 28, 8, 30, tzinfo=zone), now, "en") == (
        "28 December 2026 at 8:30"
    )
