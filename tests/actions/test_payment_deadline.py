"""action_payment_deadline: days left until the due date, or what to do once it has passed."""

from collections.abc import Callable
from datetime import timedelta

import pytest

from bot.acting.executor import Executor, template_values, tracker
from bot.replies.municipality import Municipality
from bot.state.store import ChatState


async def run(executor: Executor, language: str) -> dict[str, object]:
    state = ChatState(language=language)  # type: ignore[arg-type]
    result = await executor.run("action_payment_deadline", tracker("c", state, "?", None))
    [message] = result.messages
    return message


@pytest.mark.parametrize(("days", "language", "when"), [
    (12, "nl", "over 12 dagen"), (12, "en", "in 12 days"), (1, "nl", "morgen"),
    (0, "en", "today"),
])
async def test_upcoming_due_date_counts_the_days(
    configure_town: Callable[..., Municipality], days: int, language: str, when: str,
    executor: Executor,
) -> None:
    town = configure_town()
    configure_town(payment_due_date=town.now().date() + timedelta(days=days))
    message = await run(executor, language)
    assert message["response"] == "utter_payment_deadline_upcoming"
    assert template_values(message) == {"when": when}


async def test_passed_due_date(
    configure_town: Callable[..., Municipality], executor: Executor
) -> None:
    town = configure_town()
    configure_town(payment_due_date=town.now().date() - timedelta(days=1))
    message = await run(executor, "nl")
    assert message["response"] == "utter_payment_deadline_passed"
    assert template_values(message) == {}
