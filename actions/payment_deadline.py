"""The payment due date of this year's assessment, and how many days are left."""

from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.executor import CollectingDispatcher

from bot.acting.executor import action_services
from bot.replies import formats
from bot.types import as_language


class ActionPaymentDeadline(Action):
    """Say when the assessment must be paid, counting the days left or noting it has passed."""

    def name(self) -> str:
        """Return the action's name."""
        return "action_payment_deadline"

    def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        """Utter the upcoming or passed variant of the deadline answer."""
        town = action_services().town(tracker)
        days_left = (town.facts["payment_due_date"] - town.now().date()).days
        if days_left >= 0:
            when = formats.in_days(days_left, as_language(tracker.get_slot("language")))
            dispatcher.utter_message(response="utter_payment_deadline_upcoming", when=when)
        else:
            dispatcher.utter_message(response="utter_payment_deadline_passed")
        return []
