"""Rendering a page from the templates, and the helpers every console page writes with.

Times are on the municipality's clock (`timezone` in its facts), numbers the Dutch way, and
intents by their label (`intents/labels.yml`).
"""

from datetime import date, datetime, timedelta
from functools import partial
from typing import Any

from fastapi import Request, Response
from fastapi.templating import Jinja2Templates

from bot.console.scoping import EVERY_TENANT, title
from bot.replies import formats
from bot.replies.labels import Labels
from bot.replies.municipality import Municipality

MOMENT = "%d-%m-%Y %H:%M"
DAY = "%d-%m-%Y"
NONE = "\u2013"  # an en dash where there is no value yet


def render(request: Request, template: str, context: dict[str, Any],
           status_code: int = 200) -> Response:
    """Render a template (autoescaped: citizen text shows as text, never as markup)."""
    templates: Jinja2Templates = request.app.state.templates
    return templates.TemplateResponse(request, template, context, status_code=status_code)


class Clock:
    """Stored moments (UTC) written on the municipality's clock."""

    def __init__(self, town: Municipality) -> None:
        self.town = town

    def when(self, moment: datetime | None, seconds: bool = False) -> str:
        """`02-12-2026 21:47` (with `:05` when `seconds`); nothing for no moment."""
        if moment is None:
            return ""
        return self.town.local(moment).strftime(MOMENT + (":%S" if seconds else ""))

    def time(self, moment: datetime) -> str:
        """`21:47`."""
        return self.town.local(moment).strftime("%H:%M")

    def day(self, moment: datetime | date) -> str:
        """`15-12-2026`: a stored moment's day there, or a date as it is."""
        day = self.town.local(moment).date() if isinstance(moment, datetime) else moment
        return day.strftime(DAY)

    def through(self, end: datetime) -> str:
        """`t/m 15-12-2026` for a period that ends (exclusive) at the start of 16-12."""
        return "t/m " + (self.town.local(end) - timedelta(microseconds=1)).strftime(DAY)

    def iso(self, moment: datetime) -> str:
        """ISO 8601 with the offset, for exports: `2026-12-02T21:47:05+01:00`."""
        return self.town.local(moment).isoformat(timespec="seconds")


def number(value: float | None, places: int = 0) -> str:
    """`1.234`, `0,4`; a dash for no value."""
    return NONE if value is None else formats.number(value, "nl", places)


def duration(seconds: float | None) -> str:
    """A wait or handling time: `24 s`, `4,5 min`, `1,2 uur`; a dash for none."""
    if seconds is None:
        return NONE
    if seconds < 60:
        return f"{number(seconds)} s"
    if seconds < 3600:
        return f"{number(seconds / 60, 1)} min"
    return f"{number(seconds / 3600, 1)} uur"


def install(templates: Jinja2Templates, town: Municipality, labels: Labels,
            tenants: dict[str, str], shared: bool) -> None:
    """Give every template the town's name, its clock, Dutch numbers, intent and tenant names.

    On a deployment of several municipalities the console's name is "Alle gemeenten", or the
    user's one municipality (base.html).
    """
    clock = Clock(town)
    templates.env.globals["town"] = EVERY_TENANT if shared else town.name
    templates.env.globals["municipality"] = partial(title, tenants)
    templates.env.filters.update(
        when=clock.when, time=clock.time, day=clock.day, through=clock.through,
        number=number, duration=duration, intent=labels)
