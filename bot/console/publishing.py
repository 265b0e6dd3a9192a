"""Supervisors publish, change and withdraw announcements that Balie adds to its answers."""

from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, Form, HTTPException, Request, Response
from fastapi.responses import RedirectResponse

from bot.console import scoping
from bot.console.pages import Clock, render
from bot.console.security import SUPERVISOR, allow
from bot.history.accounts import User
from bot.history.audit import record
from bot.listening.announcements import Announcement, Newsroom
from bot.replies.municipality import Municipality

router = APIRouter(prefix="/supervisor/announcements")
Supervisor = Annotated[User, Depends(allow(*SUPERVISOR))]
MAX_TEXT = 1000
WEEKS_SHOWN = 2  # a new announcement's period, until the supervisor picks another


@dataclass(frozen=True)
class Draft:
    """An announcement as typed in the form: kept as it was when it is sent back with errors."""

    text_nl: str = ""
    text_en: str = ""
    topic: str = ""
    valid_from: str = ""
    valid_until: str = ""
    inline: bool = True
    tenant: str = ""


@dataclass(frozen=True)
class Checked:
    """A draft that holds: its texts and its period in UTC (from and until the days' ends)."""

    text_nl: str
    text_en: str
    topic: str | None
    start: datetime
    end: datetime
    inline: bool


def _newsroom(request: Request) -> Newsroom:
    newsroom: Newsroom = request.app.state.newsroom
    return newsroom


def _town(request: Request) -> Municipality:
    town: Municipality = request.app.state.town
    return town


def _day(text: str) -> date | None:
    """Read a date as a date field sends it (2026-12-15) or as it is typed (15-12-2026)."""
    for reading in (date.fromisoformat, lambda t: datetime.strptime(t, "%d-%m-%Y").date()):
        try:
            return reading(text.strip())
        except ValueError:
            continue
    return None


def check(draft: Draft, town: Municipality, topics: set[str]) -> Checked | dict[str, str]:
    """Check a draft; return it as stored, or per field what is wrong (in Dutch)."""
    errors: dict[str, str] = {}
    for field, name in (("text_nl", "de Nederlandse tekst"), ("text_en", "de Engelse tekst")):
        text = getattr(draft, field).strip()
        if not text:
            errors[field] = f"Vul {name} in."
        elif len(text) > MAX_TEXT:
            errors[field] = f"Maak {name} korter: hoogstens {MAX_TEXT} tekens."
    first, last = _day(draft.valid_from), _day(draft.valid_until)
    if first is None:
        errors["valid_from"] = "Vul bij Vanaf een datum in, zoals 15-12-2026."
    if last is None:
        errors["valid_until"] = "Vul bij Tot en met een datum in, zoals 15-12-2026."
    elif first is not None and last < first:
        errors["valid_until"] = "De laatste dag mag niet voor de eerste dag liggen."
    if draft.topic and draft.topic not in topics:
        errors["topic"] = "Kies een onderwerp uit de lijst."
    if errors or first is None or last is None:
        return errors
    # A day on the municipality's clock, stored in UTC (SQLite keeps no offset).
    start = datetime.combine(first, time(), town.timezone).astimezone(UTC)
    end = datetime.combine(last + timedelta(days=1), time(), town.timezone).astimezone(UTC)
    return Checked(draft.text_nl.strip(), draft.text_en.strip(), draft.topic or None, start, end,
                   draft.inline)


def draft_of(announcement: Announcement, town: Municipality) -> Draft:
    """Return an announcement as the form shows it."""
    last = town.local(announcement.valid_until) - timedelta(microseconds=1)
    return Draft(announcement.text_nl, announcement.text_en, announcement.topic or "",
                 town.local(announcement.valid_from).date().isoformat(),
                 last.date().isoformat(), announcement.inline)


def typed(
    text_nl: Annotated[str, Form()] = "", text_en: Annotated[str, Form()] = "",
    topic: Annotated[str, Form()] = "", valid_from: Annotated[str, Form()] = "",
    valid_until: Annotated[str, Form()] = "", inline: Annotated[str, Form()] = "",
    tenant: Annotated[str, Form(max_length=64)] = "",
) -> Draft:
    """Read the form's fields as a draft: anything typed comes back, checked by `check`."""
    return Draft(text_nl, text_en, topic, valid_from, valid_until, bool(inline), tenant)


Typed = Annotated[Draft, Depends(typed)]


async def _page(request: Request, user: User, draft: Draft | None = None,
                errors: dict[str, str] | None = None, editing: int | None = None,
                done: str = "") -> Response:
    newsroom, town = _newsroom(request), _town(request)
    today = town.now().date()
    draft = draft or Draft(valid_from=today.isoformat(),
                           valid_until=(today + timedelta(weeks=WEEKS_SHOWN)).isoformat())
    return render(request, "announcements.html", {
        "user": user, "announcements": await newsroom.upcoming(user.scope),
        "topics": newsroom.topics, "draft": asdict(draft), "errors": errors or {},
        "editing": editing, "done": done, "several": scoping.several(request, user),
        "tenant_choices": scoping.choices(request, user)}, 400 if errors else 200)


async def _found(request: Request, announcement_id: int, user: User) -> Announcement:
    announcement = await _newsroom(request).get(announcement_id)
    if announcement is None or not user.scope.allows(announcement.tenant):
        raise HTTPException(404, "Deze aankondiging bestaat niet.")
    return announcement


@router.get("")
async def announcements(request: Request, user: Supervisor, done: str = "") -> Response:
    """List the current and coming announcements, with a form for a new one."""
    return await _page(request, user, done=done[:20])


@router.post("")
async def announce(request: Request, user: Supervisor, draft: Typed) -> Response:
    """Publish an announcement from the start of one day to the end of another (local days)."""
    newsroom = _newsroom(request)
    checked = check(draft, _town(request), set(newsroom.topics))
    tenant = scoping.chosen(request, user, draft.tenant)
    if not isinstance(checked, Checked) or tenant is None:
        errors = {} if isinstance(checked, Checked) else checked
        if tenant is None:
            errors["tenant"] = "Kies voor wie de aankondiging is."
        return await _page(request, user, draft, errors)
    created = await newsroom.announce(checked.text_nl, checked.text_en, checked.start,
                                      checked.end, checked.topic, checked.inline, user.name,
                                      tenant)
    await record(request.app.state.history, user.name, "announce", str(created.id), tenant)
    return RedirectResponse("/supervisor/announcements?done=published", status_code=303)


@router.get("/{announcement_id}")
async def edit(request: Request, announcement_id: int, user: Supervisor) -> Response:
    """Show an announcement in the form, to change it."""
    announcement = await _found(request, announcement_id, user)
    return await _page(request, user, draft_of(announcement, _town(request)),
                       editing=announcement_id)


@router.post("/{announcement_id}")
async def change(request: Request, announcement_id: int, user: Supervisor,
                 draft: Typed) -> Response:
    """Change an announcement; the change is audited."""
    newsroom = _newsroom(request)
    announcement = await _found(request, announcement_id, user)
    checked = check(draft, _town(request), set(newsroom.topics))
    if not isinstance(checked, Checked):
        return await _page(request, user, draft, checked, editing=announcement_id)
    await newsroom.change(announcement_id, checked.text_nl, checked.text_en, checked.start,
                          checked.end, checked.topic, checked.inline)
    await record(request.app.state.history, user.name, "announcement_change",
                 str(announcement_id), announcement.tenant)
    return RedirectResponse("/supervisor/announcements?done=changed", status_code=303)


@router.get("/{announcement_id}/withdraw")
async def confirm_withdraw(request: Request, announcement_id: int, user: Supervisor) -> Response:
    """Ask whether to withdraw an announcement."""
    announcement = await _found(request, announcement_id, user)
    clock = Clock(_town(request))
    return render(request, "confirm.html", {
        "user": user, "title": "Aankondiging intrekken?",
        "explanation": "Balie toont deze aankondiging dan niet meer. Dit kun je niet ongedaan "
                       "maken; het intrekken staat in het auditlog.",
        "quoted": [(announcement.text_nl, "nl"), (announcement.text_en, "en"),
                   (f"{clock.day(announcement.valid_from)} "
                    f"{clock.through(announcement.valid_until)}", "nl")],
        "action": f"/supervisor/announcements/{announcement_id}/withdraw",
        "yes": "Ja, intrekken", "no": "Nee, laten staan", "back": "/supervisor/announcements"})


@router.post("/{announcement_id}/withdraw")
async def withdraw(request: Request, announcement_id: int, user: Supervisor) -> Response:
    """Withdraw an announcement at once: Balie stops showing it; audited."""
    announcement = await _found(request, announcement_id, user)
    if await _newsroom(request).withdraw(announcement_id):
        await record(request.app.state.history, user.name, "announcement_withdraw",
                     str(announcement_id), announcement.tenant)
    return RedirectResponse("/supervisor/announcements?done=withdrawn", status_code=303)
