"""Reading amounts and counts from how citizens write them: "350k", "3,5 ton", "€ 350.000,-"."""

import re
from decimal import Decimal, InvalidOperation

NUMBER_WORDS = {
    "een": 1, "één": 1, "one": 1, "a": 1, "an": 1, "twee": 2, "two": 2, "drie": 3, "three": 3,
    "vier": 4, "four": 4, "vijf": 5, "five": 5, "zes": 6, "six": 6,
}
TOGETHER = {"tweeën": 2, "tweeen": 2, "drieën": 3, "drieen": 3, "vieren": 4, "vijven": 5,
            "zessen": 6}
SCALE = {"k": 1_000, "duizend": 1_000, "thousand": 1_000, "ton": 100_000, "m": 1_000_000,
         "miljoen": 1_000_000, "million": 1_000_000}
EURO = re.compile(
    r"(?:€|eur(?:o)?)?\s*(\d{1,3}(?:[.,\s]\d{3})+(?:[.,]\d{1,2}(?!\d))?|\d+(?:[.,]\d+)?)"
    r"(?:,-)?\s*"
    r"(k|duizend|thousand|ton|m|miljoen|million)?\b", re.IGNORECASE)
PEOPLE = re.compile(
    r"\b(\d+|een|één|twee|drie|vier|vijf|zes|one|two|three|four|five|six)\s*"
    r"(?:personen|persoons|persoon|mensen|people|persons|person)\b"
    r"|\bmet\s+z(?:'|\u2019)?n\s+(tweeën|tweeen|drieën|drieen|vieren|vijven|zessen)\b"
    r"|\b(?:we|wij)\s+(?:zijn|are)\s+(?:met\s+)?(\d+|twee|drie|vier|vijf|zes|two|three|four|five|six)\b",
    re.IGNORECASE)
ALONE = re.compile(r"\b(alleen|alleenstaand|eenpersoons|single|alone|by myself|on my own)\b",
                   re.IGNORECASE)
NEGATIVE = re.compile(r"(?<![\d,])-\s*\d")
NONE = re.compile(r"\b(geen|niks|niets|nul|none|nothing|zero|no)\b", re.IGNORECASE)
DOGS = re.compile(
    r"\b(\d+|een|één|twee|drie|vier|one|a|two|three|four)\s+(?:honden|hond|dogs|dog)\b",
    re.IGNORECASE)


def _count(word: str) -> int:
    return int(word) if word.isdigit() else NUMBER_WORDS[word.lower()]


def euros(text: str) -> Decimal | None:
    """Return the largest amount in a text, in euros ("3,5 ton" is 350000)."""
    found = []
    for digits, scale in EURO.findall(text):
        compact = digits.replace(" ", "")
        # 350.000 (Dutch) and 350,000 (English) group thousands; 3,5 and 3.5 are decimals.
        if re.fullmatch(r"\d{1,3}(?:\.\d{3})+(?:,\d{1,2})?", compact):
            compact = compact.replace(".", "")
        elif re.fullmatch(r"\d{1,3}(?:,\d{3})+(?:\.\d{1,2})?", compact):
            compact = compact.replace(",", "")
        try:
            value = Decimal(compact.replace(",", "."))
        except InvalidOperation:
            continue
        found.append(value * SCALE.get(scale.lower(), 1) if scale else value)
    return max(found) if found else None


def household(text: str) -> int | None:
    """Return how many people the household has, if the text says."""
    if ALONE.search(text):
        return 1
    match = PEOPLE.search(text)
    if not match:
        return None
    number, together, we_are = match.groups()
    if together:
        return TOGETHER[together.lower()]
    return _count(number or we_are)


def dogs(text: str) -> int | None:
    """Return how many dogs the text mentions."""
    match = DOGS.search(text)
    return _count(match.group(1)) if match else None


def negative(text: str) -> bool:
    """Say whether a text holds a negative number ("-2", but not "€ 350.000,-")."""
    return bool(NEGATIVE.search(text))


def answer(text: str) -> Decimal | None:
    """Read an amount answered to a question: "1.450", "€ 3.000,-", "geen" (0); None if not."""
    if negative(text):
        return None
    found = euros(text)
    if found is None and NONE.search(text):
        return Decimal(0)
    return found
