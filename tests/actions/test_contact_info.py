"""action_contact_info: open now until closing time, or closed until the next opening."""

from collections.abc import Callable
from datetime import timedelta

from bot.acting.executor import Executor, template_values, tracker
from bot.replies.municipality import DAY_NAMES, Municipality
from bot.state.store import ChatState


async def run(executor: Executor, language: str) -> list[dict[str, object]]:
    result = await executor.run(
        "action_contact_info", tracker("c", ChatState(language=language), "open?", None)  # type: ignore[arg-type]
    )
    assert result.events == []
    return result.messages


async def test_open_now_says_until_when(
    configure_town: Callable[..., Municipality], executor: Executor
) -> None:
    configure_town(opening_hours={day: "00:00-23:59:59" for day in DAY_NAMES}, holidays=[])
    [message] = await run(executor, "nl")
    assert message["response"] == "utter_contact_info_open"
    assert template_values(message) == {"closes_at": "23.59"}


async def test_closed_now_says_when_staff_are_back(
    configure_town: Callable[..., Municipality], executor: Executor
) -> None:
    town = configure_town(opening_hours={}, holidays=[])
    tomorrow = town.now() + timedelta(days=1)
    configure_town(opening_hours={DAY_NAMES[tomorrow.weekday()]: "09:00-10:00"}, holidays=[])
    [message] = await run(executor, "en")
    assert message["response"] == "utter_contact_info_closed"
    assert template_values(message) == {"next_opening": "tomorrow at 9:00"}


async def test_a_holiday_is_closed(
    configure_town: Callable[..., Municipality], executor: Executor
) -> None:
    town = configure_town(opening_hours={day: "00:00-23:59:59" for day in DAY_NAMES}, holidays=[])
    configure_town(opening_hours={day: "00:00-23:59:59" for day in DAY_NAMES},
                   holidays=[town.now().date()])
    [message] = await run(executor, "nl")
    assert message["response"] == "utter_contact_info_closed"
    assert template_values(message) == {"next_opening": "morgen om 0.00 uur"}
