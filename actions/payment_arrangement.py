"""A payment arrangement request: amount due and number of terms, stored as a case for staff."""

from decimal import ROUND_UP, Decimal
from typing import Any

from rasa_sdk import Action, FormValidationAction, Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.case_status import AddressValidation
from bot.acting.executor import action_services
from bot.nlu import amounts
from bot.replies import formats
from bot.types import as_language

CENT = Decimal("0.01")
SLOTS = ("amount_due", "arrangement_terms", "case_address")


def _limits(tracker: Tracker) -> tuple[Decimal, Decimal, int]:
    facts = action_services().town(tracker).facts
    return (Decimal(str(facts["arrangement_min_eur"])), Decimal(str(facts["arrangement_max_eur"])),
            int(facts["arrangement_max_terms"]))


class ValidateArrangementForm(AddressValidation, FormValidationAction):
    """Check the amount and terms against the municipality's limits, and the address."""

    def name(self) -> str:
        """Return the validator's name."""
        return "validate_arrangement_form"

    def validate_amount_due(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker,
        domain: dict[str, Any],
    ) -> dict[str, Any]:
        """Accept an amount between the minimum and maximum for an arrangement."""
        lowest, highest, _ = _limits(tracker)
        found = amounts.answer(str(value))
        if found is None or not lowest <= found <= highest:
            dispatcher.utter_message(response="utter_invalid_amount_due")
            return {"amount_due": None}
        return {"amount_due": str(found.quantize(CENT))}

    def validate_arrangement_terms(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker,
        domain: dict[str, Any],
    ) -> dict[str, Any]:
        """Accept 2 up to the maximum number of terms."""
        found = amounts.answer(str(value))
        if found is None or found != found.to_integral_value() or not (
                2 <= found <= _limits(tracker)[2]):
            dispatcher.utter_message(response="utter_invalid_arrangement_terms")
            return {"arrangement_terms": None}
        return {"arrangement_terms": int(found)}


class ActionRequestArrangement(Action):
    """Store the request as a case and a task for staff; confirm with its reference."""

    def name(self) -> str:
        """Return the action's name."""
        return "action_request_arrangement"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        """Create the case and the staff task, then say the reference and the term amount."""
        if any(tracker.get_slot(slot) is None for slot in SLOTS):
            dispatcher.utter_message(response="utter_payment_arrangement")  # not run by its form
            return []
        language = as_language(tracker.get_slot("language"))
        amount = Decimal(str(tracker.get_slot("amount_due")))
        terms = int(tracker.get_slot("arrangement_terms"))
        instalment = (amount / terms).quantize(CENT, ROUND_UP)
        detail = f"{formats.money(amount, 'nl')} in {terms} termijnen"
        backend, tenant = action_services().cases, str(tracker.get_slot("tenant") or "")
        reference = await backend.create(
            "arrangement", str(tracker.get_slot("case_address")), language, detail, tenant)
        await backend.task(tracker.sender_id, language, "payment_arrangement",
                           f"{reference}: {detail}", tenant=tenant)
        dispatcher.utter_message(
            response="utter_arrangement_requested", reference=reference, terms=terms,
            amount=formats.money(amount, language), instalment=formats.money(instalment, language))
        return [SlotSet("case_address", None)]
