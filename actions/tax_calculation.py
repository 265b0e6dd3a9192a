"""What a household pays: OZB from the WOZ value, waste and sewage levies, dog tax."""

from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.executor import CollectingDispatcher

from bot import amounts, formats, municipality
from bot.types import as_language

# A WOZ value outside this range is a typo or not a WOZ value at all (a year, a count).
WOZ_RANGE = (Decimal(10_000), Decimal(50_000_000))
CENT = Decimal("0.01")


class ActionCalculateTax(Action):
    """Compute the amounts the citizen gave enough facts for, with the formula and a total."""

    def name(self) -> str:
        """Return the action's name."""
        return "action_calculate_tax"

    def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        """Utter one line per tax that can be computed, then the total; or ask for the facts."""
        facts = municipality.configured().facts
        language = as_language(tracker.get_slot("language"))
        text = str((tracker.latest_message or {}).get("text") or "")
        woz, people, dogs = amounts.euros(text), amounts.household(text), amounts.dogs(text)
        if woz is not None and not WOZ_RANGE[0] <= woz <= WOZ_RANGE[1]:
            woz = None

        def money(value: Decimal) -> str:
            return formats.money(value, language)

        parts: list[Decimal] = []
        if woz is not None:
            rate = Decimal(str(facts["ozb_home_owner_pct"]))
            ozb = (woz * rate / 100).quantize(CENT, ROUND_HALF_UP)
            parts.append(ozb)
            dispatcher.utter_message(response="utter_tax_calculation_ozb", woz=money(woz),
                                     rate=formats.percent(rate, language), amount=money(ozb))
        if people is not None:
            waste = Decimal(str(facts["waste_single_eur" if people == 1 else "waste_multi_eur"]))
            sewage = Decimal(str(facts["sewage_eur"]))
            parts += [waste, sewage]
            dispatcher.utter_message(response="utter_tax_calculation_waste", people=people,
                                     amount=money(waste))
            dispatcher.utter_message(response="utter_tax_calculation_sewage", amount=money(sewage))
        if dogs:
            first, extra = (Decimal(str(facts[k])) for k in ("dog_first_eur", "dog_extra_eur"))
            dog_tax = first + (dogs - 1) * extra
            parts.append(dog_tax)
            dispatcher.utter_message(response="utter_tax_calculation_dogs", dogs=dogs,
                                     amount=money(dog_tax))
        if len(parts) > 1:
            dispatcher.utter_message(response="utter_tax_calculation_total",
                                     amount=money(sum(parts, Decimal(0))))
        if not parts:
            dispatcher.utter_message(response="utter_tax_calculation")
        return []
