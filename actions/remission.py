"""Remission quick check: household, net income, savings and car value against the norms."""

import re
from decimal import Decimal
from typing import Any

from rasa_sdk import Action, FormValidationAction, Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from bot.acting.executor import action_services
from bot.nlu import amounts

HOUSEHOLDS = {  # first match wins: "alleen met kinderen" is a single parent, not single
    "couple": re.compile(r"(samen|partner|getrouwd|gehuwd|couple|married|together|\bwife\b|"
                         r"husband|\bvrouw\b|\bman\b)", re.IGNORECASE),
    "single_parent": re.compile(r"(alleenstaande ouder|kind|single parent|kid|child)",
                                re.IGNORECASE),
    "single": re.compile(r"(alleen|single|by myself|on my own|\balone\b)", re.IGNORECASE),
}
# The answers a slot accepts, in euros; higher is a typo or not an answer to the question.
LIMITS = {"net_income": Decimal(50_000), "savings": Decimal(100_000_000),
          "car_value": Decimal(10_000_000)}
SLOTS = ("remission_household", "net_income", "savings", "car_value")


def outcome(facts: dict[str, Any], household: str, income: Decimal, savings: Decimal,
            car: Decimal) -> str:
    """Judge the answers: likely, staff (close to a limit) or unlikely."""
    margin = 1 + Decimal(str(facts["remission_margin_pct"])) / 100
    checks = [(income, Decimal(str(facts[f"remission_norm_{household}_eur"]))),
              (savings, Decimal(str(facts["remission_savings_max_eur"]))),
              (car, Decimal(str(facts["remission_car_max_eur"])))]
    over = [(value, limit) for value, limit in checks if value > limit]
    if not over:
        return "likely"
    return "staff" if all(value <= limit * margin for value, limit in over) else "unlikely"


class ValidateRemissionForm(FormValidationAction):
    """Check each answer of the quick check; re-ask what cannot be right."""

    def name(self) -> str:
        """Return the validator's name."""
        return "validate_remission_form"

    def validate_remission_household(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker,
        domain: dict[str, Any],
    ) -> dict[str, Any]:
        """Accept single, single parent or couple (with or without children)."""
        found = next((kind for kind, words in HOUSEHOLDS.items() if words.search(str(value))),
                     None)
        if found is None:
            dispatcher.utter_message(response="utter_invalid_remission_household")
        return {"remission_household": found}

    def _euros(self, slot: str, value: Any, dispatcher: CollectingDispatcher) -> dict[str, Any]:
        found = amounts.answer(str(value))
        if found is None or found > LIMITS[slot]:
            dispatcher.utter_message(response="utter_invalid_euros")
            return {slot: None}
        return {slot: f"{found:.2f}"}

    def validate_net_income(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker,
        domain: dict[str, Any],
    ) -> dict[str, Any]:
        """Accept a net monthly income of 0 or more."""
        return self._euros("net_income", value, dispatcher)

    def validate_savings(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker,
        domain: dict[str, Any],
    ) -> dict[str, Any]:
        """Accept savings of 0 or more."""
        return self._euros("savings", value, dispatcher)

    def validate_car_value(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker,
        domain: dict[str, Any],
    ) -> dict[str, Any]:
        """Accept a car value of 0 ("geen auto") or more."""
        return self._euros("car_value", value, dispatcher)


class ActionCheckRemission(Action):
    """Say whether remission is likely, probably not, or for a staff member to check."""

    def name(self) -> str:
        """Return the action's name."""
        return "action_check_remission"

    def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        """Utter the outcome, then the municipality's rules and how to apply."""
        if any(tracker.get_slot(slot) is None for slot in SLOTS):
            dispatcher.utter_message(response="utter_remission")  # not run by its form
            return []
        facts = action_services().town(tracker).facts
        household = str(tracker.get_slot("remission_household"))
        income, savings, car = (Decimal(str(tracker.get_slot(slot))) for slot in SLOTS[1:])
        result = outcome(facts, household, income, savings, car)
        dispatcher.utter_message(response=f"utter_remission_{result}")
        dispatcher.utter_message(response=f"utter_remission_rules_{household}")
        return [SlotSet(slot, None) for slot in SLOTS]
