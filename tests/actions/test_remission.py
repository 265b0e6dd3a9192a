"""validate_remission_form and action_check_remission against the demo municipality's norms."""

from typing import Any

import pytest

from bot.acting.executor import Executor, template_values, tracker
from bot.state.store import ChatState

DOMAIN = {"forms": {"remission_form": {"required_slots": [
    "remission_household", "net_income", "savings", "car_value"]}}}


async def validate(executor: Executor, slot: str, text: str) -> tuple[Any, list[str]]:
    track = tracker("c", ChatState(slots={"requested_slot": slot}), text, None)
    track["events"] = [{"event": "user", "text": text},
                       {"event": "slot", "name": slot, "value": text}]
    result = await executor.run("validate_remission_form", track, DOMAIN)
    [event] = result.events
    return event["value"], [m["response"] for m in result.messages]


@pytest.mark.parametrize(("slot", "text", "value"), [
    ("remission_household", "alleen", "single"),
    ("remission_household", "ik woon alleen met mijn 2 kinderen", "single_parent"),
    ("remission_household", "samen met mijn partner en kinderen", "couple"),
    ("remission_household", "with my wife", "couple"), ("remission_household", "alone", "single"),
    ("remission_household", "ja", None),
    ("net_income", "1.350", "1350.00"), ("net_income", "€ 1.250,50", "1250.50"),
    ("net_income", "geen", "0.00"), ("net_income", "-200", None),
    ("net_income", "weet niet", None), ("net_income", "1000000", None),
    ("savings", "0", "0.00"), ("savings", "3,5 ton", "350000.00"),
    ("car_value", "geen auto", "0.00"), ("car_value", "2500", "2500.00"),
    ("car_value", "oud", None),
])
async def test_answers_are_read_or_re_asked(
    slot: str, text: str, value: str | None, executor: Executor
) -> None:
    found, said = await validate(executor, slot, text)
    assert found == value
    invalid = "utter_invalid_remission_household" if slot == "remission_household" else (
        "utter_invalid_euros")
    assert said == ([] if value is not None else [invalid])


@pytest.mark.parametrize(("household", "income", "savings", "car", "result"), [
    # Norms: single and single parent 1,401.00, couple 2,001.00; savings 1,500; car 3,350;
    # up to 10% over a limit is for a staff member to check.
    ("single", "1401", "1500", "3350", "likely"),
    ("single", "1200", "0", "0.00", "likely"),
    ("single", "1541", "0", "0.00", "staff"),       # 1,401 x 1.1 = 1,541.10
    ("single", "1542", "0", "0.00", "unlikely"),
    ("single_parent", "1400", "1650", "0", "staff"),   # 1,500 x 1.1 = 1,650
    ("single_parent", "1400", "1651", "0", "unlikely"),
    ("couple", "2001", "0", "3685", "staff"),    # 3,350 x 1.1 = 3,685
    ("couple", "2001", "0", "9000", "unlikely"),
    ("couple", "2200", "0", "0.00", "staff"),       # 2,001 x 1.1 = 2,201.10
    ("couple", "2300", "0", "0.00", "unlikely"),
])
async def test_outcome_against_the_norms(
    household: str, income: str, savings: str, car: str, result: str, executor: Executor
) -> None:
    slots = {"remission_household": household, "net_income": income, "savings": savings,
             "car_value": car}
    state = ChatState(language="en", slots=slots)
    done = await executor.run("action_check_remission", tracker("c", state, "", None))
    assert [m["response"] for m in done.messages] == [
        f"utter_remission_{result}", f"utter_remission_rules_{household}"]
    assert all(template_values(m) == {} for m in done.messages)
    assert {e["name"]: e["value"] for e in done.events} == dict.fromkeys(slots), "forgotten"
