"""Opening hours, holidays and the facts file, checked at start-up."""

from dataclasses import replace
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pytest
import yaml

from bot.nlu import content
from bot.nlu.content import Variant
from bot.replies import render, tenants
from bot.replies.municipality import FactsError, Municipality
from bot.settings import PROJECT_DIR
from tests.test_cli import balie

DEMO = PROJECT_DIR / "intents" / "facts" / "voorbeeld.yml"


def facts_file(folder: Path, key: str, **changes: Any) -> Path:
    """Write the demo facts under another name, with some facts changed (None removes one)."""
    facts = yaml.safe_load(DEMO.read_text(encoding="utf-8"))
    for name, value in changes.items():
        if value is None:
            del facts[name]
        else:
            facts[name] = value
    folder.mkdir(exist_ok=True)
    (folder / f"{key}.yml").write_text(yaml.safe_dump(facts, allow_unicode=True))
    return folder


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


def test_another_municipality_is_chosen_by_name(tmp_path: Path) -> None:
    folder = facts_file(tmp_path / "facts", "elders", municipality="Gemeente Elders",
                        opening_hours={"Saturday": "10:00-12:00"})
    elders = tenants.load(folder, "elders")
    assert elders.name == "Gemeente Elders"
    assert elders.is_open(at("2026-12-05 11:00", elders))
    assert not elders.is_open(at("2026-12-07 11:00", elders))


def test_closing_before_opening_is_refused(tmp_path: Path) -> None:
    folder = facts_file(tmp_path / "facts", "wrong", opening_hours={"monday": "17:00-08:00"})
    with pytest.raises(ValueError, match="closing time"):
        tenants.load(folder, "wrong")


def test_default_facts_file_is_in_the_project() -> None:
    assert (PROJECT_DIR / "intents" / "facts" / "voorbeeld.yml").exists()


def test_a_missing_fact_is_named_with_its_file_and_type(tmp_path: Path) -> None:
    folder = facts_file(tmp_path / "facts", "elders", objection_weeks=None)
    with pytest.raises(FactsError) as refused:
        tenants.load(folder, "elders")
    message = str(refused.value)
    assert str(folder / "elders.yml") in message
    assert "`objection_weeks` is missing (expected a whole number" in message


@pytest.mark.parametrize(("fact", "value", "expected"), [
    ("objection_weeks", "zes", "a whole number"),
    ("payment_due_date", "30 april", "a date written YYYY-MM-DD"),
    ("sewage_eur", "veel", "an amount in euros"),
    ("phone", 140123, "a text"),
    ("tax_office", {"nl": "het team Belastingen"}, "one text per language"),
    ("opening_hours", {"mondag": "08:30-17:00"}, "a table of weekdays"),
    ("timezone", "Europe/Voorbeeld", "a time zone"),
])
def test_a_mistyped_fact_is_named_with_the_type_it_should_have(
    tmp_path: Path, fact: str, value: object, expected: str
) -> None:
    folder = facts_file(tmp_path / "facts", "elders", **{fact: value})
    with pytest.raises(FactsError, match=f"`{fact}` is {value!r} \\(expected [^)]*{expected}"):
        tenants.load(folder, "elders")


def test_a_fact_of_the_municipalitys_own_is_kept(tmp_path: Path) -> None:
    folder = facts_file(tmp_path / "facts", "elders", parking_url="https://parkeren.example")
    assert tenants.load(folder, "elders").facts["parking_url"] == "https://parkeren.example"


def test_a_placeholder_no_fact_fills_is_refused_before_any_answer(town: Municipality) -> None:
    loaded = content.load(PROJECT_DIR / "intents")
    parking = {"nl": Variant("Zie {parking_url}"), "en": Variant("See {parking_url}")}
    with pytest.raises(FactsError) as refused:
        render.check(replace(loaded, responses={**loaded.responses, "utter_parking": parking}),
                     town)
    assert str(town.source) in str(refused.value)
    assert "`parking_url` (used by utter_parking)" in str(refused.value)


def test_chat_does_not_start_without_objection_weeks(tmp_path: Path) -> None:
    folder = facts_file(tmp_path / "facts", "voorbeeld", objection_weeks=None)
    result = balie("chat", tmp_path=tmp_path, BALIE_FACTS_DIR=str(folder))
    assert result.returncode == 2
    assert "objection_weeks" in result.stderr and "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1, "one paragraph"
    assert result.stdout == ""
