"""Supervisors' polls: create one, read its results as a chart with the comments, close it."""

from collections.abc import Collection
from dataclasses import asdict, dataclass
from typing import Annotated

from fastapi import APIRouter, Depends, Form, HTTPException, Request, Response
from fastapi.responses import RedirectResponse

from bot.console import scoping
from bot.console.charts import bars
from bot.console.pages import render
from bot.console.security import SUPERVISOR, allow
from bot.history.accounts import User
from bot.history.audit import record
from bot.listening.polls import Poll, Polls
from bot.replies.labels import Labels

router = APIRouter(prefix="/supervisor/polls")
Supervisor = Annotated[User, Depends(allow(*SUPERVISOR))]
MAX_QUESTION = 500
MAX_OPTION = 60


@dataclass(frozen=True)
class Draft:
    """A poll as typed in the form, kept when it comes back with errors."""

    question_nl: str = ""
    question_en: str = ""
    options_nl: str = ""
    options_en: str = ""
    after_intent: str = ""
    free_text: bool = False
    tenant: str = ""


def typed(
    question_nl: Annotated[str, Form()] = "", question_en: Annotated[str, Form()] = "",
    options_nl: Annotated[str, Form()] = "", options_en: Annotated[str, Form()] = "",
    after_intent: Annotated[str, Form()] = "", free_text: Annotated[str, Form()] = "",
    tenant: Annotated[str, Form(max_length=64)] = "",
) -> Draft:
    """Read the form's fields as a draft."""
    return Draft(question_nl, question_en, options_nl, options_en, after_intent,
                 bool(free_text), tenant)


Typed = Annotated[Draft, Depends(typed)]


def _lines(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if line.strip()]


def check(draft: Draft, intents: Collection[str]) -> dict[str, str]:
    """Say per field what is wrong with a draft (in Dutch); nothing when it holds."""
    errors: dict[str, str] = {}
    for field, name in (("question_nl", "de Nederlandse vraag"),
                        ("question_en", "de Engelse vraag")):
        text = getattr(draft, field).strip()
        if not text:
            errors[field] = f"Vul {name} in."
        elif len(text) > MAX_QUESTION:
            errors[field] = f"Maak {name} korter: hoogstens {MAX_QUESTION} tekens."
    dutch, english = _lines(draft.options_nl), _lines(draft.options_en)
    if dutch or english:
        if not 2 <= len(dutch) <= 5:
            errors["options_nl"] = "Geef 2 tot 5 keuzes, elk op een eigen regel."
        elif len(english) != len(dutch):
            errors["options_en"] = (f"Geef evenveel Engelse keuzes als Nederlandse "
                                    f"({len(dutch)}), in dezelfde volgorde.")
        elif any(len(option) > MAX_OPTION for option in dutch + english):
            errors["options_nl"] = f"Houd elke keuze kort: hoogstens {MAX_OPTION} tekens."
    if draft.after_intent and draft.after_intent not in intents:
        errors["after_intent"] = "Kies een onderwerp uit de lijst."
    return errors


def _polls(request: Request) -> Polls:
    polls: Polls = request.app.state.polls
    return polls


def _labels(request: Request) -> Labels:
    labels: Labels = request.app.state.labels
    return labels


async def _list(request: Request, user: User, draft: Draft | None = None,
                errors: dict[str, str] | None = None, done: str = "") -> Response:
    return render(request, "polls.html", {
        "user": user, "polls": await _polls(request).every(user.scope),
        "draft": asdict(draft or Draft()), "errors": errors or {},
        "intents": _labels(request).intents, "done": done,
        "several": scoping.several(request, user),
        "tenant_choices": scoping.choices(request, user)}, 400 if errors else 200)


async def _found(request: Request, poll_id: int, user: User) -> Poll:
    poll = await _polls(request).get(poll_id)
    if poll is None or not user.scope.allows(poll.tenant):
        raise HTTPException(404, "Deze peiling bestaat niet.")
    return poll


@router.get("")
async def polls(request: Request, user: Supervisor, done: str = "") -> Response:
    """List the polls with their votes, and a form for a new one."""
    return await _list(request, user, done=done[:20])


@router.post("")
async def create(request: Request, user: Supervisor, draft: Typed) -> Response:
    """Create a poll, asked after answers on a topic (or only broadcast); audited."""
    errors = check(draft, _labels(request).intents)
    tenant = scoping.chosen(request, user, draft.tenant)
    if tenant is None:
        errors["tenant"] = "Kies voor wie de peiling is."
    if errors or tenant is None:
        return await _list(request, user, draft, errors)
    options = [{"nl": nl, "en": en} for nl, en in zip(
        _lines(draft.options_nl), _lines(draft.options_en), strict=True)]
    poll = await _polls(request).create(
        draft.question_nl.strip(), draft.question_en.strip(), options or None,
        free_text=draft.free_text, after_intent=draft.after_intent or None, tenant=tenant)
    await record(request.app.state.history, user.name, "poll_create", str(poll.id), tenant)
    return RedirectResponse(f"/supervisor/polls/{poll.id}?done=created", status_code=303)


@router.get("/{poll_id}")
async def results(request: Request, poll_id: int, user: Supervisor, done: str = "") -> Response:
    """Show a poll's votes per option as a chart and a table, and its comments."""
    await _found(request, poll_id, user)
    found = await _polls(request).results(poll_id, user.scope)
    chart = bars("Stemmen per keuze", ("stemmen",), found.poll.labels("nl"),
                 [[count] for count in found.counts])
    return render(request, "poll.html", {
        "user": user, "results": found, "chart": chart, "done": done[:20]})


@router.get("/{poll_id}/close")
async def confirm_close(request: Request, poll_id: int, user: Supervisor) -> Response:
    """Ask whether to close a poll."""
    poll = await _found(request, poll_id, user)
    return render(request, "confirm.html", {
        "user": user, "title": "Peiling sluiten?",
        "explanation": "Balie stelt de vraag dan niet meer en telt geen nieuwe stemmen. De "
                       "uitslag blijft te zien. Het sluiten staat in het auditlog.",
        "quoted": [(poll.question_nl, "nl"), (poll.question_en, "en")],
        "action": f"/supervisor/polls/{poll_id}/close", "yes": "Ja, sluiten",
        "no": "Nee, open laten", "back": f"/supervisor/polls/{poll_id}"})


@router.post("/{poll_id}/close")
async def close(request: Request, poll_id: int, user: Supervisor) -> Response:
    """Close a poll; audited."""
    poll = await _found(request, poll_id, user)
    if await _polls(request).close(poll_id):
        await record(request.app.state.history, user.name, "poll_close", str(poll_id),
                     poll.tenant)
    return RedirectResponse(f"/supervisor/polls/{poll_id}?done=closed", status_code=303)
