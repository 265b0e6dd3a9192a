"""Opening hours, holidays and the facts file."""

from datetime import date, datetime

import pytest

from bot.replies import municipality
from bot.replies.municipality import Municipality
from bot.settings import PROJECT_DIR


def at(text: str, town: Municipality) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=town.timezone)


def test_demo_municipality_loads(town: Municipality) -> None:
    assert town.name == "Gemeente Voorbeeld"
    assert town.facts["objection_weeks"] == 6
    assert isinstance(town.facts["payment_due_date"], date)


@pytest.mark.parametrize(
    ("moment", "open_now"),
    [
        ("2026-12-01 08:29", False),  # Tuesday, before opening
        ("2026-12-01 08:30", True),
        ("2026-12-01 16:59", True),
        ("2026-12-01 17:00", False),
        ("2026-12-04 12:00", True),  # Friday morning
        ("2026-12-04 13:00", False),  # Friday afternoon
        ("2026-12-05 10:00", False),  # Saturday
        ("2026-12-25 10:00", False),  # Christmas, a Friday
    ],
)
def test_is_open(town: Municipality, moment: str, open_now: bool) -> None:
    assert town.is_open(at(moment, town)) is open_now


def test_next_opening_skips_weekend_and_holidays(town: Municipality) -> None:
    assert town.next_opening(at("2026-12-04 13:00", town)) == at("2026-12-07 08:30", town)
    assert town.next_opening(at("2026-12-24 18:00", town)) == at("2026-12-28 08:30", town)
    assert town.next_opening(at("2026-12-01 07:00", town)) == at("2026-12-01 08:30", town)


def test_opening_hours_text_groups_days(town: Municipality) -> None:
    assert town.opening_hours_text("nl") == (
        "maandag t/m donderdag 8.30\u201317.00 uur, vrijdag 8.30\u201312.30 uur"
    )
    assert town.opening_hours_text("en") == (
        "Monday to Thursday 8:30\u201317:00, Friday 8:30\u201312:30"
    )


def test_another_municipality_is_chosen_by_name(tmp_path, town: Municipality) -> None:
    (tmp_path / "facts").mkdir()
    (tmp_path / "facts" / "elders.yml").write_text(
        "municipality: Gemeente Elders\nopening_hours:\n  saturday: '10:00-12:00'\n"
    )
    elders = municipality.load(tmp_path / "facts", "elders")
    assert elders.name == "Gemeente Elders"
    assert elders.is_open(at("2026-12-05 11:00", elders))
    assert not elders.is_open(at("2026-12-07 11:00", elders))


def test_closing_before_opening_is_refused(tmp_path) -> None:
    (tmp_path / "facts").mkdir()
    (tmp_path / "facts" / "wrong.yml").write_text(
        "municipality: X\nopening_hours:\n  monday: '17:00-08:00'\n"
    )
    with pytest.raises(ValueError, match="closing time"):
        municipality.load(tmp_path / "facts", "wrong")


def test_default_facts_file_is_in_the_project() -> None:
    assert (PROJECT_DIR / "intents" / "facts" / "voorbeeld.yml").exists()
