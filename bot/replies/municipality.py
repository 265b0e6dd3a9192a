"""A municipality's facts: contact details, dates, rates and opening hours, from its YAML file."""

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import yaml

from bot.replies import formats
from bot.types import Language

DAY_NAMES = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
Hours = tuple[time, time]


def _parse_hours(text: str) -> Hours:
    start, end = (time.fromisoformat(part.strip()) for part in text.split("-"))
    if end <= start:
        raise ValueError(f"opening hours {text!r}: closing time must be after opening time")
    return start, end


@dataclass(frozen=True)
class Municipality:
    """Facts of one municipality plus the opening-hours logic built on them."""

    key: str
    facts: dict[str, Any]
    timezone: ZoneInfo
    hours: dict[int, Hours]
    holidays: frozenset[date]

    @property
    def name(self) -> str:
        """Return the municipality's display name."""
        return str(self.facts["municipality"])

    @property
    def always_human(self) -> frozenset[str]:
        """Return the intents this municipality always hands to a person."""
        return frozenset(self.facts.get("always_human") or ())

    def now(self) -> datetime:
        """Return the current local time of the municipality."""
        return datetime.now(self.timezone)

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


def load(facts_dir: Path, key: str) -> Municipality:
    """Read `<facts_dir>/<key>.yml` (by default `intents/facts/<key>.yml`)."""
    path = facts_dir / f"{key}.yml"
    facts = yaml.safe_load(path.read_text(encoding="utf-8"))
    hours = {
        DAY_NAMES.index(name.lower()): _parse_hours(text)
        for name, text in (facts.get("opening_hours") or {}).items()
    }
    return Municipality(
        key=key,
        facts=facts,
        timezone=ZoneInfo(facts.get("timezone", "Europe/Amsterdam")),
        hours=hours,
        holidays=frozenset(facts.get("holidays") or ()),
    )

