"""Amounts, percentages, dates and times written the way each language writes them."""

from datetime import date, datetime, time
from decimal import ROUND_HALF_UP, Decimal

from bot.types import Language

MONTHS = {
    "nl": ("januari", "februari", "maart", "april", "mei", "juni", "juli", "augustus",
           "september", "oktober", "november", "december"),
    "en": ("January", "February", "March", "April", "May", "June", "July", "August",
           "September", "October", "November", "December"),
}
WEEKDAYS = {
    "nl": ("maandag", "dinsdag", "woensdag", "donderdag", "vrijdag", "zaterdag", "zondag"),
    "en": ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"),
}


def _grouped(value: Decimal, places: int, thousands: str, decimal_mark: str) -> str:
    quantum = Decimal(1).scaleb(-places)
    text = f"{value.quantize(quantum, rounding=ROUND_HALF_UP):,.{places}f}"
    return text.replace(",", "_").replace(".", decimal_mark).replace("_", thousands)


def number(value: float | Decimal, language: Language, places: int = 0) -> str:
    """Write a number: `1.234` or `0,4` in Dutch, `1,234` or `0.4` in English."""
    marks = (".", ",") if language == "nl" else (",", ".")
    return _grouped(Decimal(str(value)), places, *marks)


def money(value: float | Decimal, language: Language) -> str:
    """Write an amount in euros: `€ 1.234,50` in Dutch, `€1,234.50` in English."""
    amount = Decimal(str(value))
    if language == "nl":
        return "€ " + _grouped(amount, 2, ".", ",")
    return "€" + _grouped(amount, 2, ",", ".")


def percent(value: float | Decimal, language: Language) -> str:
    """Write a percentage with the decimals it was given: `0,0856%` or `0.0856%`."""
    text = format(Decimal(str(value)).normalize(), "f")
    return (text.replace(".", ",") if language == "nl" else text) + "%"


def day(value: date, language: Language) -> str:
    """Write a date: `30 april 2026` or `30 April 2026`."""
    return f"{value.day} {MONTHS[language][value.month - 1]} {value.year}"


def clock(value: time, language: Language) -> str:
    """Write a time of day: `8.30 uur` style in Dutch (without `uur`), `8:30` in English."""
    mark = "." if language == "nl" else ":"
    return f"{value.hour}{mark}{value.minute:02d}"


def minutes(value: float, language: Language) -> str:
    """Write a duration in minutes: `0,5 minuut`, `1 minuut`, `2 minuten` / `1 minute`."""
    number = format(Decimal(str(round(value, 1))).normalize(), "f")
    if language == "nl":
        return f"{number.replace('.', ',')} {'minuut' if value <= 1 else 'minuten'}"
    return f"{number} {'minute' if value == 1 else 'minutes'}"


def listing(items: list[str], language: Language) -> str:
    """Join names as a sentence does: `a, b en c` / `a, b and c`."""
    if len(items) < 2:
        return "".join(items)
    return f"{', '.join(items[:-1])} {'en' if language == 'nl' else 'and'} {items[-1]}"


def in_days(days: int, language: Language) -> str:
    """Say how far off a day is: `vandaag`, `morgen`, `over 12 dagen` / `in 12 days`."""
    if language == "nl":
        return {0: "vandaag", 1: "morgen"}.get(days, f"over {days} dagen")
    return {0: "today", 1: "tomorrow"}.get(days, f"in {days} days")


def moment(value: datetime, now: datetime, language: Language) -> str:
    """Write when something happens relative to now: `morgen om 8.30 uur`, `Monday at 8:30`."""
    days_ahead = (value.date() - now.date()).days
    at = clock(value.time(), language)
    if language == "nl":
        name = {0: "vandaag", 1: "morgen"}.get(days_ahead, WEEKDAYS["nl"][value.weekday()])
        if days_ahead > 6:
            name = day(value.date(), "nl")
        return f"{name} om {at} uur"
    name = {0: "today", 1: "tomorrow"}.get(days_ahead, WEEKDAYS["en"][value.weekday()])
    if days_ahead > 6:
        name = day(value.date(), "en")
    return f"{name} at {at}"
