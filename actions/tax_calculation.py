"""What a household or business pays: OZB from the WOZ value, waste and sewage levies, dog tax.

The facts come from the message ("350k", "we zijn met z'n drieën", "een hond") or from the
conversation memory (slots of the same names, `bot/dialogue/memory.py`). A general question
("hoeveel is de hondenbelasting") gets the rates and an offer to calculate; a question about
the citizen's own amount asks the missing fact with `tax_form`, validated by
`validate_tax_form`. A follow-up ("oh nee, twee honden") redoes the calculation with every
fact remembered.
"""

import re
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from rasa_sdk import Action, FormValidationAction, Tracker
from rasa_sdk.events import ActiveLoop, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from bot.acting.executor import action_services
from bot.history.masking import mask
from bot.nlu import amounts
from bot.replies import formats
from bot.types import Language, as_language

CENT = Decimal("0.01")
SLOTS = ("woz_value", "household_size", "dogs")
ASKS = {  # which fact a question is about, when it does not give the fact itself
    "woz_value": re.compile(r"\b(ozb|woz|onroerende|property tax|bedrijfspand|winkel|kantoor)",
                            re.IGNORECASE),
    "household_size": re.compile(r"(afval|vuilnis|diftar|riool|waste|rubbish|garbage|sewage)",
                                 re.IGNORECASE),
    "dogs": re.compile(r"(hond(?!erd)|dog)", re.IGNORECASE),
}
# The rates a general question about a fact's tax gets first, before the calculation is offered.
RATES = {"woz_value": "utter_property_tax", "household_size": "utter_waste_levy",
         "dogs": "utter_dog_tax"}
# "hoeveel betaal ik", "reken uit": a question about the citizen's own amount is calculated,
# and the calculator asks what it misses; "hoeveel is de hondenbelasting" gets the rates first.
PERSONAL = re.compile(r"\b(ik|mij|me|mijn|we|wij|ons|onze|reken\w*|bereken\w*|uitrekenen|i|my|"
                      r"our|us|calculate|work out)\b", re.IGNORECASE)
NON_RESIDENTIAL = re.compile(
    r"(bedrijfspand|bedrijfsruimte|niet-woning|winkel|kantoor|business|shop|office|"
    r"non-residential|commercial)", re.IGNORECASE)
USER = re.compile(r"(huur|gebruik|rent|tenant|\buse\b|\busing\b)", re.IGNORECASE)
OWNER = re.compile(r"(eigenaar|eigen pand|bezit|\bown\b|owner)", re.IGNORECASE)


def property_use(text: str, role: object = None) -> str:
    """Say whose OZB applies: home owner or tenant, or owner, user or both of business premises.

    `role` is what the citizen said they are (`bot.nlu.amounts.role`), in this message or before.
    """
    if not NON_RESIDENTIAL.search(text):
        return {"business": "both", "tenant": "tenant"}.get(str(role), "home")
    owner, user = bool(OWNER.search(text)), bool(USER.search(text))
    return "owner" if owner and not user else "user" if user and not owner else "both"


class ActionCalculateTax(Action):
    """Compute the amounts the citizen gave enough facts for, with the formula and a total."""

    def name(self) -> str:
        """Return the action's name."""
        return "action_calculate_tax"

    def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        """Utter one line per tax, then the total; give the rates, ask for a missing fact."""
        text = str((tracker.latest_message or {}).get("text") or "")
        if not text and tracker.get_slot("tax_topics"):  # tax_form is done: its facts are slots
            wanted = list(tracker.get_slot("tax_topics"))
            facts = {slot: tracker.get_slot(slot) for slot in wanted}
            use = str(tracker.get_slot("property_use") or "home")
        else:
            given, invalid = self._read(dispatcher, text)
            # What the memory remembers (bot/dialogue/memory.py), or the running form was told.
            known = {s: tracker.get_slot(s) for s in SLOTS if tracker.get_slot(s) is not None}
            asked = [slot for slot, words in ASKS.items() if words.search(text)] + invalid
            if not asked and not given:  # "wat kost dat?": about the current topic
                topic = str(tracker.get_slot("topic") or "").replace("_", " ")
                asked = [slot for slot, words in ASKS.items() if words.search(topic)]
            if tracker.get_slot("follow_up"):  # "oh nee, twee honden": redo the calculation
                asked += list(known)
            wanted = [s for s in SLOTS if s in given or s in asked] or list(known)
            facts = {slot: given.get(slot, known.get(slot)) for slot in wanted}
            use = property_use(text, given.get("role", tracker.get_slot("role")))
            missing = [slot for slot in wanted if facts[slot] is None]
            if missing and not (given or invalid or PERSONAL.search(text)):
                for slot in missing:
                    dispatcher.utter_message(response=RATES[slot])
                dispatcher.utter_message(response=f"utter_tax_offer_{missing[0]}")
                return [SlotSet("offered_slot", missing[0])]
            if missing:
                return [*(SlotSet(s, facts[s]) for s in wanted), SlotSet("property_use", use),
                        SlotSet("tax_asked", missing), SlotSet("tax_topics", wanted),
                        ActiveLoop("tax_form"), SlotSet("requested_slot", missing[0])]
        self._utter(dispatcher, as_language(tracker.get_slot("language")), facts, use,
                    action_services().town(tracker).facts)
        return [SlotSet("property_use", None), SlotSet("tax_asked", None),
                SlotSet("tax_topics", None)]

    @staticmethod
    def _read(
        dispatcher: CollectingDispatcher, text: str
    ) -> tuple[dict[str, Any], list[str]]:
        """Return the facts a message gives, and ["woz_value"] when its WOZ value cannot be."""
        facts = amounts.facts(text)
        amount = amounts.euros(mask(text))
        # "1 persoon" holds a number too: only a WOZ question or a large amount is a WOZ value.
        meant = amount is not None and (amount >= 1000 or bool(ASKS["woz_value"].search(text)))
        if meant and "woz_value" not in facts:
            dispatcher.utter_message(response="utter_invalid_woz_value")
            return facts, ["woz_value"]
        return facts, []

    @staticmethod
    def _utter(
        dispatcher: CollectingDispatcher, language: Language, facts: dict[str, Any], use: str,
        rates: dict[str, Any],
    ) -> None:

        def money(value: Decimal) -> str:
            return formats.money(value, language)

        def rate(name: str) -> Decimal:
            return Decimal(str(rates[name]))

        parts: list[Decimal] = []
        if facts.get("woz_value") is not None:
            value = Decimal(facts["woz_value"])
            ozb_rates = {"home": [("home", "ozb_home_owner_pct")],
                         "owner": [("owner", "ozb_nonresidential_owner_pct")],
                         "user": [("user", "ozb_nonresidential_user_pct")]}
            ozb_rates["both"] = ozb_rates["owner"] + ozb_rates["user"]
            if use == "tenant":  # who rents a home pays no OZB
                dispatcher.utter_message(response="utter_tax_calculation_ozb_tenant")
            for role, key in ozb_rates.get(use, []):
                ozb = (value * rate(key) / 100).quantize(CENT, ROUND_HALF_UP)
                parts.append(ozb)
                dispatcher.utter_message(
                    response=f"utter_tax_calculation_ozb{'' if role == 'home' else '_' + role}",
                    woz=money(value), rate=formats.percent(rate(key), language), amount=money(ozb))
        if facts.get("household_size"):
            people = int(facts["household_size"])
            waste = rate("waste_single_eur" if people == 1 else "waste_multi_eur")
            parts += [waste, rate("sewage_eur")]
            dispatcher.utter_message(
                response="utter_tax_calculation_waste" + ("_one" if people == 1 else ""),
                people=people, amount=money(waste))
            if rates.get("waste_diftar_eur"):  # a variable part per emptying, not in the total
                dispatcher.utter_message(response="utter_tax_calculation_diftar",
                                         amount=money(rate("waste_diftar_eur")))
            dispatcher.utter_message(response="utter_tax_calculation_sewage",
                                     amount=money(rate("sewage_eur")))
            if "water_board_household_eur" in rates:  # the collaboration collects it too
                units = rates["water_board_purification_units_" + (
                    "single" if people == 1 else "multi")]
                water = (rate("water_board_household_eur")
                         + units * rate("water_board_purification_unit_eur"))
                parts.append(water)
                dispatcher.utter_message(response="utter_tax_calculation_water_board",
                                         amount=money(water))
        if facts.get("dogs"):
            dogs = int(facts["dogs"])
            dog_tax = rate("dog_first_eur") + (dogs - 1) * rate("dog_extra_eur")
            parts.append(dog_tax)
            dispatcher.utter_message(
                response="utter_tax_calculation_dog" + ("" if dogs == 1 else "s"), dogs=dogs,
                amount=money(dog_tax))
        if len(parts) > 1:
            dispatcher.utter_message(response="utter_tax_calculation_total",
                                     amount=money(sum(parts, Decimal(0))))
        if not parts:
            dispatcher.utter_message(response="utter_tax_calculation")


class ValidateTaxForm(FormValidationAction):
    """Check the facts the calculator asked for; re-ask what cannot be right."""

    def name(self) -> str:
        """Return the validator's name."""
        return "validate_tax_form"

    async def required_slots(
        self, domain_slots: list[str], dispatcher: CollectingDispatcher, tracker: Tracker,
        domain: dict[str, Any],
    ) -> list[str]:
        """Ask only for the facts the question needs."""
        asked = tracker.get_slot("tax_asked") or []
        return [slot for slot in domain_slots if slot in asked]

    def validate_woz_value(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker,
        domain: dict[str, Any],
    ) -> dict[str, Any]:
        """Accept a WOZ value between 10,000 and 50 million euros."""
        found = amounts.facts(str(value), "woz_value").get("woz_value")
        if found is None:
            dispatcher.utter_message(response="utter_invalid_woz_value")
        return {"woz_value": found}

    def validate_household_size(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker,
        domain: dict[str, Any],
    ) -> dict[str, Any]:
        """Accept 1 to 20 people."""
        found = amounts.facts(str(value), "household_size").get("household_size")
        if found is None:
            dispatcher.utter_message(response="utter_invalid_household_size")
        return {"household_size": found}

    def validate_dogs(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker,
        domain: dict[str, Any],
    ) -> dict[str, Any]:
        """Accept 0 to 20 dogs; "we zijn met z'n tweeën" is no number of dogs."""
        found = amounts.facts(str(value), "dogs").get("dogs")
        if found is None:
            dispatcher.utter_message(response="utter_invalid_dogs")
        return {"dogs": found}
