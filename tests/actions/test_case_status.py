"""validate_case_status_form and action_check_case_status on a real database, both backends."""

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from bot.acting.executor import Executor, template_values, tracker
from bot.handoff import cases
from bot.handoff.cases import CaseAttempt, SqlCases
from bot.state.store import ChatState

ADDRESS = "1234AB 5"


async def check(executor: Executor, reference: str, address: str, chat: str = "tg:1",
                language: str = "nl") -> tuple[str, dict[str, Any]]:
    state = ChatState(language=language,  # type: ignore[arg-type]
                      slots={"case_reference": reference, "case_address": address})
    result = await executor.run("action_check_case_status", tracker(chat, state, "", None))
    [message] = result.messages
    return message["response"], template_values(message)


@pytest.mark.parametrize(("text", "expected"), [
    ("BZ-7K3M9Q", "BZ-7K3M9Q"), ("mijn kenmerk is bz 7k3m9q", "BZ-7K3M9Q"),
    ("KW7K3M9Q", "KW-7K3M9Q"), ("BR-7K3M9Q.", "BR-7K3M9Q"), ("XX-7K3M9Q", None),
    ("BZ-7K3M9", None), ("BZ-0O1I9Q", None), ("weet ik niet", None),
])
def test_reference_is_read_as_typed(text: str, expected: str | None) -> None:
    assert cases.reference(text) == expected


@pytest.mark.parametrize(("text", "expected"), [
    ("1234 AB 5", "1234AB 5"), ("1234ab, 5a", "1234AB 5A"), ("nummer 12 in 9999 ZZ", "9999ZZ 12"),
    ("1234 AB", None), ("Dorpsstraat 5", None), ("", None),
])
def test_address_is_read_as_typed(text: str, expected: str | None) -> None:
    assert cases.address(text) == expected


@pytest.mark.parametrize(("slot", "text", "value"), [
    ("case_reference", "bz-7k3m9q", "BZ-7K3M9Q"), ("case_reference", "12345", None),
    ("case_address", "1234 ab 5", "1234AB 5"), ("case_address", "Dorpsstraat 5", None),
])
async def test_validation_re_asks_what_cannot_be_right(
    slot: str, text: str, value: Any, executor: Executor
) -> None:
    track = tracker("c", ChatState(slots={"requested_slot": slot}), text, None)
    track["events"] = [{"event": "user", "text": text},
                       {"event": "slot", "name": slot, "value": text}]
    domain = {"forms": {"case_status_form": {"required_slots": ["case_reference",
                                                                "case_address"]}}}
    result = await executor.run("validate_case_status_form", track, domain)
    assert [(e["name"], e["value"]) for e in result.events] == [(slot, value)]
    assert [m["response"] for m in result.messages] == (
        [] if value else [f"utter_invalid_{slot}"])


@pytest.mark.parametrize("status", cases.STATUSES)
async def test_status_and_next_step_without_personal_details(
    backend_cases: SqlCases, status: str, executor: Executor
) -> None:
    reference = await backend_cases.create("objection", ADDRESS, "nl")
    await backend_cases.set_status(reference, status)
    assert await check(executor, reference, ADDRESS) == (
        f"utter_case_status_{status}", {"kind": "je bezwaar", "reference": reference})
    _, values = await check(executor, reference, ADDRESS, language="en")
    assert values["kind"] == "your objection" and ADDRESS not in str(values)


async def test_five_wrong_tries_then_a_cool_down_for_that_chat_only(
    backend_cases: SqlCases, executor: Executor
) -> None:
    reference = await backend_cases.create("remission", ADDRESS, "nl")
    wrong = [await check(executor, reference, "1234AB 6"),
             await check(executor, "KW-2222AA", ADDRESS),
             *[await check(executor, reference, "9999ZZ 1") for _ in range(3)]]
    assert [values["tries_left"] for _, values in wrong] == [4, 3, 2, 1, 0]
    assert {response for response, _ in wrong} == {"utter_case_status_not_found"}
    response, values = await check(executor, reference, ADDRESS)
    assert response == "utter_case_status_locked", "even the right answer waits"
    assert values["until"].count(".") == 1
    other = await check(executor, reference, ADDRESS, chat="tg:2")
    assert other[0] == "utter_case_status_received"


async def test_wrong_tries_older_than_an_hour_do_not_count(
    backend_cases: SqlCases, executor: Executor
) -> None:
    reference = await backend_cases.create("arrangement", ADDRESS, "nl")
    old = datetime.now(UTC) - timedelta(hours=1, minutes=1)
    async with backend_cases.sessions.begin() as session:
        session.add_all(CaseAttempt(chat_id="tg:1", at=old) for _ in range(5))
    assert (await check(executor, reference, ADDRESS))[0] == "utter_case_status_received"
    assert await backend_cases.wrong_tries("tg:1") == (0, None)


async def test_references_are_unique_and_short(backend_cases: SqlCases) -> None:
    references = {await backend_cases.create("objection", ADDRESS, "nl") for _ in range(50)}
    assert len(references) == 50
    assert all(cases.reference(r) == r and len(r) == 9 for r in references)
