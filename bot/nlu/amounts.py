"""Reading amounts and counts from how citizens write them: "350k", "3,5 ton", "€ 350.000,-".

`facts` reads the typed facts of a message, each number bound to its unit ("met z'n tweeën"
is two people, "2 honden" two dogs), after masking: a BSN, IBAN or phone number is no fact.
"""

import re
from decimal import Decimal, InvalidOperation
from typing import Literal

from bot.history.masking import mask

Role = Literal["owner", "tenant", "business"]
NUMBER_WORDS = {
    "een": 1, "één": 1, "one": 1, "a": 1, "an": 1, "twee": 2, "two": 2, "drie": 3, "three": 3,
    "vier": 4, "four": 4, "vijf": 5, "five": 5, "zes": 6, "six": 6, "zeven": 7, "seven": 7,
    "acht": 8, "eight": 8, "negen": 9, "nine": 9, "tien": 10, "ten": 10,
}
_NUMBER = r"(\d+|" + "|".join(NUMBER_WORDS) + ")"
_COUNTED = r"(\d+|" + "|".join(w for w in NUMBER_WORDS if w not in {"a", "an"}) + ")"  # "we are a"
TOGETHER = {"tweeën": 2, "tweeen": 2, "drieën": 3, "drieen": 3, "vieren": 4, "vijven": 5,
            "zessen": 6, "zevenen": 7, "achten": 8}
# A WOZ value outside this range is a typo or not a WOZ value at all (a year, a count).
WOZ_RANGE = (Decimal(10_000), Decimal(50_000_000))
PEOPLE_MAX = 20
DOGS_MAX = 20
SCALE = {"k": 1_000, "duizend": 1_000, "thousand": 1_000, "ton": 100_000, "m": 1_000_000,
         "miljoen": 1_000_000, "million": 1_000_000}
EURO = re.compile(
    r"(?:€|eur(?:o)?)?\s*(\d{1,3}(?:[.,\s]\d{3})+(?:[.,]\d{1,2}(?!\d))?|\d+(?:[.,]\d+)?)"
    r"(?:,-)?\s*"
    r"(k|duizend|thousand|ton|m|miljoen|million)?\b", re.IGNORECASE)
PEOPLE = re.compile(
    rf"\b{_NUMBER}[\s-]*(?:personen|persoons|persoon|mensen|people|persons|person)\b"
    rf"|\bmet\s+(?:z(?:'|\u2019)?n|zijn|ons|onze)\s+({'|'.join(TOGETHER)})\b"
    rf"|\b(?:we|wij)\s+(?:zijn|are)\s+(?:met\s+|with\s+)?(?:z'n\s+|ons\s+)?{_COUNTED}\b"
    rf"|\b(?:gezin|huishouden|family|household)\s+(?:van|of)\s+{_NUMBER}\b"
    rf"|\bthere\s+are\s+{_NUMBER}\s+of\s+us\b",
    re.IGNORECASE)
ALONE = re.compile(
    r"\b(?:woon|wonen|ben)\s+(?:\w+\s+)?alleen\b|\balleen\s+(?:woon|wonen)\b|^\W*alleen\W*$|\balleenstaand|eenpersoons"
    r"|\bin\s+(?:m'n|mijn)\s+eentje\b|\bsingle\b|\balone\b|\bby myself\b|\bon my own\b",
    re.IGNORECASE)
NEGATIVE = re.compile(r"(?<![\d,])-\s*\d")
NONE = re.compile(r"\b(geen|niks|niets|nul|none|nothing|zero|no)\b", re.IGNORECASE)
DOGS = re.compile(
    rf"\b(?:{_NUMBER}|(geen|no))\s+(?:\w+\s+)?(?:honden|hond|hondjes|hondje|dogs|dog)\b",
    re.IGNORECASE)
BARE = re.compile(rf"^\W*{_NUMBER}\W*$|^\W*(geen|none|nul|zero)\W*$", re.IGNORECASE)
# A WOZ value is read from an amount the message ties to a house, a value or OZB.
WOZ_WORDS = re.compile(r"woz|ozb|huis|woning|pand|waarde|value|house|home|property|flat"
                       r"|appartement|apartment", re.IGNORECASE)
ROLES: tuple[tuple[Role, re.Pattern[str]], ...] = (
    ("business", re.compile(r"bedrijfspand|bedrijfsruimte|winkelpand|kantoorpand|business premises"
                            r"|commercial property|\bmy (?:shop|office)\b", re.IGNORECASE)),
    ("tenant", re.compile(r"\bik\s+huur\b|\bwe\s+huren\b|\bhuurder|huurwoning|huurhuis"
                          r"|\bi\s+rent\b|\bwe\s+rent\b|\brenting\b|\btenant", re.IGNORECASE)),
    ("owner", re.compile(r"eigenaar|koopwoning|koophuis|eigen huis|\bi\s+own\b|\bwe\s+own\b"
                         r"|\bowner\b|homeowner", re.IGNORECASE)),
)


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
    together = match.group(2)
    if together:
        return TOGETHER[together.lower()]
    return _count(next(number for number in match.groups() if number))


def dogs(text: str) -> int | None:
    """Return how many dogs the text mentions ("geen hond" is 0)."""
    match = DOGS.search(text)
    if not match:
        return None
    return _count(match.group(1)) if match.group(1) else 0


def bare(text: str) -> int | None:
    """Return the number a text is made of alone ("3", "drie", "geen"); None otherwise."""
    match = BARE.match(text.strip())
    if not match:
        return None
    return _count(match.group(1)) if match.group(1) else 0


def woz(text: str) -> int | None:
    """Read a WOZ value from a text; None when there is none or it cannot be one."""
    value = euros(text)
    if value is None or negative(text) or not WOZ_RANGE[0] <= value <= WOZ_RANGE[1]:
        return None
    return int(value)


def role(text: str) -> Role | None:
    """Return whether the citizen owns, rents or has business premises, if the text says."""
    return next((name for name, words in ROLES if words.search(text)), None)


def facts(text: str, asked: str | None = None) -> dict[str, int | str]:
    """Read the typed facts a text gives; a bare number only fills `asked`, the slot asked for.

    Personal data (a BSN, IBAN, phone number, e-mail address) is masked first, so its digits
    never become a count or a WOZ value.
    """
    text = mask(text)
    if negative(text):
        return {}
    found: dict[str, int | str] = {}
    people, dog_count, value, who = household(text), dogs(text), woz(text), role(text)
    if people is not None and 1 <= people <= PEOPLE_MAX:
        found["household_size"] = people
    if dog_count is not None and dog_count <= DOGS_MAX:
        found["dogs"] = dog_count
    if value is not None and (asked == "woz_value" or WOZ_WORDS.search(text)):
        found["woz_value"] = value
    if who:
        found["role"] = who
    number = bare(text)
    if asked in {"household_size", "dogs"} and asked not in found and number is not None:
        limit = (1, PEOPLE_MAX) if asked == "household_size" else (0, DOGS_MAX)
        if limit[0] <= number <= limit[1]:
            found[asked] = number
    return found


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
