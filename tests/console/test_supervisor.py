"""Supervisor pages: search the log, export it, read a transcript, and the dashboard's numbers."""

import csv
import io
from datetime import UTC, datetime, timedelta

import httpx

from bot.history.reports import LogFilter, Reports
from tests.console.conftest import Citizen, Web, log_in


async def conversations(client: httpx.AsyncClient) -> tuple[Citizen, Citizen]:
    """Two citizens: one understood in Dutch, one not understood at all in English."""
    dutch, english = Citizen(client), Citizen(client)
    await dutch.start()
    await dutch.say("wanneer moet ik de aanslag betalen? mail me op jan@example.org")
    await english.start("en")
    await english.say("=HYPERLINK(\"http://evil.example\") qwzx blorp vlek")
    return dutch, english


async def test_search_filters_and_masks(web: Web, client: httpx.AsyncClient) -> None:
    dutch, english = await conversations(client)
    reports = Reports(web.balie.history, web.services.settings.nlu_threshold,
                      web.services.town.timezone)
    everything = await reports.search(LogFilter())
    assert {row.chat_id for row in everything} == {dutch.chat_id, english.chat_id}
    assert all(row.channel == "web" for row in everything)
    found = await reports.search(LogFilter(text="aanslag"))
    assert [row.chat_id for row in found] == [dutch.chat_id]
    assert "jan@example.org" not in found[0].text, "e-mail addresses are masked in the log"
    failed = await reports.search(LogFilter(fallback=True))
    assert [row.chat_id for row in failed] == [english.chat_id]
    assert [r.chat_id for r in await reports.search(LogFilter(language="nl", text="aanslag"))
            ] == [dutch.chat_id]
    assert not await reports.search(LogFilter(language="en", text="aanslag"))
    assert not await reports.search(LogFilter(channel="telegram"))
    assert await reports.search(LogFilter(intent="payment_deadline"))
    assert not await reports.search(LogFilter(handed_off=True))
    tomorrow = datetime.now(UTC).date() + timedelta(days=1)
    assert not await reports.search(LogFilter(start=tomorrow))
    assert not await reports.search(LogFilter(text="100%_"))


async def test_the_log_page_and_csv_export(web: Web, client: httpx.AsyncClient) -> None:
    dutch, english = await conversations(client)
    await log_in(client, "sue")
    page = (await client.get("/supervisor/log", params={"fallback": "1"})).text
    assert english.chat_id in page and dutch.chat_id not in page
    export = await client.get("/supervisor/log.csv", params={"fallback": "1"})
    assert export.headers["content-type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(export.text)))
    assert rows[0][0] == "time" and len(rows) == 2
    assert rows[1][-1].startswith("'="), "a formula from a citizen is not run by a spreadsheet"
    transcript = (await client.get(f"/supervisor/chats/{dutch.chat_id}")).text
    assert "wanneer moet ik de aanslag betalen?" in transcript
    assert "jan@example.org" not in transcript


async def test_dashboard_answers_what_was_asked_and_where_balie_failed(
    web: Web, client: httpx.AsyncClient
) -> None:
    await conversations(client)
    extra = Citizen(client)
    await extra.start()
    answer = await extra.say("wanneer moet ik de aanslag betalen?")
    thumbs = {b["title"]: b["data"] for b in answer[-1]["buttons"]}
    await extra.say(button=thumbs["👎"])
    reports = Reports(web.balie.history, web.services.settings.nlu_threshold,
                      web.services.town.timezone)
    report = await reports.dashboard(7)
    assert report.total_conversations == 3
    assert report.conversations[-1] == 3 and sum(report.conversations[:-1]) == 0
    assert report.messages[-1] == 7, "3 /start commands, 3 questions and a thumbs down"
    assert report.top_intents == [("payment_deadline", 2)], "the gibberish is not counted"
    assert report.unhelpful == [("payment_deadline", 0, 1)] and report.useful == (0, 1)
    assert report.turns == 3 and report.fallbacks == 1
    assert round(report.fallback_rate, 2) == 0.33 and report.handoff_rate == 0
    assert report.not_understood[0].text.startswith("=HYPERLINK")

    await log_in(client, "sue")
    page = (await client.get("/supervisor")).text
    assert 'id="conversations">3<' in page and 'id="fallback-rate">33%<' in page
    assert "payment_deadline" in page and "HYPERLINK" in page
    assert 'id="unhelpful"' in page


async def test_an_announcement_published_in_the_console_goes_with_answers(
    web: Web, client: httpx.AsyncClient
) -> None:
    token = await log_in(client, "sue")
    today = datetime.now(UTC).date()
    form = {"csrf": token, "text_nl": "Let op: de aanslagen 2027 komen op 26 februari.",
            "text_en": "Note: the 2027 notices arrive on 26 February.", "topic": "aanslag",
            "valid_from": today.isoformat(), "valid_until": today.isoformat(), "inline": "1"}
    backwards = {**form, "valid_until": (today - timedelta(days=1)).isoformat()}
    assert (await client.post("/supervisor/announcements", data=backwards)).status_code == 400
    published = await client.post("/supervisor/announcements", data=form)
    assert published.status_code == 200 and "26 februari" in published.text
    citizen = Citizen(client)
    await citizen.start()
    answer = await citizen.say("wanneer moet ik de aanslag betalen?")
    assert "de aanslagen 2027 komen op 26 februari" in " ".join(str(r["text"]) for r in answer)
    other = await citizen.say("hoeveel hondenbelasting betaal ik voor 1 hond?")
    assert "26 februari" not in " ".join(str(r["text"]) for r in other)
