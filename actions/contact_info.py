"""Contact details, and whether the office is open right now."""

from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.executor import CollectingDispatcher

from bot.acting.executor import action_services
from bot.replies import formats
from bot.types import as_language


class ActionContactInfo(Action):
    """Give the contact details and say whether staff are at work now, or when they are back."""

    def name(self) -> str:
        """Return the action's name."""
        return "action_contact_info"

    def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        """Utter the open or closed variant of the contact details."""
        town = action_services().town(tracker)
        language = as_language(tracker.get_slot("language"))
        now = town.now()
        closes_at = town.closes_at(now)
        if closes_at:
            dispatcher.utter_message(
                response="utter_contact_info_open", closes_at=formats.clock(closes_at, language)
            )
        else:
            next_opening = formats.moment(town.next_opening(now), now, language)
            dispatcher.utter_message(
                response="utter_contact_info_closed", next_opening=next_opening
            )
        return []
