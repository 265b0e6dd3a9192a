"""Supervisor pages: the dashboard, log search with CSV export, transcripts, and comments."""

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, Response

from bot.console import scoping
from bot.console.charts import bars
from bot.console.pages import Clock, number, render
from bot.console.security import SUPERVISOR, allow
from bot.history.accounts import User
from bot.history.audit import record
from bot.history.reports import EXPORT_LIMIT, LogFilter, Reports, csv_safe
from bot.history.tenancy import ALL
from bot.listening.polls import to_csv

router = APIRouter(prefix="/supervisor")
Supervisor = Annotated[User, Depends(allow(*SUPERVISOR))]
PERIODS = (1, 7, 30, 90)
# Dutch Excel reads `;` between cells, and UTF-8 (€, ë) only after a byte-order mark.
BOM = "\ufeff"


def _date(value: str | None) -> date | None:
    try:
        return date.fromisoformat(value) if value else None
    except ValueError:
        return None


def log_filter(request: Request) -> LogFilter:
    """Read a log search from the query string; unreadable values do not filter."""
    query = request.query_params

    def text(name: str) -> str:
        return query.get(name, "").strip()[:200]

    return LogFilter(
        text=text("text"), start=_date(query.get("start")), end=_date(query.get("end")),
        channel=text("channel"), language=text("language"), intent=text("intent"),
        low_confidence="low_confidence" in query, fallback="fallback" in query,
        handed_off="handed_off" in query, low_rating="low_rating" in query,
    )


Search = Annotated[LogFilter, Depends(log_filter)]


def _reports(request: Request) -> Reports:
    reports: Reports = request.app.state.reports
    return reports


def _clock(request: Request) -> Clock:
    return Clock(request.app.state.town)


def spreadsheet(name: str, header: list[str], rows: list[list[Any]]) -> Response:
    """Send rows as a CSV download that Dutch Excel opens in columns."""
    return Response(BOM + to_csv(header, rows, delimiter=";"),
                    media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})


@router.get("")
async def dashboard(request: Request, user: Supervisor, days: int = 7) -> Response:
    """Show the period's numbers: volume, top intents, where Balie failed, handoffs, ratings."""
    days = days if days in PERIODS else 7
    report = await _reports(request).dashboard(days, user.scope)
    # A user of several municipalities compares them side by side.
    tenants = [key for key in scoping.names(request) if user.scope.allows(key)]
    compared = (await _reports(request).compare(days, tenants)
                if scoping.several(request, user) else [])
    per_day = bars("Gesprekken en berichten per dag", ("gesprekken", "berichten"),
                   [day.strftime("%d-%m") for day in report.days],
                   [list(pair) for pair in zip(report.conversations, report.messages,
                                               strict=True)])
    return render(request, "dashboard.html", {
        "user": user, "report": report, "days": days, "periods": PERIODS, "per_day": per_day,
        "compared": compared})


@router.get("/log")
async def log_page(request: Request, user: Supervisor, search: Search) -> Response:
    """Search the citizens' messages."""
    return render(request, "log.html", {
        "user": user, "search": search,
        "rows": await _reports(request).search(search, user.scope),
        "intents": await _reports(request).intents(user.scope), "query": request.url.query,
    })


@router.get("/log.csv")
async def export(request: Request, user: Supervisor, search: Search) -> Response:
    """Download the filtered messages as CSV (masked, as stored); the export is audited."""
    rows = await _reports(request).search(search, user.scope, limit=EXPORT_LIMIT)
    await record(request.app.state.history, user.name, "export",
                 f"{len(rows)} rows; {request.url.query}"[:1000], user.scope.key(ALL))
    clock, label = _clock(request), request.app.state.labels
    return spreadsheet("balie-log.csv", [
        "tijd", "chat", "kanaal", "taal", "onderwerp", "intent", "zekerheid", "tekst"], [
        [clock.iso(row.created_at), row.chat_id, row.channel, row.language or "",
         label(row.intent), row.intent or "",
         "" if row.confidence is None else number(row.confidence, 2), csv_safe(row.text)]
        for row in rows])


@router.get("/chats/{chat_id}/transcript.csv")
async def transcript_download(request: Request, chat_id: str, user: Supervisor) -> Response:
    """Download one conversation (masked, as stored) as CSV; the download is audited."""
    history = request.app.state.history
    tenant = await scoping.logged(history, chat_id, user)
    messages = await history.conversation(chat_id)
    await record(history, user.name, "transcript_export", f"{chat_id}; {len(messages)} rows",
                 tenant)
    clock, label = _clock(request), request.app.state.labels
    safe = "".join(c if c.isalnum() else "-" for c in chat_id)
    return spreadsheet(f"balie-gesprek-{safe}.csv",
                       ["tijd", "van", "soort", "onderwerp", "tekst"], [
        [clock.iso(m.created_at), "burger" if m.direction == "in" else "balie", m.kind,
         label(m.intent), csv_safe(m.text)] for m in messages])


@router.get("/chats/{chat_id}")
async def transcript(request: Request, chat_id: str, user: Supervisor) -> Response:
    """Show one conversation from the start; the view is audited."""
    history = request.app.state.history
    await record(history, user.name, "transcript_view", chat_id,
                 await scoping.logged(history, chat_id, user))
    return render(request, "transcript.html", {
        "user": user, "chat_id": chat_id, "messages": await history.conversation(chat_id)})


@router.get("/comments")
async def comments(request: Request, user: Supervisor) -> Response:
    """Show what citizens wrote after a handoff or on a poll."""
    return render(request, "comments.html", {
        "user": user, "comments": await _reports(request).comments(user.scope)})

