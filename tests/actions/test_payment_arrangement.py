"""validate_arrangement_form and action_request_arrangement: a case and a task for staff."""

from typing import Any

import pytest

from bot.acting.executor import Executor, template_values, tracker
from bot.handoff import cases
from bot.handoff.cases import SqlCases
from bot.state.store import ChatState

DOMAIN = {"forms": {"arrangement_form": {"required_slots": [
    "amount_due", "arrangement_terms", "case_address"]}}}


@pytest.mark.parametrize(("slot", "text", "value"), [
    ("amount_due", "850", "850.00"), ("amount_due", "€ 1.250,-", "1250.00"),
    ("amount_due", "49", None), ("amount_due", "10.001", None), ("amount_due", "-850", None),
    ("amount_due", "veel", None),
    ("arrangement_terms", "4", 4), ("arrangement_terms", "zes", None),
    ("arrangement_terms", "6 termijnen", 6), ("arrangement_terms", "7", None),
    ("arrangement_terms", "1", None), ("arrangement_terms", "2,5", None),
    ("case_address", "1234 AB 5", "1234AB 5"), ("case_address", "geen idee", None),
])
async def test_answers_are_checked_against_the_limits(
    slot: str, text: str, value: Any, executor: Executor
) -> None:
    track = tracker("c", ChatState(slots={"requested_slot": slot}), text, None)
    track["events"] = [{"event": "user", "text": text},
                       {"event": "slot", "name": slot, "value": text}]
    result = await executor.run("validate_arrangement_form", track, DOMAIN)
    [event] = result.events
    assert event["value"] == value
    assert bool(result.messages) == (value is None)


async def test_request_becomes_a_case_and_a_task_for_staff(
    backend_cases: SqlCases, executor: Executor
) -> None:
    slots = {"amount_due": "850.00", "arrangement_terms": 4, "case_address": "1234AB 5"}
    state = ChatState(language="nl", slots=slots)
    result = await executor.run("action_request_arrangement", tracker("tg:7", state, "", None))
    [message] = result.messages
    values = template_values(message)
    reference = str(values.pop("reference"))
    # 850.00 / 4 = 212.50
    assert values == {"terms": 4, "amount": "€ 850,00", "instalment": "€ 212,50"}
    assert cases.reference(reference) == reference and reference.startswith("BR-")
    assert [(e["name"], e["value"]) for e in result.events] == [("case_address", None)]
    status = await backend_cases.find(reference, "1234AB 5")
    assert status == cases.Status(reference, "arrangement", "received")
    [task] = await backend_cases.tasks()
    assert (task.chat_id, task.kind, task.reason, task.note) == (
        "tg:7", "task", "payment_arrangement", f"{reference}: € 850,00 in 4 termijnen")
