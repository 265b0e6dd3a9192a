"""The status of a case: reference plus postcode and house number, with a limit on wrong tries."""

from typing import Any

from rasa_sdk import Action, FormValidationAction, Tracker
from rasa_sdk.executor import CollectingDispatcher

from bot.acting.executor import action_services
from bot.handoff import cases
from bot.replies import formats
from bot.types import as_language

KINDS = {
    "nl": {"objection": "je bezwaar", "remission": "je verzoek om kwijtschelding",
           "arrangement": "je verzoek om een betalingsregeling"},
    "en": {"objection": "your objection", "remission": "your remission request",
           "arrangement": "your payment arrangement request"},
}


class AddressValidation:
    """Validates the `case_address` slot, for every form that asks for it."""

    def validate_case_address(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker,
        domain: dict[str, Any],
    ) -> dict[str, Any]:
        """Accept a postcode with a house number."""
        found = cases.address(str(value))
        if found is None:
            dispatcher.utter_message(response="utter_invalid_case_address")
        return {"case_address": found}


class ValidateCaseStatusForm(AddressValidation, FormValidationAction):
    """Check that a reference and an address look like one; re-ask when they don't."""

    def name(self) -> str:
        """Return the validator's name."""
        return "validate_case_status_form"

    def validate_case_reference(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker,
        domain: dict[str, Any],
    ) -> dict[str, Any]:
        """Accept a reference like BZ-7K3M9Q, KW-… or BR-…."""
        found = cases.reference(str(value))
        if found is None:
            dispatcher.utter_message(response="utter_invalid_case_reference")
        return {"case_reference": found}



class ActionCheckCaseStatus(Action):
    """Say the status of a case and the next step, never personal details; limit wrong tries."""

    def name(self) -> str:
        """Return the action's name."""
        return "action_check_case_status"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        """Look the case up, unless this chat made too many wrong tries in the last hour."""
        language = as_language(tracker.get_slot("language"))
        reference = str(tracker.get_slot("case_reference") or "")
        address = str(tracker.get_slot("case_address") or "")
        services = action_services()
        backend = services.cases
        tries, until = await backend.wrong_tries(tracker.sender_id)
        if tries >= cases.MAX_TRIES and until:
            local = until.astimezone(services.town(tracker).timezone)
            dispatcher.utter_message(response="utter_case_status_locked",
                                     until=formats.clock(local.time(), language))
            return []
        status = await backend.find(reference, address) if reference and address else None
        if status is None:
            await backend.wrong_try(tracker.sender_id)
            dispatcher.utter_message(response="utter_case_status_not_found",
                                     tries_left=cases.MAX_TRIES - tries - 1)
            return []
        dispatcher.utter_message(response=f"utter_case_status_{status.status}",
                                 kind=KINDS[language][status.kind], reference=status.reference)
        return []
