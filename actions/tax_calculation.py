"""What a household or business pays: OZB from the WOZ value, waste and sewage levies, dog tax.

The facts come from the message ("350k", "we zijn met z'n drieën", "een hond"). A fact the
question needs but does not give is asked for with `tax_form`, validated by `validate_tax_form`.
"""

import re
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from rasa_sdk import Action, FormValidationAction, Tracker
from rasa_sdk.events import ActiveLoop, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from bot.acting.executor import action_services
from bot.nlu import amounts
from bot.replies import formats
from bot.types import Language, as_language

# A WOZ value outside this range is a typo or not a WOZ value at all (a year, a count).
WOZ_RANGE = (Decimal(10_000), Decimal(50_000_000))
PEOPLE_MAX = 20
DOGS_MAX = 20
CENT = Decimal("0.01")
SLOTS = ("woz_value", "household_size", "dogs")
ASKS = {  # which fact a question is about, when it does not give the fact itself
    "woz_value": re.compile(r"\b(ozb|woz|onroerende|property tax|bedrijfspand|winkel|kantoor)",
                            re.IGNORECASE),
    "household_size": re.compile(r"(afval|vuilnis|diftar|riool|waste|rubbish|garbage|sewage)",
                                 re.IGNORECASE),
    "dogs": re.compile(r"(hond(?!erd)|dog)", re.IGNORECASE),
}
NON_RESIDENTIAL = re.compile(
    r"(bedrijfspand|bedrijfsruimte|niet-woning|winkel|kantoor|business|shop|office|"
    r"non-residential|commercial)", re.IGNORECASE)
USER = re.compile(r"(huur|gebruik|rent|tenant|\buse\b|\busing\b)", re.IGNORECASE)
OWNER = re.compile(r"(eigenaar|eigen pand|bezit|\bown\b|owner)", re.IGNORECASE)


def property_use(text: str) -> str:
    """Say whose OZB applies: home (owner), or owner, user or both of non-residential property."""
    if not NON_RESIDENTIAL.search(text):
        return "home"
    owner, user = bool(OWNER.search(text)), bool(USER.search(text))
    return "owner" if owner and not user else "user" if user and not owner else "both"


def count(text: str, limit: int) -> int | None:
    """Read a count from a short answer ("3", "drie", "we zijn met z'n drieën"); None if not."""
    if amounts.negative(text):
        return None
    number = amounts.household(text) or amounts.dogs(text)
    if number is None:
        words = re.findall(r"\w+", text.lower())
        digits = [int(w) for w in words if w.isdigit()]
        named = [amounts.NUMBER_WORDS[w] for w in words if w in amounts.NUMBER_WORDS]
        if amounts.NONE.search(text):
            named.append(0)
        found = digits or named
        number = found[0] if len(found) == 1 else None
    return number if number is not None and 0 <= number <= limit else None


def woz(text: str) -> int | None:
    """Read a WOZ value from a text; None when there is none or it cannot be one."""
    value = amounts.euros(text)
    if value is None or amounts.negative(text) or not WOZ_RANGE[0] <= value <= WOZ_RANGE[1]:
        return None
    return int(value)


class ActionCalculateTax(Action):
    """Compute the amounts the citizen gave enough facts for, with the formula and a total."""

    def name(self) -> str:
        """Return the action's name."""
        return "action_calculate_tax"

    def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        """Utter one line per tax, then the total; ask for a missing fact; or explain."""
        if any(tracker.get_slot(slot) is not None for slot in SLOTS):
            facts = {slot: tracker.get_slot(slot) for slot in SLOTS}
            use = str(tracker.get_slot("property_use") or "home")
        else:
            facts, use = self._read(dispatcher, tracker)
            missing = [s for s in SLOTS if facts[s] is None and s in facts.get("asked", ())]
            if missing:
                return [*(SlotSet(s, facts[s]) for s in SLOTS), SlotSet("property_use", use),
                        SlotSet("tax_asked", missing), ActiveLoop("tax_form"),
                        SlotSet("requested_slot", missing[0])]
        self._utter(dispatcher, as_language(tracker.get_slot("language")), facts, use)
        return [SlotSet("property_use", None), SlotSet("tax_asked", None)]

    @staticmethod
    def _read(
        dispatcher: CollectingDispatcher, tracker: Tracker
    ) -> tuple[dict[str, Any], str]:
        text = str((tracker.latest_message or {}).get("text") or "")
        amount = amounts.euros(text)
        # "1 persoon" holds a number too: only a WOZ question or a large amount is a WOZ value.
        given = amount is not None and (amount >= 1000 or bool(ASKS["woz_value"].search(text)))
        facts: dict[str, Any] = {"woz_value": woz(text), "household_size": amounts.household(text),
                                 "dogs": amounts.dogs(text)}
        facts["asked"] = [slot for slot, words in ASKS.items() if words.search(text)]
        if given and facts["woz_value"] is None:
            dispatcher.utter_message(response="utter_invalid_woz_value")
            facts["asked"].append("woz_value")
        if facts["household_size"] is not None and not 1 <= facts["household_size"] <= PEOPLE_MAX:
            facts["household_size"] = None
        return facts, property_use(text)

    @staticmethod
    def _utter(
        dispatcher: CollectingDispatcher, language: Language, facts: dict[str, Any], use: str
    ) -> None:
        rates = action_services().town.facts

        def money(value: Decimal) -> str:
            return formats.money(value, language)

        def rate(name: str) -> Decimal:
            return Decimal(str(rates[name]))

        parts: list[Decimal] = []
        if facts["woz_value"] is not None:
            value = Decimal(facts["woz_value"])
            ozb_rates = {"home": [("home", "ozb_home_owner_pct")],
                         "owner": [("owner", "ozb_nonresidential_owner_pct")],
                         "user": [("user", "ozb_nonresidential_user_pct")]}
            ozb_rates["both"] = ozb_rates["owner"] + ozb_rates["user"]
            for role, key in ozb_rates[use]:
                ozb = (value * rate(key) / 100).quantize(CENT, ROUND_HALF_UP)
                parts.append(ozb)
                dispatcher.utter_message(
                    response=f"utter_tax_calculation_ozb{'' if role == 'home' else '_' + role}",
                    woz=money(value), rate=formats.percent(rate(key), language), amount=money(ozb))
        if facts["household_size"]:
            people = int(facts["household_size"])
            waste = rate("waste_single_eur" if people == 1 else "waste_multi_eur")
            parts += [waste, rate("sewage_eur")]
            dispatcher.utter_message(response="utter_tax_calculation_waste", people=people,
                                     amount=money(waste))
            if rates.get("waste_diftar_eur"):  # a variable part per emptying, not in the total
                dispatcher.utter_message(response="utter_tax_calculation_diftar",
                                         amount=money(rate("waste_diftar_eur")))
            dispatcher.utter_message(response="utter_tax_calculation_sewage",
                                     amount=money(rate("sewage_eur")))
        if facts["dogs"]:
            dogs = int(facts["dogs"])
            dog_tax = rate("dog_first_eur") + (dogs - 1) * rate("dog_extra_eur")
            parts.append(dog_tax)
            dispatcher.utter_message(response="utter_tax_calculation_dogs", dogs=dogs,
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
        found = woz(str(value))
        if found is None:
            dispatcher.utter_message(response="utter_invalid_woz_value")
        return {"woz_value": found}

    def validate_household_size(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker,
        domain: dict[str, Any],
    ) -> dict[str, Any]:
        """Accept 1 to 20 people."""
        found = count(str(value), PEOPLE_MAX)
        if not found:
            dispatcher.utter_message(response="utter_invalid_household_size")
        return {"household_size": found or None}

    def validate_dogs(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker,
        domain: dict[str, Any],
    ) -> dict[str, Any]:
        """Accept 0 to 20 dogs."""
        found = count(str(value), DOGS_MAX)
        if found is None:
            dispatcher.utter_message(response="utter_invalid_dogs")
        return {"dogs": found}
