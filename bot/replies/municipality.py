"""A municipality's facts: contact details, dates, rates and opening hours, from its YAML file."""

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Annotated, Any, Literal, get_args
from zoneinfo import ZoneInfo

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

from bot.replies import formats
from bot.types import Language

Weekday = Literal["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]
DAY_NAMES: tuple[Weekday, ...] = get_args(Weekday)
Hours = tuple[time, time]
KINDS = ("municipality", "water_board", "collaboration")


class FactsError(ValueError):
    """A facts file lacks a fact or gives one of the wrong type; the message says which."""


class PerLanguage(BaseModel):
    """A text that differs per language."""

    model_config = ConfigDict(extra="forbid")

    nl: str
    en: str


def _parse_hours(text: object) -> Hours:
    if not isinstance(text, str):
        raise ValueError(f"opening hours {text!r}: write them as 'HH:MM-HH:MM'")
    start, end = (time.fromisoformat(part.strip()) for part in text.split("-"))
    if end <= start:
        raise ValueError(f"opening hours {text!r}: closing time must be after opening time")
    return start, end


def _lower(days: object) -> object:
    return {str(day).lower(): hours for day, hours in days.items()} if isinstance(
        days, dict) else days


Text = Annotated[str | PerLanguage, Field(description="a text, or one text per language under "
                                                     "nl: and en:")]
Whole = Annotated[int, Field(description="a whole number, such as 6")]
Euros = Annotated[float, Field(description="an amount in euros, such as 96.00")]
Percent = Annotated[float, Field(description="a percentage, such as 0.0856")]
Day = Annotated[date, Field(description="a date written YYYY-MM-DD")]
Url = Annotated[str, Field(description="a web address")]
Zone = Annotated[ZoneInfo, Field(description="a time zone such as Europe/Amsterdam")]
OpeningHours = Annotated[
    dict[Weekday, Annotated[Hours, BeforeValidator(_parse_hours)]],
    BeforeValidator(_lower),
    Field(description="a table of weekdays with their hours, such as monday: '08:30-17:00'"),
]
Holidays = Annotated[list[date], Field(description="a list of dates written YYYY-MM-DD")]


class Facts(BaseModel):
    """The schema of `intents/facts/<municipality>.yml`; a municipality may add facts of its own.

    The suffix of a name says how a response writes it: `_eur` as money, `_pct` as a percentage.
    """

    model_config = ConfigDict(extra="allow")

    municipality: Annotated[str, Field(description="the municipality's name")]
    tax_office: Text
    tax_year: Whole
    phone: Text
    phone_abroad: Text
    email: Text
    address: Text
    website: Url
    portal_url: Url
    objection_url: Url
    remission_url: Url
    direct_debit_url: Url
    arrangement_url: Url
    dog_url: Url
    tourist_tax_url: Url
    complaint_url: Url
    news_url: Url
    timezone: Zone = ZoneInfo("Europe/Amsterdam")
    opening_hours: OpeningHours
    holidays: Holidays = []
    payment_iban: Annotated[str, Field(description="an IBAN, such as NL57 BNGH 0285 1234 56")]
    payment_account_name: Text
    notice_date: Day
    payment_due_date: Day
    next_notice_date: Day
    woz_reference_date: Day
    objection_weeks: Whole
    remission_months: Whole
    remission_norm_single_eur: Euros
    remission_norm_single_parent_eur: Euros
    remission_norm_couple_eur: Euros
    remission_savings_max_eur: Euros
    remission_car_max_eur: Euros
    remission_margin_pct: Percent
    direct_debit_terms: Whole
    direct_debit_deadline: Day
    arrangement_max_terms: Whole
    arrangement_min_eur: Euros
    arrangement_max_eur: Euros
    refund_weeks: Whole
    dog_register_days: Whole
    ozb_home_owner_pct: Percent
    ozb_nonresidential_owner_pct: Percent
    ozb_nonresidential_user_pct: Percent
    waste_single_eur: Euros
    waste_multi_eur: Euros
    waste_diftar_eur: Annotated[
        float | None, Field(description="an amount in euros, or null for none")] = None
    sewage_eur: Euros
    dog_first_eur: Euros
    dog_extra_eur: Euros
    tourist_tax_eur: Euros
    reminder_cost_low_eur: Euros
    reminder_cost_high_eur: Euros
    reminder_threshold_eur: Euros
    writ_cost_min_eur: Euros
    water_board: Text
    water_board_url: Url
    national_tax_phone: Text
    national_tax_url: Url
    always_human: Annotated[list[str], Field(description="a list of intent names")] = []
    retention_days: Whole
    target_wait_minutes: Whole
    target_message_days: Whole
    water_board_tenant: Annotated[
        str | None, Field(description="the key of the water board's facts file")] = None


class WaterBoardFacts(BaseModel):
    """The schema of a water board's facts file (`kind: water_board`)."""

    model_config = ConfigDict(extra="allow")

    name: Annotated[str, Field(description="the water board's name")]
    website: Url
    phone: Text
    remission_url: Url
    household_eur: Euros  # watersysteemheffing ingezetenen, per household
    property_pct: Percent  # watersysteemheffing gebouwd, of the WOZ value
    purification_unit_eur: Euros  # zuiveringsheffing, per pollution unit
    purification_units_single: Whole = 1
    purification_units_multi: Whole = 3
    timezone: Zone = ZoneInfo("Europe/Amsterdam")
    opening_hours: OpeningHours = {}
    holidays: Holidays = []


@dataclass(frozen=True)
class Municipality:
    """Facts of one municipality plus the opening-hours logic built on them."""

    key: str
    source: Path
    facts: dict[str, Any]
    timezone: ZoneInfo
    hours: dict[int, Hours]
    holidays: frozenset[date]
    kind: str = "municipality"
    # The keys of the facts files it is built from: a collaboration's first, its own last.
    lineage: tuple[str, ...] = ()

    @property
    def name(self) -> str:
        """Return the municipality's (or water board's) display name."""
        return str(self.facts.get("municipality") or self.facts["name"])

    @property
    def always_human(self) -> frozenset[str]:
        """Return the intents this municipality always hands to a person."""
        return frozenset(self.facts.get("always_human") or ())

    def now(self) -> datetime:
        """Return the current local time of the municipality."""
        return datetime.now(self.timezone)

    def local(self, moment: datetime) -> datetime:
        """Return a stored moment on the municipality's clock (one without a zone is UTC)."""
        aware = moment if moment.tzinfo else moment.replace(tzinfo=UTC)  # SQLite keeps none
        return aware.astimezone(self.timezone)

    def hours_on(self, day: date) -> Hours | None:
        """Return the opening hours on a day, or None when the office is closed."""
        if day in self.holidays:
            return None
        return self.hours.get(day.weekday())

    def closes_at(self, at: datetime) -> time | None:
        """Return today's closing time when the office is open at `at`, else None."""
        hours = self.hours_on(at.date())
        if hours and hours[0] <= at.time() < hours[1]:
            return hours[1]
        return None

    def is_open(self, at: datetime) -> bool:
        """Tell whether staff are at work at `at`."""
        return self.closes_at(at) is not None

    def next_opening(self, at: datetime) -> datetime:
        """Return the next moment the office opens after `at`."""
        for offset in range(0, 370):
            day = at.date() + timedelta(days=offset)
            hours = self.hours_on(day)
            if hours is None:
                continue
            opening = datetime.combine(day, hours[0], tzinfo=at.tzinfo)
            if opening > at:
                return opening
        raise ValueError(f"{self.key}: no opening hours in the coming year")

    def opening_hours_text(self, language: Language) -> str:
        """Describe the weekly opening hours, grouping days with the same hours."""
        groups: list[tuple[list[int], Hours]] = []
        for weekday in sorted(self.hours):
            hours = self.hours[weekday]
            if groups and groups[-1][1] == hours and groups[-1][0][-1] == weekday - 1:
                groups[-1][0].append(weekday)
            else:
                groups.append(([weekday], hours))
        names = formats.WEEKDAYS[language]
        through, suffix = (" t/m ", " uur") if language == "nl" else (" to ", "")
        parts = []
        for days, (start, end) in groups:
            span = names[days[0]] if len(days) == 1 else names[days[0]] + through + names[days[-1]]
            clock = f"{formats.clock(start, language)}\u2013{formats.clock(end, language)}{suffix}"
            parts.append(f"{span} {clock}")
        return ", ".join(parts)
